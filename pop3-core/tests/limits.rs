//! Line limits, bad-command counting, timeouts, input backpressure and host misuse.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use pop3_core::{CloseReason, Config, Error, Event, Server, SessionState};

#[test]
fn oversize_line_is_refused_and_nothing_else_is_lost() {
    let host = Host::new(vec![]);
    let long = format!("USER {}\r\n", "a".repeat(300));
    // Exactly 255 octets including CRLF is fine.
    let exact = format!("USER {}\r\n", "b".repeat(255 - 7));
    assert_eq!(exact.len(), 255);
    let over = format!("USER {}\r\n", "b".repeat(256 - 7));
    let input = format!(
        "NOOP{}\r\n{long}CAPA\r\n{exact}{over}QUIT\r\n",
        "x".repeat(400)
    );
    let (out, host) = run_all_chunkings(config(), &host, input.as_bytes());
    let out = text(&out);
    let expected = "+OK POP3 server ready\r\n\
        -ERR Command line too long\r\n\
        -ERR Command line too long\r\n\
        +OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n\
        USER\r\nSASL PLAIN LOGIN\r\nUTF8 USER\r\n.\r\n\
        +OK Send PASS\r\n\
        -ERR Command line too long\r\n\
        +OK Logging out\r\n";
    assert_eq!(out, expected);
    assert_eq!(host.closed, Some(CloseReason::Quit));
}

#[test]
fn auth_lines_get_the_larger_limit() {
    let host = Host::new(vec![]);
    // A long PLAIN initial response (password of 300 octets) is accepted on the AUTH line...
    let creds = format!("\0alice@example.edu\0{}", "p".repeat(300));
    let b64 = base64_encode(creds.as_bytes());
    let input = format!("AUTH PLAIN {b64}\r\nAUTH PLAIN\r\n{b64}\r\nQUIT\r\n");
    let (out, h) = run_all_chunkings(config(), &host, input.as_bytes());
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n-ERR [AUTH] Authentication failed\r\n+ \r\n\
         -ERR [AUTH] Authentication failed\r\n+OK Logging out\r\n"
    );
    assert_eq!(h.auth_log.len(), 2);
    // ...but not beyond max_auth_line_len, and a too-long SASL response ends the exchange.
    let config = Config {
        max_auth_line_len: 300,
        ..config()
    };
    let (out, _) = run_all_chunkings(config, &host, input.as_bytes());
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n-ERR Command line too long\r\n+ \r\n\
         -ERR Command line too long\r\n+OK Logging out\r\n"
    );
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn bad_commands_are_answered_then_end_the_session() {
    let host = Host::new(vec![]);
    let input = b"FOO\r\nSTAT\r\nLIST x\r\n\r\n\0\0\r\nUSER\r\nRETR 1\r\nPASS x\r\nAPOP a b\r\nNOOP\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n\
         -ERR Unknown command\r\n\
         -ERR Command not valid before login\r\n\
         -ERR Syntax error in arguments\r\n\
         -ERR Unknown command\r\n\
         -ERR Unknown command\r\n\
         -ERR Syntax error in arguments\r\n\
         -ERR Command not valid before login\r\n\
         -ERR Send USER first\r\n\
         -ERR Syntax error in arguments\r\n\
         -ERR Too many bad commands, closing connection\r\n"
    );
    assert_eq!(host.closed, Some(CloseReason::TooManyBadCommands));
}

#[test]
fn commands_in_the_wrong_state() {
    let host = Host::new(vec![b"a\r\n"]);
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nUSER bob@example.edu\r\nSTLS\r\nUTF8\r\nAUTH PLAIN\r\nSTAT\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK Send PASS\r\n+OK Logged in, 1 messages (3 octets)\r\n\
         -ERR Command not valid in this state\r\n-ERR Command not valid in this state\r\n\
         -ERR Command not valid in this state\r\n-ERR Command not valid in this state\r\n\
         +OK 1 3\r\n+OK Logging out\r\n"
    );
    assert_eq!(host.committed, Some(vec![]));
}

