//! Whole sessions on the in-memory driver, each re-fed at every chunk size 1..=512.

mod common;

use common::*;
use pop3_core::{CloseReason, Config};

/// A CRLF message of exactly `size` octets.
fn message(size: usize, tag: &str) -> Vec<u8> {
    let mut m = format!("Subject: {tag}\r\n\r\n").into_bytes();
    let pad = size - m.len() - 2;
    m.extend(std::iter::repeat_n(b'x', pad));
    m.extend_from_slice(b"\r\n");
    assert_eq!(m.len(), size);
    m
}

/// RFC 1939 section 10, the example POP3 session, with this server's response texts.
#[test]
fn rfc1939_example_session() {
    let m1 = message(120, "one");
    let m2 = message(200, "two");
    let host = Host::new(vec![&m1, &m2]);
    let config = Config {
        apop_timestamp: Some(APOP_TS.into()),
        ..Config::default()
    };
    let input = format!(
        "APOP mrose {APOP_DIGEST}\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n"
    );
    let (out, host) = run_all_chunkings(config, &host, input.as_bytes());
    let expected = format!(
        "+OK POP3 server ready {APOP_TS}\r\n\
         +OK Logged in, 2 messages (320 octets)\r\n\
         +OK 2 320\r\n\
         +OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n\
         +OK 120 octets\r\n{}.\r\n\
         +OK Message 1 deleted\r\n\
         +OK 200 octets\r\n{}.\r\n\
         +OK Message 2 deleted\r\n\
         +OK Logging out\r\n",
        text(&m1),
        text(&m2)
    );
    assert_eq!(text(&out), expected);
    assert_eq!(host.committed, Some(vec![0, 1]));
    assert_eq!(host.closed, Some(CloseReason::Quit));
}

#[test]
fn apop_is_off_by_default_and_wrong_digest_fails() {
    let host = Host::new(vec![]);
    let input = format!("APOP mrose {APOP_DIGEST}\r\nQUIT\r\n");
    let (out, _) = run_all_chunkings(config(), &host, input.as_bytes());
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n-ERR APOP not available\r\n+OK Logging out\r\n"
    );
    let config = Config {
        apop_timestamp: Some(APOP_TS.into()),
        ..Config::default()
    };
    let input = "APOP mrose 00000000000000000000000000000000\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config, &host, input.as_bytes());
    assert!(text(&out).contains("\r\n-ERR [AUTH] Authentication failed\r\n+OK Logging out\r\n"));
    assert_eq!(host.committed, None);
}

#[test]
fn user_pass_stat_list_uidl_top_rset() {
    let host = Host::new(vec![
        b"Subject: a\n\nline1\n.line2\nline3\n",
        b"Subject: b\r\n\r\nb",
    ]);
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nLIST 2\r\nUIDL\r\nUIDL 1\r\n\
TOP 1 1\r\nTOP 2 0\r\nDELE 2\r\nSTAT\r\nLIST\r\nLIST 2\r\nRETR 2\r\nDELE 2\r\nRSET\r\nSTAT\r\nNOOP\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n\
         +OK Send PASS\r\n\
         +OK Logged in, 2 messages (46 octets)\r\n\
         +OK 2 15\r\n\
         +OK\r\n1 uid-0000\r\n2 uid-0001\r\n.\r\n\
         +OK 1 uid-0000\r\n\
         +OK Top of message follows\r\nSubject: a\r\n\r\nline1\r\n.\r\n\
         +OK Top of message follows\r\nSubject: b\r\n\r\n.\r\n\
         +OK Message 2 deleted\r\n\
         +OK 1 31\r\n\
         +OK 1 messages (31 octets)\r\n1 31\r\n.\r\n\
         -ERR Message already deleted\r\n\
         -ERR Message already deleted\r\n\
         -ERR Message already deleted\r\n\
         +OK Maildrop has 2 messages (46 octets)\r\n\
         +OK 2 46\r\n\
         +OK\r\n\
         +OK Logging out\r\n"
    );
    // RSET undid the deletion.
    assert_eq!(host.committed, Some(vec![]));
}

#[test]
fn retr_stuffs_dots_and_normalises_bare_lf() {
    let host = Host::new(vec![b".\n..\nSubject: x\n\n.\r\nend"]);
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nRETR 1\r\nQUIT\r\n";
    let (out, _) = run_all_chunkings(config(), &host, input);
    assert!(
        text(&out).contains(
            "+OK 23 octets\r\n..\r\n...\r\nSubject: x\r\n\r\n..\r\nend\r\n.\r\n+OK Logging out"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn message_numbers_out_of_range() {
    let host = Host::new(vec![b"a\r\n"]);
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nRETR 0\r\nRETR 2\r\nTOP 4294967295 1\r\nDELE 9\r\nLIST 0\r\nUIDL 2\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert_eq!(text(&out).matches("-ERR No such message\r\n").count(), 6);
    assert_eq!(host.committed, Some(vec![]));
}

#[test]
fn wrong_password_then_right_one_and_too_many_failures() {
    let host = Host::new(vec![]);
    let input = b"USER alice@example.edu\r\nPASS nope\r\nPASS s3cret pw\r\nUSER alice@example.edu\r\nPASS s3cret pw\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK Send PASS\r\n-ERR [AUTH] Authentication failed\r\n\
         -ERR Send USER first\r\n+OK Send PASS\r\n+OK Logged in, 0 messages (0 octets)\r\n+OK Logging out\r\n"
    );
    assert_eq!(host.committed, Some(vec![]));

    let host = Host::new(vec![]);
    let input = b"USER alice@example.edu\r\nPASS 1\r\nUSER alice@example.edu\r\nPASS 2\r\nUSER alice@example.edu\r\nPASS 3\r\nUSER alice@example.edu\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert!(text(&out).ends_with(
        "-ERR [AUTH] Authentication failed\r\n-ERR Too many authentication failures, closing connection\r\n"
    ));
    assert_eq!(host.closed, Some(CloseReason::TooManyAuthFailures));
}

