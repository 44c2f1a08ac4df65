#![no_main]
//! A whole POP3 session driven by arbitrary bytes: the first bytes choose the configuration
//! and how the host answers, the rest is client input fed in variable-size chunks.
//!
//! Checks: no panic; no answer method is refused when called for the event it answers; no
//! bare LF ever reaches the wire; `Closed` comes once and nothing follows it; output drains.
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pop3_core::{AuthFailure, Config, Event, MaildropFailure, MessageInfo, Server, Uid};

const MESSAGES: [&[u8]; 3] = [
    b"Subject: a\r\n\r\n.hello\r\n..\r\nbye",
    b"Subject: b\n\nline\n.\nx\r",
    b"",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (flags, answers, input) = (data[0], data[1], &data[2..]);
    let t0 = Instant::now();
    let config = Config {
        allow_plaintext_auth: flags & 1 != 0,
        stls: flags & 2 != 0,
        apop_timestamp: (flags & 4 != 0).then(|| "<1.2@host>".to_owned()),
        utf8: flags & 8 != 0,
        max_line_len: if flags & 16 != 0 { 32 } else { 255 },
        max_auth_line_len: if flags & 16 != 0 { 64 } else { 1024 },
        max_buffered_input: 2048,
        max_bad_commands: 1 + u32::from(flags >> 5),
        ..Config::default()
    };
    let Ok(mut s) = Server::new(config, t0) else {
        return;
    };
    let mut wire: Vec<u8> = Vec::new();
    let mut closed = false;
    let mut step = 0u32;
    let mut rest = input;
    loop {
        // Chunk size from the data itself.
        let n = match rest.first() {
            Some(&b) => 1 + usize::from(b % 64),
            None => 0,
        };
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        s.feed(chunk);
        s.handle_timeout(t0 + Duration::from_secs(u64::from(step)));
        loop {
            while let Some(ev) = s.poll_event() {
                assert!(!closed, "event after Closed: {ev:?}");
                let pick = (u32::from(answers) + step) % 4;
                step += 1;
                match ev {
                    Event::Authenticate { .. } | Event::Apop { .. } => {
                        if pick == 0 {
                            s.auth_reject(AuthFailure::Credentials).unwrap();
                        } else {
                            s.auth_accept().unwrap();
                        }
                    }
                    Event::LockMaildrop { .. } => {
                        if pick == 1 {
                            s.maildrop_reject(MaildropFailure::InUse).unwrap();
                        } else {
                            let list = MESSAGES
                                .iter()
                                .enumerate()
                                .map(|(i, m)| {
                                    MessageInfo::new(
                                        m.len() as u64,
                                        Uid::new(format!("u{i}")).unwrap(),
                                    )
                                })
                                .collect();
                            s.maildrop_ready(list).unwrap();
                        }
                    }
                    Event::Retrieve { index, .. } => {
                        let m = Bytes::from_static(MESSAGES[index]);
                        match pick {
                            0 => s.retrieve_failed().unwrap(),
                            1 => {
                                for c in m.chunks(3) {
                                    s.retrieve_chunk(Bytes::copy_from_slice(c)).unwrap();
                                }
                                s.retrieve_end().unwrap();
                            }
                            _ => s.retrieve(m).unwrap(),
                        }
                    }
                    Event::Update { deleted } => {
                        assert!(deleted.windows(2).all(|w| w[0] < w[1]));
                        assert!(deleted.iter().all(|&i| i < MESSAGES.len()));
                        if pick == 0 {
                            s.update_failed().unwrap();
                        } else {
                            s.update_done().unwrap();
                        }
                    }
                    Event::StartTls => {
                        assert!(s.tls_established().is_ok());
                    }
                    Event::Closed { .. } => closed = true,
                }
            }
            let out = s.transmit();
            if out.is_empty() {
                break;
            }
            let n = out.len().min(1 + usize::from(answers));
            wire.extend_from_slice(&out[..n]);
            s.consume(n);
        }
        if rest.is_empty() {
            break;
        }
    }
    assert_eq!(closed, s.is_closed());
    for (i, &b) in wire.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && wire[i - 1] == b'\r', "bare LF on the wire");
        }
    }
});
