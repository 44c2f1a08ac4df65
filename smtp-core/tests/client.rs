//! The client against scripted servers.

use smtp_core::{
    Body, Client, ClientConfig, ClientEvent, Envelope, Error, MailParams, Notify, RcptParams,
    ReversePath, Secret,
};

/// Feeds a server reply in one-byte pieces and returns the events and what the client sent.
fn step(c: &mut Client, server: &str) -> (Vec<ClientEvent>, String) {
    let mut evs = Vec::new();
    for b in server.as_bytes() {
        c.feed(std::slice::from_ref(b));
        while let Some(e) = c.poll_event() {
            evs.push(e);
        }
    }
    let out = String::from_utf8_lossy(c.transmit()).into_owned();
    let n = c.transmit().len();
    c.consume(n);
    (evs, out)
}

fn envelope(n: usize) -> Envelope {
    Envelope {
        from: ReversePath::Address("a@example.org".into()),
        params: MailParams {
            size: Some(10),
            body: Some(Body::EightBitMime),
            ..Default::default()
        },
        recipients: (0..n)
            .map(|i| {
                (
                    format!("r{i}@example.net"),
                    RcptParams {
                        notify: Some(Notify::NEVER),
                        orcpt: None,
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn without_pipelining_one_command_at_a_time() {
    let mut c = Client::new(ClientConfig::new("me.example"));
    let (e, out) = step(&mut c, "220 mx ESMTP\r\n");
    assert!(e.is_empty());
    assert_eq!(out, "EHLO me.example\r\n");
    let (e, out) = step(&mut c, "250-mx\r\n250-SIZE 1000\r\n250 8BITMIME\r\n");
    let ClientEvent::Ready(caps) = &e[0] else {
        panic!("{e:?}")
    };
    assert!(!caps.pipelining && caps.size == Some(1000) && caps.eightbitmime && !caps.dsn);
    assert_eq!(out, "");
    c.send_mail(&envelope(2)).unwrap();
    let (_, out) = step(&mut c, "");
    // No DSN offered: NOTIFY is not sent.
    assert_eq!(out, "MAIL FROM:<a@example.org> SIZE=10 BODY=8BITMIME\r\n");
    let (_, out) = step(&mut c, "250 ok\r\n");
    assert_eq!(out, "RCPT TO:<r0@example.net>\r\n");
    let (e, out) = step(&mut c, "550 5.1.1 no\r\n");
    assert!(matches!(&e[0], ClientEvent::RcptResult { index: 0, reply } if reply.code() == 550));
    assert_eq!(out, "RCPT TO:<r1@example.net>\r\n");
    let (e, out) = step(&mut c, "250 ok\r\n");
    assert!(matches!(&e[0], ClientEvent::RcptResult { index: 1, reply } if reply.code() == 250));
    assert_eq!(out, "DATA\r\n");
    let (e, _) = step(&mut c, "354 go\r\n");
    assert_eq!(e, [ClientEvent::DataReady]);
    c.send_data(b".a\r\nb\n.").unwrap();
    c.send_data(b"\r").unwrap();
    c.end_data().unwrap();
    let (e, out) = step(&mut c, "");
    assert!(e.is_empty());
    assert_eq!(out, "..a\r\nb\r\n..\r\n.\r\n");
    let (e, _) = step(&mut c, "250 2.0.0 queued\r\n");
    assert!(
        matches!(&e[0], ClientEvent::MessageResult(r) if r.code() == 250 && r.text() == "queued")
    );
    c.quit().unwrap();
    let (e, out) = step(&mut c, "");
    assert!(e.is_empty());
    assert_eq!(out, "QUIT\r\n");
    let (e, _) = step(&mut c, "221 bye\r\n");
    assert_eq!(e, [ClientEvent::Closed]);
    assert!(c.is_closed());
}

#[test]
fn pipelining_sends_the_envelope_at_once_and_all_refused() {
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220 mx\r\n");
    step(&mut c, "250-mx\r\n250-PIPELINING\r\n250 DSN\r\n");
    c.send_mail(&envelope(2)).unwrap();
    let (_, out) = step(&mut c, "");
    assert_eq!(
        out,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<r0@example.net> NOTIFY=NEVER\r\nRCPT TO:<r1@example.net> NOTIFY=NEVER\r\nDATA\r\n"
    );
    let (e, out) = step(
        &mut c,
        "250 ok\r\n550 no\r\n551 no\r\n554 5.5.1 No valid recipients\r\n",
    );
    assert_eq!(e.len(), 3);
    // The last recipient refusal is the message's result.
    assert!(matches!(&e[2], ClientEvent::MessageResult(r) if r.code() == 551));
    assert_eq!(out, "");
    assert!(c.send_mail(&envelope(1)).is_ok());
}

#[test]
fn pipelined_mail_refusal_reported_after_data() {
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220 mx\r\n");
    step(&mut c, "250-mx\r\n250 PIPELINING\r\n");
    c.send_mail(&envelope(1)).unwrap();
    let (e, _) = step(&mut c, "550 5.7.1 sender refused\r\n");
    assert!(e.is_empty());
    assert!(matches!(
        c.send_mail(&envelope(1)),
        Err(Error::WrongState { .. })
    ));
    let (e, out) = step(&mut c, "503 no mail\r\n503 no rcpt\r\n");
    assert!(matches!(&e[..], [ClientEvent::MailRefused(r)] if r.code() == 550));
    assert_eq!(out, "RSET\r\n");
    step(&mut c, "250 ok\r\n");
    c.send_mail(&envelope(1)).unwrap();
}

#[test]
fn ehlo_refused_falls_back_to_helo() {
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220 mx\r\n");
    let (_, out) = step(&mut c, "502 5.5.1 what\r\n");
    assert_eq!(out, "HELO me\r\n");
    let (e, _) = step(&mut c, "250 mx\r\n");
    assert!(matches!(&e[0], ClientEvent::Ready(caps) if !caps.esmtp));
    let mut env = envelope(1);
    env.params.smtputf8 = true;
    assert!(matches!(c.send_mail(&env), Err(Error::InvalidArgument(_))));
    c.send_mail(&envelope(1)).unwrap();
    let (_, out) = step(&mut c, "");
    assert_eq!(out, "MAIL FROM:<a@example.org>\r\n");
}

#[test]
fn starttls_then_auth_login() {
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220 mx\r\n");
    step(&mut c, "250-mx\r\n250 STARTTLS\r\n");
    assert!(matches!(
        c.authenticate("u", Secret::new("p")),
        Err(Error::InvalidArgument(_))
    ));
    c.start_tls().unwrap();
    let (e, out) = step(&mut c, "");
    assert!(e.is_empty());
    assert_eq!(out, "STARTTLS\r\n");
    let (e, _) = step(&mut c, "220 2.0.0 go\r\n");
    assert_eq!(e, [ClientEvent::TlsReady]);
    assert!(matches!(c.start_tls(), Err(Error::WrongState { .. })));
    c.tls_established().unwrap();
    let (_, out) = step(&mut c, "");
    assert_eq!(out, "EHLO me\r\n");
    let (e, _) = step(&mut c, "250-mx\r\n250-AUTH=LOGIN\r\n250 AUTH LOGIN\r\n");
    assert!(matches!(&e[0], ClientEvent::Ready(caps) if caps.auth == ["LOGIN"] && !caps.starttls));
    assert!(c.is_tls());
    c.authenticate("user@example.org", Secret::new("pw"))
        .unwrap();
    let (_, out) = step(&mut c, "");
    assert_eq!(out, "AUTH LOGIN\r\n");
    let (_, out) = step(&mut c, "334 VXNlcm5hbWU6\r\n");
    assert_eq!(out, "dXNlckBleGFtcGxlLm9yZw==\r\n");
    let (_, out) = step(&mut c, "334 UGFzc3dvcmQ6\r\n");
    assert_eq!(out, "cHc=\r\n");
    let (e, _) = step(&mut c, "235 2.7.0 ok\r\n");
    assert_eq!(e, [ClientEvent::Authenticated]);
    assert!(c.is_authenticated());
    assert!(!format!("{c:?}").contains("\"pw\""));
}

#[test]
fn auth_plain_refused() {
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220 mx\r\n");
    step(&mut c, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
    c.authenticate("u", Secret::new("p")).unwrap();
    let (_, out) = step(&mut c, "");
    assert_eq!(out, "AUTH PLAIN AHUAcA==\r\n");
    let (e, _) = step(&mut c, "535 5.7.8 bad\r\n");
    assert!(matches!(&e[0], ClientEvent::Refused(r) if r.code() == 535));
    assert!(!c.is_authenticated());
}

#[test]
fn multiline_reply_with_enhanced_codes() {
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220-mx first\r\n220-second\r\n220 third\r\n");
    step(&mut c, "250 mx\r\n");
    c.send_mail(&envelope(1)).unwrap();
    step(&mut c, "");
    step(&mut c, "250 ok\r\n");
    let (e, _) = step(
        &mut c,
        "550-5.1.1 line one\r\n550-5.1.1 line two\r\n550 5.1.1 line three\r\n",
    );
    let ClientEvent::RcptResult { reply, .. } = &e[0] else {
        panic!("{e:?}")
    };
    assert_eq!(reply.enhanced().unwrap().to_string(), "5.1.1");
    assert_eq!(reply.lines(), ["line one", "line two", "line three"]);
}

#[test]
fn protocol_violations_close() {
    for bad in [
        "hello\r\n",
        "250-a\r\n251 b\r\n",
        "999 x\r\n",
        "250 unsolicited\r\n",
    ] {
        let mut c = Client::new(ClientConfig::new("me"));
        if bad.starts_with("250 uns") {
            step(&mut c, "220 mx\r\n");
            step(&mut c, "250 mx\r\n");
        }
        let (e, _) = step(&mut c, bad);
        assert_eq!(e.last(), Some(&ClientEvent::Closed), "{bad}");
    }
    let mut c = Client::new(ClientConfig::new("me"));
    step(&mut c, "220 mx\r\n");
    let (e, _) = step(&mut c, "421 4.3.2 going down\r\n");
    assert!(matches!(&e[..], [ClientEvent::Refused(r), ClientEvent::Closed] if r.code() == 421));
    let mut c = Client::new(ClientConfig::new("me"));
    let (e, _) = step(&mut c, &format!("220 {}\r\n", "x".repeat(5000)));
    assert_eq!(e, [ClientEvent::Closed]);
}

#[test]
fn wrong_state_and_bad_arguments() {
    let mut c = Client::new(ClientConfig::new("me"));
    assert!(matches!(
        c.send_mail(&envelope(1)),
        Err(Error::WrongState { .. })
    ));
    assert!(matches!(c.send_data(b"x"), Err(Error::WrongState { .. })));
    assert!(matches!(c.end_data(), Err(Error::WrongState { .. })));
    assert!(matches!(c.tls_established(), Err(Error::WrongState { .. })));
    step(&mut c, "220 mx\r\n");
    step(&mut c, "250 mx\r\n");
    assert!(matches!(
        c.send_mail(&envelope(0)),
        Err(Error::InvalidArgument(_))
    ));
    let mut env = envelope(1);
    env.recipients[0].0 = "a@b\r\nRSET".into();
    assert!(matches!(c.send_mail(&env), Err(Error::InvalidArgument(_))));
    assert_eq!(c.transmit(), b"");
}

#[test]
fn reply_timeout_closes() {
    use std::time::{Duration, Instant};
    let mut c = Client::new(ClientConfig::new("me"));
    let t0 = Instant::now();
    c.handle_timeout(t0);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    c.handle_timeout(t0 + Duration::from_secs(300));
    assert_eq!(c.poll_event(), Some(ClientEvent::Closed));
}

#[test]
fn stuffer_cr_before_empty_chunk_then_lf() {
    // Found by proptest: a CR at a chunk end, an empty chunk, then LF is one CRLF.
    let mut s = smtp_core::DotStuffer::new();
    let mut out = Vec::new();
    s.encode(b"a\r", &mut out);
    s.encode(b"", &mut out);
    s.encode(b"\nb", &mut out);
    s.finish(&mut out);
    assert_eq!(out, b"a\r\nb\r\n.\r\n");
}
