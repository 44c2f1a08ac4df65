//! Inputs found by the fuzz targets, kept as regression tests.

use imap_core::client::ResponseReader;
use imap_core::syntax::{Response, Writer, parse_response};

/// imap_response: `+ {5}` parsed as a continuation whose text looks like a literal header,
/// which every framer (ours included) reads as a literal announcement. Such text is now
/// refused by the parser and never written by the writer.
#[test]
fn continuation_text_ending_like_a_literal() {
    assert!(parse_response(b"+ {5}\r\n", false).is_err());
    assert!(parse_response(b"a OK done {12+}\r\n", false).is_err());
    let mut w = Writer::new(false);
    Response::Continue {
        code: None,
        text: "{5}".into(),
    }
    .write(&mut w);
    let mut r = ResponseReader::new(1024);
    r.feed(&w.buf);
    let got = r.next_response().expect("framed as one line").unwrap();
    assert_eq!(
        got,
        Response::Continue {
            code: None,
            text: "{5}.".into()
        }
    );
}

/// imap_response: a NUL inside an unknown response code's text was accepted by the parser but
/// written as a space. NUL is not a TEXT-CHAR: refused now.
#[test]
fn nul_in_response_code_text() {
    assert!(parse_response(b"+ [XFOO a\0b] text\r\n", false).is_err());
    assert!(parse_response(b"* OK [XFOO a\x01b] text\r\n", false).is_ok());
}

/// imap_server: IDLE in the authenticated state (no mailbox selected); a mailbox update from
/// the host must be refused with WrongState, not panic or write anything.
#[test]
fn mailbox_update_during_idle_without_selection() {
    use imap_core::server::{Config, Event, Server};
    use imap_core::syntax::Flag;
    let mut s = Server::new(Config {
        tls: true,
        ..Config::default()
    });
    s.feed(b"a LOGIN u p\r\nb IDLE\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
    s.auth_accept().unwrap();
    assert_eq!(s.poll_event(), Some(Event::Idle));
    s.idle_accept().unwrap();
    let before = s.transmit().len();
    assert!(matches!(
        s.flags_changed(1, &[Flag::Seen], None),
        Err(imap_core::Error::WrongState { .. })
    ));
    assert!(s.new_messages(&[1]).is_err() && s.message_expunged(1).is_err());
    assert_eq!(s.transmit().len(), before);
    s.feed(b"DONE\r\n");
    assert_eq!(s.poll_event(), Some(Event::IdleDone));
    assert!(String::from_utf8_lossy(s.transmit()).ends_with("b OK IDLE terminated\r\n"));
}

/// imap_response: a mailbox name holding a control character (`&AB8-` is U+001F) was written
/// raw in modified-UTF-7 mode, where only printable ASCII stands for itself, so the written
/// response no longer parsed. It is written as `&AB8-` again now.
#[test]
fn control_character_in_mailbox_name_is_utf7_encoded() {
    for utf8 in [false, true] {
        let resp = parse_response(b"* QUOTAROOT ESE&AB8-\n", false).unwrap();
        let mut w = Writer::new(utf8);
        resp.write(&mut w);
        if !utf8 {
            assert_eq!(w.buf, b"* QUOTAROOT ESE&AB8-\r\n");
        }
        assert_eq!(
            parse_response(&w.buf, utf8).as_ref(),
            Ok(&resp),
            "utf8 {utf8}"
        );
    }
}

/// imap_command: under `CHARSET GB2312` a GB18030 four-byte sequence decoded (encoding_rs's
/// GBK decoder is GB18030's) but could not be written back in GB2312, so the re-encoded
/// command differed. Such a string is refused now; under `CHARSET GB18030` it round-trips.
#[test]
fn gb18030_four_byte_sequence_under_gb2312() {
    use imap_core::client::encode_command;
    use imap_core::syntax::parse_command;
    let bad = b"a SEARCH CHARSET GB2312 SUBJECT {4+}\r\n\x81\x30\x81\x30\r\n";
    assert!(parse_command(bad, false).is_err());
    let good = b"a SEARCH CHARSET GB18030 SUBJECT {4+}\r\n\x81\x30\x81\x30\r\n";
    let cmd = parse_command(good, false).unwrap();
    let again = encode_command(&cmd, true, false);
    assert_eq!(parse_command(&again.bytes, false).unwrap(), cmd);
}