#[test]
fn utf8_command_and_utf8_user_names() {
    let host = Host::new(vec![]);
    let input = "UTF8\r\nUSER 张三@example.edu\r\nPASS 密码\r\nQUIT\r\n";
    let (out, h) = run_all_chunkings(config(), &host, input.as_bytes());
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK UTF8 enabled\r\n+OK Send PASS\r\n\
         -ERR [AUTH] Authentication failed\r\n+OK Logging out\r\n"
    );
    assert_eq!(h.auth_log[0].0, "张三@example.edu");
    let config = Config {
        utf8: false,
        ..config()
    };
    let (out, _) = run_all_chunkings(config, &host, b"UTF8\r\n");
    assert!(text(&out).ends_with("-ERR Unknown command\r\n"));
}

#[test]
fn idle_timeout_closes_without_update() {
    let t0 = Instant::now();
    let mut s = Server::new(config(), t0).unwrap();
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(600));
    s.handle_timeout(t0 + Duration::from_secs(599));
    assert_eq!(s.state(), SessionState::Authorization);
    // Activity at t0+300 (told at t0+300) moves the deadline.
    s.feed(b"NOOP\r\n");
    s.handle_timeout(t0 + Duration::from_secs(300));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(900)));
    s.handle_timeout(t0 + Duration::from_secs(899));
    assert!(!s.is_closed());
    s.handle_timeout(t0 + Duration::from_secs(900));
    assert!(s.is_closed());
    let mut events = Vec::new();
    while let Some(e) = s.poll_event() {
        events.push(e);
    }
    assert_eq!(
        events,
        vec![Event::Closed {
            reason: CloseReason::IdleTimeout
        }]
    );
    let out = text(s.transmit());
    assert_eq!(
        out,
        "+OK POP3 server ready\r\n-ERR Disconnected for inactivity\r\n"
    );
    assert_eq!(s.poll_timeout(), None);
    // Input after close is ignored.
    s.feed(b"QUIT\r\n");
    assert!(s.poll_event().is_none());
}

#[test]
fn writing_output_counts_as_activity() {
    let t0 = Instant::now();
    let mut s = Server::new(config(), t0).unwrap();
    let n = s.transmit().len();
    s.consume(n);
    s.handle_timeout(t0 + Duration::from_secs(100));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(700)));
}

#[test]
fn answers_in_the_wrong_state_are_errors_not_panics() {
    let mut s = Server::new(config(), Instant::now()).unwrap();
    assert!(matches!(
        s.auth_accept(),
        Err(Error::WrongState {
            method: "auth_accept",
            ..
        })
    ));
    assert!(s.auth_reject(pop3_core::AuthFailure::Credentials).is_err());
    assert!(s.maildrop_ready(vec![]).is_err());
    assert!(
        s.maildrop_reject(pop3_core::MaildropFailure::InUse)
            .is_err()
    );
    assert!(s.retrieve(Bytes::new()).is_err());
    assert!(s.retrieve_chunk(Bytes::new()).is_err());
    assert!(s.retrieve_end().is_err());
    assert!(s.retrieve_failed().is_err());
    assert!(s.update_done().is_err());
    assert!(s.update_failed().is_err());
    assert!(s.tls_established().is_err());
    s.feed(b"USER alice@example.edu\r\nPASS s3cret pw\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Authenticate { .. })));
    // Waiting for the auth answer: other answers are refused, and no command is processed.
    assert!(s.maildrop_ready(vec![]).is_err());
    s.feed(b"STAT\r\n");
    assert!(s.poll_event().is_none());
    s.auth_accept().unwrap();
    assert!(s.auth_accept().is_err());
    assert!(matches!(s.poll_event(), Some(Event::LockMaildrop { .. })));
    s.maildrop_ready(vec![]).unwrap();
    assert!(s.poll_event().is_none());
    assert_eq!(s.state(), SessionState::Transaction);
    assert!(text(s.transmit()).ends_with("+OK 0 0\r\n"));
    // Consuming more than was offered is clamped.
    s.consume(usize::MAX);
    assert!(s.transmit().is_empty());
    s.close_by_host();
    assert!(s.is_closed());
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed {
            reason: CloseReason::Host
        })
    );
    assert!(s.auth_accept().is_err());
    assert_eq!(
        text(s.transmit()),
        "-ERR [SYS/TEMP] Server closing connection\r\n"
    );
}

