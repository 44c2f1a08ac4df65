#![no_main]
//! The server state machine on arbitrary input, read splits and host answers: never panics,
//! every answer fits the state, output is always well-formed replies, size limits hold.
use libfuzzer_sys::fuzz_target;
use smtp_core::{AuthPolicy, BareLinePolicy, Config, Event, Reply, Server, parse_reply};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (head, input) = data.split_at(3);
    let mut c = Config::new("mx.example");
    c.max_message_size = 64 + u64::from(head[0] & 0x3f) * 16;
    c.max_line_length = 32 + usize::from(head[1] & 0x7f);
    c.max_recipients = 1 + usize::from(head[1] >> 7) * 3;
    c.bare_line = if head[0] & 0x40 != 0 {
        BareLinePolicy::Normalize
    } else {
        BareLinePolicy::Reject
    };
    c.auth = match head[2] & 3 {
        0 => AuthPolicy::Disabled,
        1 => AuthPolicy::Optional,
        _ => AuthPolicy::Required,
    };
    c.plaintext_auth = head[2] & 4 != 0;
    c.starttls = head[2] & 8 != 0;
    c.max_errors = 5 + u32::from(head[2] >> 4);
    let chunk = 1 + usize::from(head[0] >> 7) * 7 + usize::from(head[2] & 0x30);
    let max = c.max_message_size;
    let mut s = Server::new(c);
    let mut out = Vec::new();
    let mut msg_size = 0u64;
    let mut decisions = 0usize;
    for (i, piece) in input.chunks(chunk).enumerate() {
        // Both input paths: borrowed (copied in) and owned (taken over when nothing is pending).
        if i % 2 == 1 {
            s.feed_bytes(bytes::BytesMut::from(piece));
        } else {
            s.feed(piece);
        }
        while let Some(ev) = s.poll_event() {
            decisions += 1;
            let yes = (piece.first().copied().unwrap_or(0) as usize + decisions) % 5 != 0;
            match ev {
                Event::Data(d) => {
                    msg_size += d.len() as u64;
                    assert!(msg_size <= max);
                    assert!(s.accept().is_err());
                }
                Event::DataEnd { size } => {
                    assert_eq!(size, msg_size);
                    msg_size = 0;
                    if yes {
                        s.accept().unwrap()
                    } else {
                        s.reject(Reply::new(451, "4.3.0 later")).unwrap()
                    }
                }
                Event::DataAborted { .. } | Event::Reset => {
                    msg_size = 0;
                    assert!(s.accept().is_err());
                }
                Event::StartTls => {
                    if yes {
                        s.accept().unwrap();
                        s.tls_started().unwrap();
                    } else {
                        s.reject(Reply::new(454, "4.7.0 no TLS")).unwrap();
                    }
                }
                Event::DataStart { .. } => {
                    msg_size = 0;
                    if yes {
                        s.accept().unwrap()
                    } else {
                        s.reject(Reply::new(554, "5.7.1 no")).unwrap()
                    }
                }
                _ => {
                    if yes {
                        s.accept().unwrap()
                    } else {
                        s.reject(Reply::new(550, "5.7.1 no")).unwrap()
                    }
                }
            }
            assert!(s.accept_with(Reply::new(999, "bad")).is_err());
        }
        out.extend_from_slice(s.transmit());
        let n = s.transmit().len();
        s.consume(n);
        if s.is_closed() {
            s.feed(b"NOOP\r\n");
            assert!(s.poll_event().is_none());
        }
    }
    // Everything written parses as replies.
    let mut rest = &out[..];
    while !rest.is_empty() {
        let (r, n) = parse_reply(rest)
            .expect("well-formed reply")
            .expect("complete reply");
        assert!(r.is_valid_code() || r.code() == 334 || r.code() == 354);
        rest = &rest[n..];
    }
});