#[test]
fn host_text_is_sanitised() {
    let host = Host::new(vec![]);
    let (out, _) = run_all_chunkings(config(), &host, b"USER alice\r\nPASS x\r\n");
    assert!(text(&out).ends_with("-ERR [AUTH] Log in with your full address  (user@domain)\r\n"));
}

#[test]
fn maildrop_in_use() {
    let mut host = Host::new(vec![]);
    host.lock_held = true;
    let input = b"USER alice@example.edu\r\nPASS s3cret pw\r\nSTAT\r\nQUIT\r\n";
    let (out, host) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK Send PASS\r\n\
         -ERR [IN-USE] Maildrop is locked by another session\r\n\
         -ERR Command not valid before login\r\n+OK Logging out\r\n"
    );
    assert_eq!(host.committed, None);
}

#[test]
fn auth_plain_and_login() {
    let host = Host::new(vec![]);
    // AGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw== is "\0alice@example.edu\0s3cret pw"
    let input = b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw==\r\nQUIT\r\n";
    let (out, h) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK Logged in, 0 messages (0 octets)\r\n+OK Logging out\r\n"
    );
    assert_eq!(h.auth_log, vec![("alice@example.edu".to_owned(), None)]);

    // Without initial response, with a cancel first and a bad base64.
    let input = b"AUTH PLAIN\r\n*\r\nAUTH PLAIN\r\n!!!\r\nAUTH PLAIN\r\nAGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw==\r\nQUIT\r\n";
    let (out, _) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+ \r\n-ERR Authentication cancelled\r\n+ \r\n\
         -ERR Invalid base64 in SASL response\r\n+ \r\n\
         +OK Logged in, 0 messages (0 octets)\r\n+OK Logging out\r\n"
    );

    // LOGIN, with and without an initial response (YWxpY2VAZXhhbXBsZS5lZHU= = alice@example.edu).
    let input = b"AUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS5lZHU=\r\nczNjcmV0IHB3\r\nQUIT\r\n";
    let (out, _) = run_all_chunkings(config(), &host, input);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n\
         +OK Logged in, 0 messages (0 octets)\r\n+OK Logging out\r\n"
    );
    let input = b"auth login YWxpY2VAZXhhbXBsZS5lZHU=\r\nczNjcmV0IHB3\r\nQUIT\r\n";
    let (out, _) = run_all_chunkings(config(), &host, input);
    assert!(text(&out).contains("+ UGFzc3dvcmQ6\r\n+OK Logged in"));

    // authzid (shared mailbox): the host is told which mailbox to open.
    // c2hhcmVkQGV4YW1wbGUuZWR1AGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw== = "shared@example.edu\0alice@example.edu\0s3cret pw"
    let input =
        b"AUTH PLAIN c2hhcmVkQGV4YW1wbGUuZWR1AGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw==\r\nQUIT\r\n";
    let (out, h) = run_all_chunkings(config(), &host, input);
    assert!(text(&out).contains("+OK Logged in"));
    assert_eq!(h.mailboxes, vec!["shared@example.edu".to_owned()]);

    // Unknown mechanism, and the mechanism list.
    let (out, _) = run_all_chunkings(config(), &host, b"AUTH CRAM-MD5\r\nAUTH\r\n");
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n-ERR Unsupported authentication mechanism\r\n+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"
    );
}

#[test]
fn plaintext_auth_refused_until_tls() {
    let host = Host::new(vec![]);
    let config = Config {
        stls: true,
        ..Config::default()
    };
    // "USER evil" pipelined after STLS in the same packet must not survive the TLS switch.
    let input = b"CAPA\r\nUSER alice@example.edu\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw==\r\n\
STLS\r\nUSER evil\r\n";
    let mut h = host.clone();
    let out = run_with(config.clone(), &mut h, input, usize::MAX, usize::MAX);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n\
         AUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nUTF8 USER\r\n.\r\n\
         -ERR [AUTH] Plaintext authentication disallowed on non-secure connection\r\n\
         -ERR [AUTH] Plaintext authentication disallowed on non-secure connection\r\n\
         +OK Begin TLS negotiation\r\n<TLS>"
    );
    assert_eq!(h.start_tls, 1);
    assert!(h.auth_log.is_empty());

    // After TLS the session restarts: CAPA offers USER/SASL, not STLS; login works.
    let phases: [&[u8]; 2] = [
        b"USER alice@example.edu\r\nSTLS\r\n",
        b"CAPA\r\nSTLS\r\nPASS s3cret pw\r\nUSER alice@example.edu\r\nPASS s3cret pw\r\nQUIT\r\n",
    ];
    let config = Config {
        stls: true,
        allow_plaintext_auth: true,
        ..Config::default()
    };
    let (out, h) = run_phases_all_chunkings(config, &host, &phases);
    assert_eq!(
        text(&out),
        "+OK POP3 server ready\r\n+OK Send PASS\r\n+OK Begin TLS negotiation\r\n<TLS>\
         +OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n\
         PIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\nUTF8 USER\r\n.\r\n\
         -ERR STLS not available\r\n\
         -ERR Send USER first\r\n\
         +OK Send PASS\r\n+OK Logged in, 0 messages (0 octets)\r\n+OK Logging out\r\n"
    );
    assert_eq!(h.start_tls, 1);
}