#[test]
fn retrieve_failures() {
    let mut host = Host::new(vec![b"Subject: a\r\n\r\nbody\r\n", b"x\r\n"]);
    host.fail_retrieve = Some((0, false));
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nRETR 1\r\nRETR 2\r\nQUIT\r\n";
    let (out, h) = run_all_chunkings(config(), &host, input);
    assert!(text(&out).contains(
        "-ERR [SYS/TEMP] Message could not be read\r\n+OK 3 octets\r\nx\r\n.\r\n+OK Logging out\r\n"
    ));
    assert_eq!(h.committed, Some(vec![]));

    // Failing after the first chunk closes the session: no terminator, no update.
    host.fail_retrieve = Some((0, true));
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nDELE 2\r\nRETR 1\r\nQUIT\r\n";
    let mut h = host.clone();
    let out = run_with(config(), &mut h, input, usize::MAX, usize::MAX);
    assert!(
        text(&out).ends_with("+OK 20 octets\r\nSubject: a"),
        "{}",
        text(&out)
    );
    assert_eq!(h.closed, Some(CloseReason::RetrieveAborted));
    assert_eq!(h.committed, None);
}

#[test]
fn dropped_connection_deletes_nothing() {
    let host = Host::new(vec![b"a\r\n", b"b\r\n"]);
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nDELE 1\r\nDELE 2\r\n";
    let (out, h) = run_all_chunkings(config(), &host, input);
    assert!(text(&out).ends_with("+OK Message 2 deleted\r\n"));
    assert_eq!(h.committed, None);
    assert_eq!(h.closed, None);
}

#[test]
fn big_message_streams_in_bounded_windows() {
    // 3 MB with bare LF line endings and dot lines, streamed by the host in 1000-octet chunks.
    let mut msg = Vec::new();
    msg.extend_from_slice(b"Subject: big\n\n");
    let mut i = 0u32;
    while msg.len() < 3_000_000 {
        if i.is_multiple_of(7) {
            msg.extend_from_slice(b".");
        }
        msg.extend_from_slice(format!("line {i} of the big message\n").as_bytes());
        i += 1;
    }
    let bytes = Bytes::from(msg.clone());
    let mut s = Server::new(config(), Instant::now()).unwrap();
    s.feed(b"USER alice@example.edu\r\nPASS s3cret pw\r\nRETR 1\r\nNOOP\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Authenticate { .. })));
    s.auth_accept().unwrap();
    assert!(matches!(s.poll_event(), Some(Event::LockMaildrop { .. })));
    s.maildrop_ready(vec![pop3_core::MessageInfo::new(
        bytes.len() as u64,
        pop3_core::Uid::new("u1").unwrap(),
    )])
    .unwrap();
    assert!(matches!(
        s.poll_event(),
        Some(Event::Retrieve {
            index: 0,
            top: None,
            ..
        })
    ));
    s.retrieve(bytes).unwrap();
    // While the body is pending, the pipelined NOOP waits.
    assert!(s.poll_event().is_none());
    let mut wire = Vec::new();
    let mut max_pending = 0;
    loop {
        assert!(s.poll_event().is_none());
        let out = s.transmit();
        if out.is_empty() {
            break;
        }
        max_pending = max_pending.max(s.pending_output());
        wire.extend_from_slice(s.transmit());
        let n = s.transmit().len();
        s.consume(n);
    }
    assert!(max_pending <= 300 * 1024, "pending output {max_pending}");
    let text_out = text(&wire);
    let body_start = text_out.find("octets\r\n").unwrap() + 8;
    let body = pop3_core::stuffing::unstuff(&wire[body_start..wire.len() - b"+OK\r\n".len()]);
    let mut expected = Vec::new();
    for line in msg.split_inclusive(|&b| b == b'\n') {
        expected.extend_from_slice(&line[..line.len() - 1]);
        expected.extend_from_slice(b"\r\n");
    }
    assert_eq!(body.unwrap(), expected);
    assert!(text_out.ends_with(".\r\n+OK\r\n"));
}

#[test]
fn input_backpressure() {
    let config = Config {
        max_buffered_input: 8192,
        ..config()
    };
    let mut s = Server::new(config, Instant::now()).unwrap();
    s.feed(b"USER alice@example.edu\r\nPASS s3cret pw\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Authenticate { .. })));
    // The host has not answered yet; the client pipelines a lot.
    let noops = b"NOOP\r\n".repeat(1400);
    s.feed(&noops);
    assert!(!s.wants_input());
    s.feed(&noops);
    s.feed(&noops);
    s.feed(&noops);
    assert!(s.is_closed());
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed {
            reason: CloseReason::InputOverflow
        })
    );
}

