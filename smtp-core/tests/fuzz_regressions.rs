//! Inputs found by fuzzing (cargo fuzz, see fuzz/fuzz_targets/smtp_*.rs), kept as regressions.

use smtp_core::{Command, ParseError, parse_command};

/// smtp_command, seed 1: a C1 control character (U+0084) inside a quoted local part was
/// accepted into the address.
#[test]
fn c1_control_in_quoted_local_part_is_refused() {
    let line = b"MAIL FROM: <\"q RK F\xe7\x94\xa8\xe6\x88\xb7OM: L\xc2\x84< F\xe7\x94\xa8\xe6\x88\xb7Ot\"@x.yYB>";
    assert_eq!(parse_command(line), Err(ParseError::BadSender));
    // The same address without the control character is fine (quoted '<' included).
    let ok = "MAIL FROM: <\"q RK F用户OM: L< F用户Ot\"@x.yYB>";
    assert!(matches!(
        parse_command(ok.as_bytes()),
        Ok(Command::Mail { .. })
    ));
    assert_eq!(
        parse_command(b"RCPT TO:<a\xc2\x9f@b.c>"),
        Err(ParseError::BadRecipient)
    );
    assert!(parse_command(b"EHLO a\xc2\x80b").is_err());
}

/// smtp_reply, seed 1: control characters in reply text were accepted, and writing the reply
/// (which strips them) turned the text into an enhanced status code.
#[test]
fn control_characters_in_reply_text_are_malformed() {
    use smtp_core::{ReplyError, parse_reply};
    assert_eq!(
        parse_reply(b"550 5.1\0\0\0\0.1 \n"),
        Err(ReplyError::Malformed)
    );
    assert_eq!(parse_reply(b"250 a\x7fb\r\n"), Err(ReplyError::Malformed));
    let (r, _) = parse_reply(b"250 a\tb\r\n").unwrap().unwrap();
    assert_eq!(r.to_bytes(), b"250 a\tb\r\n");
}

/// smtp_server, seed 1: after RSET-like resets an informational `Reset` event was queued before
/// the next decision event, and `accept()` while holding `Reset` answered the decision the host
/// had not seen yet.
#[test]
fn accept_before_the_decision_event_is_polled_is_an_error() {
    use smtp_core::{Config, Error, Event, Server};
    let mut s = Server::new(Config::new("mx"));
    s.feed(b"EHLO a\r\nMAIL FROM:<>\r\nEHLO b\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Helo { .. })));
    s.accept().unwrap();
    assert!(matches!(s.poll_event(), Some(Event::MailFrom { .. })));
    s.accept().unwrap();
    // EHLO b abandons the transaction (Reset) and asks for a decision (Helo).
    assert_eq!(s.poll_event(), Some(Event::Reset));
    assert!(matches!(s.accept(), Err(Error::WrongState { .. })));
    assert!(matches!(s.poll_event(), Some(Event::Helo { domain, .. }) if domain == "b"));
    s.accept().unwrap();
}
