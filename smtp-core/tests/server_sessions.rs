//! Golden sessions for the server, each re-fed at every chunk size 1..=512.

mod common;

use std::time::{Duration, Instant};

use common::{Decision, accept_all, data_of, drive_all_splits, lines};
use smtp_core::{
    AbortReason, AuthPolicy, BareLinePolicy, Body, Config, EnhancedCode, Error, Event, Mechanism,
    Notify, Reply, ReversePath, Server,
};

fn config() -> Config {
    Config::new("mx.example.org")
}

#[test]
fn golden_session_exact_output() {
    let input = b"EHLO client.example\r\nMAIL FROM:<a@client.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.org\r\nDATA\r\nSubject: x\r\n\r\n..one\r\n...two\r\n.\r\nQUIT\r\n";
    let t = drive_all_splits(&config(), input, &mut accept_all);
    assert_eq!(
        t.out,
        "220 mx.example.org ESMTP ready\r\n\
         250-mx.example.org Hello client.example\r\n\
         250-PIPELINING\r\n\
         250-SIZE 26214400\r\n\
         250-8BITMIME\r\n\
         250-ENHANCEDSTATUSCODES\r\n\
         250-SMTPUTF8\r\n\
         250-CHUNKING\r\n\
         250 DSN\r\n\
         250 2.1.0 Ok\r\n\
         250 2.1.5 Ok\r\n\
         354 End data with <CR><LF>.<CR><LF>\r\n\
         250 2.0.0 Ok: queued\r\n\
         221 2.0.0 mx.example.org Bye\r\n"
    );
    assert!(t.closed);
    assert_eq!(data_of(&t), b"Subject: x\r\n\r\n.one\r\n..two\r\n");
    match &t.events[1] {
        Event::MailFrom { from, params } => {
            assert_eq!(from, &ReversePath::Address("a@client.example".into()));
            assert_eq!(params.size, Some(100));
            assert_eq!(params.body, Some(Body::EightBitMime));
        }
        e => panic!("{e:?}"),
    }
    match &t.events[2] {
        Event::RcptTo { to, params } => {
            assert_eq!(to, "b@example.org");
            assert_eq!(
                params.notify,
                Some(Notify {
                    success: true,
                    failure: true,
                    delay: false
                })
            );
            let o = params.orcpt.as_ref().unwrap();
            assert_eq!((&*o.addr_type, &*o.addr), ("rfc822", "b+40example.org"));
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(t.events.last(), Some(Event::DataEnd { size: 27 })));
}

#[test]
fn rejections_and_custom_replies() {
    let input =
        b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nhi\r\n.\r\n";
    let mut decide = |ev: &Event| match ev {
        Event::RcptTo { to, .. } if to == "x@y.z" => {
            Decision::Reject(Reply::new(550, "5.1.1 No such user here"))
        }
        Event::DataEnd { .. } => Decision::AcceptWith(Reply::new(250, "2.0.0 Ok: queued as Q1")),
        e => accept_all(e),
    };
    let t = drive_all_splits(&config(), input, &mut decide);
    assert_eq!(
        lines(&t)[1..],
        [
            "250 mx.example.org Hello c",
            "250 2.1.0 Ok",
            "550 5.1.1 No such user here",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued as Q1",
        ]
    );
    assert!(matches!(
        &t.events[1],
        Event::MailFrom {
            from: ReversePath::Null,
            ..
        }
    ));
    assert!(matches!(&t.events[3], Event::RcptTo { to, .. } if to == "Postmaster"));
}

#[test]
fn sequence_errors() {
    let input = b"MAIL FROM:<a@b.c>\r\nEHLO x\r\nRCPT TO:<a@b.c>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\nFOO\r\nVRFY bob\r\nEXPN list\r\nNOOP\r\nHELP\r\nRSET\r\n";
    let t = drive_all_splits(&config(), input, &mut accept_all);
    let l = lines(&t);
    let after_ehlo: Vec<&str> = l
        .iter()
        .skip_while(|s| !s.starts_with("250 DSN"))
        .skip(1)
        .copied()
        .collect();
    assert_eq!(l[1], "503 5.5.1 Send HELO/EHLO first");
    assert_eq!(
        after_ehlo,
        [
            "503 5.5.1 Need MAIL command",
            "503 5.5.1 Need MAIL command",
            "250 2.1.0 Ok",
            "503 5.5.1 Nested MAIL command",
            "554 5.5.1 No valid recipients",
            "500 5.5.1 Command unrecognized",
            "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery",
            "502 5.5.1 EXPN not available",
            "250 2.0.0 Ok",
            "214 2.0.0 See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)",
            "250 2.0.0 Ok",
        ]
    );
    assert_eq!(t.events.last(), Some(&Event::Reset));
}

#[test]
fn syntax_errors_have_precise_codes() {
    let input = b"EHLO x\r\nMAIL FROM:<a@@b>\r\nMAIL FROM:a@b.c\r\nMAIL FROM:<a@b.c> FOO=1\r\nMAIL FROM:<a@b.c> SIZE=x\r\nMAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<a b@c>\r\nRCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS\r\nEHLO\r\n";
    let t = drive_all_splits(&config(), input, &mut accept_all);
    let l = lines(&t);
    let tail: Vec<&str> = l
        .iter()
        .skip_while(|s| !s.starts_with("250 DSN"))
        .skip(1)
        .copied()
        .collect();
    assert_eq!(
        tail,
        [
            "501 5.1.7 Bad sender address syntax",
            "501 5.1.7 Bad sender address syntax",
            "555 5.5.4 Unsupported parameter",
            "501 5.5.4 Syntax error: bad SIZE value",
            "501 5.5.4 Syntax error: duplicate parameter",
            "250 2.1.0 Ok",
            "501 5.1.3 Bad recipient address syntax",
            "501 5.5.4 Syntax error: bad NOTIFY value",
            "501 5.5.4 Syntax error: argument required",
        ]
    );
}

#[test]
fn quoted_local_part_with_angle_brackets() {
    let input = b"EHLO x\r\nMAIL FROM:<\"a>b<c\\\"d\"@example.org>\r\n";
    let t = drive_all_splits(&config(), input, &mut accept_all);
    assert!(
        matches!(&t.events[1], Event::MailFrom { from: ReversePath::Address(a), .. } if a == "\"a>b<c\\\"d\"@example.org")
    );
}

#[test]
fn too_many_errors_close_with_421() {
    let mut c = config();
    c.max_errors = 3;
    let t = drive_all_splits(&c, b"X\r\nY\r\nZ\r\nNOOP\r\n", &mut accept_all);
    assert_eq!(
        lines(&t)[1..],
        [
            "500 5.5.1 Command unrecognized",
            "500 5.5.1 Command unrecognized",
            "500 5.5.1 Command unrecognized",
            "421 4.7.0 mx.example.org Too many errors, closing connection",
        ]
    );
    assert!(t.closed);
}

#[test]
fn overlong_line_is_refused_and_the_next_line_works() {
    let mut c = config();
    c.max_line_length = 40;
    let mut input = b"EHLO x\r\nMAIL FROM:<".to_vec();
    input.extend(std::iter::repeat_n(b'a', 100));
    input.extend_from_slice(b"@b.c>\r\nNOOP\r\n");
    // exactly at the limit is fine
    input.extend_from_slice(format!("NOOP {}\r\n", "x".repeat(35)).as_bytes());
    let t = drive_all_splits(&c, &input, &mut accept_all);
    let l = lines(&t);
    assert_eq!(
        l[l.len() - 3..],
        ["500 5.5.6 Line too long", "250 2.0.0 Ok", "250 2.0.0 Ok"]
    );
}

#[test]
fn max_recipients() {
    let mut c = config();
    c.max_recipients = 2;
    let input =
        b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<1@b.c>\r\nRCPT TO:<2@b.c>\r\nRCPT TO:<3@b.c>\r\n";
    let t = drive_all_splits(&c, input, &mut accept_all);
    assert_eq!(lines(&t).last(), Some(&"452 4.5.3 Too many recipients"));
}

#[test]
fn size_declared_and_streamed() {
    let mut c = config();
    c.max_message_size = 10;
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c> SIZE=11\r\nMAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<d@e.f>\r\nDATA\r\n0123456789\r\n.\r\nNOOP\r\n";
    let t = drive_all_splits(&c, input, &mut accept_all);
    let l = lines(&t);
    assert!(l.contains(&"552 5.3.4 Message size exceeds fixed limit"));
    assert_eq!(
        l[l.len() - 2..],
        ["552 5.3.4 Message size exceeds fixed limit", "250 2.0.0 Ok"]
    );
    assert!(t.events.contains(&Event::DataAborted {
        reason: AbortReason::TooBig
    }));
    assert!(!t.events.iter().any(|e| matches!(e, Event::DataEnd { .. })));
}

#[test]
fn message_of_exactly_max_size_is_accepted() {
    let mut c = config();
    c.max_message_size = 12;
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n0123456789\r\n.\r\n";
    let t = drive_all_splits(&c, input, &mut accept_all);
    assert_eq!(lines(&t).last(), Some(&"250 2.0.0 Ok: queued"));
}

#[test]
fn bdat_chunks() {
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 5\r\nab\r\n.BDAT 3 LAST\r\nxyzQUIT\r\n";
    let t = drive_all_splits(&config(), input, &mut accept_all);
    assert_eq!(data_of(&t), b"ab\r\n.xyz");
    assert!(t.events.contains(&Event::DataStart { chunking: true }));
    assert!(t.events.contains(&Event::DataEnd { size: 8 }));
    let l = lines(&t);
    assert_eq!(
        l[l.len() - 3..],
        [
            "250 2.0.0 5 octets received",
            "250 2.0.0 Ok: queued",
            "221 2.0.0 mx.example.org Bye"
        ]
    );
}

#[test]
fn refused_bdat_chunk_is_read_and_dropped() {
    // BDAT without a transaction: the 6 octets "QUIT\r\n" are chunk data, not a command.
    let input = b"EHLO x\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n";
    let t = drive_all_splits(&config(), input, &mut accept_all);
    let l = lines(&t);
    assert_eq!(
        l[l.len() - 2..],
        ["503 5.5.1 Need MAIL command", "250 2.0.0 Ok"]
    );
    assert!(!t.closed);
    let bad = drive_all_splits(&config(), b"EHLO x\r\nBDAT x\r\nQUIT\r\n", &mut accept_all);
    assert!(bad.closed);
    assert!(
        bad.out
            .ends_with("421 4.5.4 mx.example.org Bad BDAT command, closing connection\r\n")
    );
}

#[test]
fn bdat_over_size_limit() {
    let mut c = config();
    c.max_message_size = 4;
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 3\r\nabcBDAT 3 LAST\r\ndefNOOP\r\n";
    let t = drive_all_splits(&c, input, &mut accept_all);
    let l = lines(&t);
    assert_eq!(
        l[l.len() - 3..],
        [
            "250 2.0.0 3 octets received",
            "552 5.3.4 Message size exceeds fixed limit",
            "250 2.0.0 Ok"
        ]
    );
    assert!(t.events.contains(&Event::DataAborted {
        reason: AbortReason::TooBig
    }));
}

#[test]
fn data_end_is_acknowledged_asynchronously() {
    let mut s = Server::new(config());
    s.feed(b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhello\r\n.\r\nNOOP\r\n");
    loop {
        match s.poll_event() {
            Some(Event::DataEnd { size }) => {
                assert_eq!(size, 7);
                break;
            }
            Some(Event::Data(_)) => {}
            Some(_) => s.accept().unwrap(),
            None => panic!("no DataEnd"),
        }
    }
    // The host is still storing: NOOP must not be answered yet.
    assert!(s.is_waiting());
    assert!(s.poll_event().is_none());
    assert!(!String::from_utf8_lossy(s.transmit()).contains("250 2.0.0 Ok\r\n"));
    assert_eq!(
        s.poll_timeout(),
        None,
        "no idle timeout while the host decides"
    );
    s.accept().unwrap();
    assert!(s.poll_event().is_none());
    assert!(
        String::from_utf8_lossy(s.transmit()).ends_with("250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n")
    );
}

#[test]
fn wrong_state_answers_are_errors() {
    let mut s = Server::new(config());
    assert!(matches!(s.accept(), Err(Error::WrongState { .. })));
    assert!(matches!(s.tls_started(), Err(Error::WrongState { .. })));
    s.feed(b"EHLO x\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Helo { .. })));
    assert!(matches!(
        s.reject(Reply::new(250, "no")),
        Err(Error::InvalidReply { code: 250, .. })
    ));
    assert!(matches!(
        s.accept_with(Reply::new(550, "no")),
        Err(Error::InvalidReply { .. })
    ));
    s.accept().unwrap();
    assert!(matches!(s.accept(), Err(Error::WrongState { .. })));
    s.feed(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
    s.poll_event();
    s.accept().unwrap();
    s.poll_event();
    s.accept().unwrap();
    assert_eq!(s.poll_event(), Some(Event::DataStart { chunking: false }));
    assert!(matches!(
        s.accept_with(Reply::new(250, "x")),
        Err(Error::InvalidReply { .. })
    ));
    s.accept_with(Reply::new(354, "go ahead")).unwrap();
}

#[test]
fn auth_plain_login_cancel_and_policy() {
    let mut c = config();
    c.auth = AuthPolicy::Required;
    c.implicit_tls = true;
    // PLAIN without initial response, wrong password, then LOGIN, then mail.
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nAUTH PLAIN\r\nAHUAd3Jvbmc=\r\nAUTH LOGIN\r\n*\r\nAUTH LOGIN dUBleGFtcGxlLm9yZw==\r\ncGFzcw==\r\nAUTH PLAIN AHUAcA==\r\nMAIL FROM:<a@b.c>\r\n";
    let mut decide = |ev: &Event| match ev {
        Event::Auth {
            password,
            mechanism,
            username,
            ..
        } => {
            if password.expose() == "pass" {
                assert_eq!(
                    (*mechanism, username.as_str()),
                    (Mechanism::Login, "u@example.org")
                );
                Decision::Accept
            } else {
                Decision::Reject(Reply::new(535, "5.7.8 Authentication credentials invalid"))
            }
        }
        e => accept_all(e),
    };
    let t = drive_all_splits(&c, input, &mut decide);
    let l = lines(&t);
    let tail: Vec<&str> = l
        .iter()
        .skip_while(|s| !s.starts_with("250 AUTH"))
        .skip(1)
        .copied()
        .collect();
    assert_eq!(
        tail,
        [
            "530 5.7.0 Authentication required",
            "334 ",
            "535 5.7.8 Authentication credentials invalid",
            "334 VXNlcm5hbWU6",
            "501 5.7.0 Authentication cancelled",
            "334 UGFzc3dvcmQ6",
            "235 2.7.0 Authentication successful",
            "503 5.5.1 Already authenticated",
            "250 2.1.0 Ok",
        ]
    );
    let dbg = format!("{:?}", t.events);
    assert!(!dbg.contains("pass\"") && !dbg.contains("wrong"), "{dbg}");
}

#[test]
fn auth_needs_tls_unless_host_allows() {
    let mut c = config();
    c.auth = AuthPolicy::Optional;
    let t = drive_all_splits(&c, b"EHLO x\r\nAUTH PLAIN AHUAcA==\r\n", &mut accept_all);
    assert!(!t.out.contains("AUTH PLAIN LOGIN"));
    assert!(
        t.out
            .ends_with("538 5.7.11 Encryption required for requested authentication mechanism\r\n")
    );
    c.plaintext_auth = true;
    let t = drive_all_splits(&c, b"EHLO x\r\nAUTH PLAIN AHUAcA==\r\n", &mut accept_all);
    assert!(t.out.contains("250 AUTH PLAIN LOGIN\r\n"));
    assert!(t.out.ends_with("235 2.7.0 Authentication successful\r\n"));
    let mut s = Server::new(Config::new("h"));
    s.feed(b"EHLO x\r\nAUTH PLAIN AHUAcA==\r\n");
    s.poll_event();
    s.accept().unwrap();
    assert!(s.poll_event().is_none());
    assert!(String::from_utf8_lossy(s.transmit()).ends_with("502 5.5.1 AUTH not available\r\n"));
}

#[test]
fn starttls_drops_injected_plaintext_and_resets() {
    let mut c = config();
    c.starttls = true;
    c.auth = AuthPolicy::Required;
    let mut s = Server::new(c);
    s.feed(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x.y>\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Helo { .. })));
    s.accept().unwrap();
    assert_eq!(s.poll_event(), Some(Event::StartTls));
    s.accept().unwrap();
    assert_eq!(s.poll_event(), None);
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(out.contains("250 STARTTLS\r\n") && !out.contains("AUTH PLAIN"));
    assert!(out.ends_with("220 2.0.0 Ready to start TLS\r\n"));
    s.tls_started().unwrap();
    assert!(s.is_tls() && s.helo_name().is_none());
    s.feed(b"MAIL FROM:<a@b.c>\r\nEHLO y\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Helo { domain, .. }) if domain == "y"));
    s.accept().unwrap();
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(!out.contains("evil"));
    assert!(out.contains("503 5.5.1 Send HELO/EHLO first\r\n"));
    let ehlo2 = out.rsplit("250-mx.example.org").next().unwrap();
    assert!(ehlo2.contains("AUTH PLAIN LOGIN") && !ehlo2.contains("STARTTLS"));
    assert_eq!(s.protocol(), "ESMTPS");
}

#[test]
fn smtputf8_addresses() {
    let input = "EHLO x\r\nMAIL FROM:<用户@例子.中国>\r\nMAIL FROM:<用户@例子.中国> SMTPUTF8\r\nRCPT TO:<收件人@例子.中国>\r\n".as_bytes();
    let t = drive_all_splits(&config(), input, &mut accept_all);
    let l = lines(&t);
    assert_eq!(
        l[l.len() - 3..],
        [
            "553 5.6.7 Non-ASCII address needs SMTPUTF8",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok"
        ]
    );
    assert!(matches!(&t.events[2], Event::RcptTo { to, .. } if to == "收件人@例子.中国"));
}

#[test]
fn helo_session_has_no_extensions() {
    let t = drive_all_splits(
        &config(),
        b"HELO x\r\nMAIL FROM:<a@b.c> SIZE=1\r\n",
        &mut accept_all,
    );
    assert!(
        t.out
            .ends_with("250 mx.example.org Hello x\r\n555 5.5.4 Parameters need EHLO\r\n")
    );
}

#[test]
fn idle_timeout() {
    let mut s = Server::new(config());
    let t0 = Instant::now();
    s.handle_timeout(t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    s.feed(b"NOOP\r\n");
    while s.poll_event().is_some() {}
    s.handle_timeout(t0 + Duration::from_secs(100));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(400)));
    s.handle_timeout(t0 + Duration::from_secs(399));
    assert!(!s.is_closed());
    s.handle_timeout(t0 + Duration::from_secs(400));
    assert!(s.is_closed());
    assert!(
        String::from_utf8_lossy(s.transmit())
            .ends_with("421 4.4.2 mx.example.org Error: timeout exceeded\r\n")
    );
}

#[test]
fn shutdown_and_feed_after_close() {
    let mut s = Server::new(config());
    s.shutdown(&Reply::with_enhanced(
        421,
        EnhancedCode::new(4, 3, 2).unwrap(),
        "shutting down",
    ))
    .unwrap();
    assert!(s.is_closed());
    s.feed(b"EHLO x\r\n");
    assert!(s.poll_event().is_none());
    assert!(s.shutdown(&Reply::new(421, "again")).is_err());
    assert!(String::from_utf8_lossy(s.transmit()).ends_with("421 4.3.2 shutting down\r\n"));
}

#[test]
fn reply_text_cannot_inject_lines() {
    let mut s = Server::new(config());
    s.feed(b"EHLO x\r\n");
    s.poll_event();
    s.reject(Reply::new(550, "first\r\n250 fake\rline"))
        .unwrap();
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(out.ends_with("550-first\r\n550 250 fakeline\r\n"), "{out}");
}

#[test]
fn normalize_policy_accepts_bare_lf_commands() {
    let mut c = config();
    c.bare_line = BareLinePolicy::Normalize;
    let t = drive_all_splits(&c, b"NOOP\nNOOP\r\n", &mut accept_all);
    assert_eq!(lines(&t)[1..], ["250 2.0.0 Ok", "250 2.0.0 Ok"]);
    let t = drive_all_splits(&config(), b"NOOP\nNOOP\r\n", &mut accept_all);
    assert_eq!(
        lines(&t)[1..],
        ["500 5.5.2 Line must end with CRLF", "250 2.0.0 Ok"]
    );
}

#[test]
fn bdat_chunk_larger_than_any_message_closes() {
    let mut c = config();
    c.max_message_size = 100;
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 101\r\nxxxx";
    let t = drive_all_splits(&c, input, &mut accept_all);
    assert!(t.closed);
    assert!(
        t.out
            .ends_with("552 5.3.4 Chunk exceeds the message size limit, closing connection\r\n")
    );
    assert!(!t.events.iter().any(|e| matches!(e, Event::Data(_))));
}

#[test]
fn received_header_cannot_be_injected() {
    let h = smtp_core::received_header(&smtp_core::ReceivedInfo {
        helo: "evil\r\nX-Injected: yes (x)",
        client_ip: "2001:db8::1".parse().unwrap(),
        client_name: Some("a;b"),
        by: "mx",
        protocol: "ESMTP",
        tls: None,
        id: None,
        recipient: Some("u@x\r\n>"),
        date: "Sun, 06 Dec 2026 10:00:00 +0000\r\n",
    });
    assert_eq!(
        h,
        "Received: from evilX-Injected:_yes_x (ab [IPv6:2001:db8::1])\r\n\tby mx with ESMTP\r\n\tfor <u@x>; Sun, 06 Dec 2026 10:00:00 +0000\r\n"
    );
}