#[test]
fn invalid_config_is_rejected() {
    for bad in [
        Config {
            apop_timestamp: Some("no-brackets".into()),
            ..Config::default()
        },
        Config {
            apop_timestamp: Some("<a b>".into()),
            ..Config::default()
        },
        Config {
            greeting: "hi\r\n+OK fake".into(),
            ..Config::default()
        },
        Config {
            max_bad_commands: 0,
            ..Config::default()
        },
        Config {
            max_line_len: 4,
            ..Config::default()
        },
    ] {
        assert!(Server::new(bad, Instant::now()).is_err());
    }
}

/// Drains a session that is about to RETR a message, with `transmit` or `transmit_vectored`.
fn retr_wire(msg: &Bytes, vectored: bool) -> Vec<u8> {
    let mut s = Server::new(config(), Instant::now()).unwrap();
    s.feed(b"USER alice@example.edu\r\nPASS s3cret pw\r\nRETR 1\r\nQUIT\r\n");
    let mut wire = Vec::new();
    loop {
        while let Some(ev) = s.poll_event() {
            match ev {
                Event::Authenticate { .. } => s.auth_accept().unwrap(),
                Event::LockMaildrop { .. } => s
                    .maildrop_ready(vec![pop3_core::MessageInfo::new(
                        msg.len() as u64,
                        pop3_core::Uid::new("u").unwrap(),
                    )])
                    .unwrap(),
                Event::Retrieve { .. } => s.retrieve(msg.clone()).unwrap(),
                Event::Update { .. } => s.update_done().unwrap(),
                _ => {}
            }
        }
        let n = if vectored {
            let mut bufs = [std::io::IoSlice::new(&[]); 3];
            let k = s.transmit_vectored(&mut bufs);
            // Write only part of the last slice, as a short write would.
            let mut n = 0;
            for (i, b) in bufs[..k].iter().enumerate() {
                let take = if i + 1 == k && b.len() > 1 {
                    b.len() / 2
                } else {
                    b.len()
                };
                wire.extend_from_slice(&b[..take]);
                n += take;
            }
            n
        } else {
            let out = s.transmit();
            wire.extend_from_slice(out);
            out.len()
        };
        if n == 0 {
            break;
        }
        s.consume(n);
    }
    wire
}

#[test]
fn vectored_transmit_gives_the_same_bytes() {
    let mut msg = Vec::new();
    for i in 0..20_000 {
        if i % 40 == 0 {
            msg.extend_from_slice(b".");
        }
        msg.extend_from_slice(format!("line {i} of a message with dots\r\n").as_bytes());
        if i % 333 == 0 {
            msg.extend_from_slice(b"bare lf line\n");
        }
    }
    let msg = Bytes::from(msg);
    let plain = retr_wire(&msg, false);
    assert!(plain.ends_with(b".\r\n+OK Logging out\r\n"));
    let start = text(&plain).find("octets\r\n").unwrap() + 8;
    let body = pop3_core::stuffing::unstuff(&plain[start..plain.len() - 17]).unwrap();
    assert_eq!(
        text(&body),
        text(&msg).replace("bare lf line\n", "bare lf line\r\n")
    );
    assert_eq!(retr_wire(&msg, true), plain);
}

#[test]
fn idle_session_is_small() {
    // The struct itself; buffers are allocated on demand and released when idle.
    let size = std::mem::size_of::<Server>();
    assert!(size <= 512, "Server is {size} octets");
    println!("size_of::<Server>() = {size}");
}
