//! Replays inputs in the formats of the cargo-fuzz targets (`fuzz/fuzz_targets/pop3_*.rs`).
//!
//! The harnesses below are copies of the targets' logic, so that a crash file from
//! `fuzz/artifacts/pop3_*/` can be pasted in as a byte string and kept as a regression test.
//! As of this writing no target has found a crash (seed 1 and other seeds, see the crate's
//! benchmark/fuzz notes); the inputs below are adversarial cases in the same formats.

use std::time::{Duration, Instant};

use bytes::Bytes;
use pop3_core::command;
use pop3_core::stuffing;
use pop3_core::{AuthFailure, Config, Event, MaildropFailure, MessageInfo, Server, Uid};

const MESSAGES: [&[u8]; 3] = [
    b"Subject: a\r\n\r\n.hello\r\n..\r\nbye",
    b"Subject: b\n\nline\n.\nx\r",
    b"",
];

/// The `pop3_command` target.
fn replay_command(data: &[u8]) {
    let _ = command::parse(data);
    let enc = stuffing::stuff(data, None);
    assert!(stuffing::unstuff(&enc).is_some());
    let top = data.first().map_or(0, |b| u32::from(b % 4));
    assert!(stuffing::unstuff(&stuffing::stuff(data, Some(top))).is_some());
}

/// The `pop3_server` target; returns the wire output.
fn replay_server(data: &[u8]) -> Vec<u8> {
    if data.len() < 3 {
        return Vec::new();
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
    let mut s = Server::new(config, t0).unwrap();
    let mut wire = Vec::new();
    let mut closed = false;
    let mut step = 0u32;
    let mut rest = input;
    loop {
        let n = rest.first().map_or(0, |&b| 1 + usize::from(b % 64));
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        s.feed(chunk);
        s.handle_timeout(t0 + Duration::from_secs(u64::from(step)));
        loop {
            while let Some(ev) = s.poll_event() {
                assert!(!closed);
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
                    Event::Update { .. } => {
                        if pick == 0 {
                            s.update_failed().unwrap();
                        } else {
                            s.update_done().unwrap();
                        }
                    }
                    Event::StartTls => s.tls_established().unwrap(),
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
    wire
}

#[test]
fn command_target_inputs() {
    for input in [
        &b""[..],
        b"\n",
        b"\r",
        b".",
        b"\n.",
        b"\r\n.\r\n",
        b"USER \xe4\xb8\xad",
        b"TOP 4294967295 4294967295",
        b"AUTH PLAIN =",
        b"PASS \x00",
        b"\x00\n.\r\r\n\n\n",
    ] {
        replay_command(input);
    }
}

#[test]
fn server_target_inputs() {
    // STLS with commands pipelined behind it in the same read: they are dropped (the first
    // chunk is 20 octets, "STLS\r\nUSER x\r\nPASS y"); the next read starts with "\r\n".
    let wire = replay_server(b"\xe3\x02STLS\r\nUSER x\r\nPASS y\r\nCAPA\r\n");
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.contains(
            "+OK Begin TLS negotiation\r\n-ERR Unknown command\r\n+OK Capability list follows\r\n"
        ),
        "{text}"
    );
    assert!(!text.contains("Send PASS"), "{text}");
    // Login, TOP and RETR of every message (the empty one too), DELE, QUIT.
    let wire = replay_server(
        b"\xe1\x02USER a\r\nPASS b\r\nTOP 1 0\r\nRETR 2\r\nRETR 3\r\nDELE 1\r\nQUIT\r\n",
    );
    let text = String::from_utf8_lossy(&wire);
    assert!(text.contains("+OK Logged in"), "{text}");
    // An oversize SASL response with a tiny auth limit, then more commands.
    let mut input = b"\xf1\x01AUTH PLAIN\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'A', 200));
    input.extend_from_slice(b"\r\nCAPA\r\n");
    let wire = replay_server(&input);
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.contains("-ERR Command line too long\r\n+OK Capability list follows"),
        "{text}"
    );
}
