//! Property tests: transparency round trip, client wired to server, parsers.

use bytes::BytesMut;
use proptest::prelude::*;
use smtp_core::{
    BareLinePolicy, Client, ClientConfig, ClientEvent, Command, Config, DecodeStatus, DotStuffer,
    DotUnstuffer, Envelope, Event, MailParams, RcptParams, Reply, ReversePath, Server,
    parse_command, parse_reply,
};

/// What the client puts on the wire for `msg`: bare CR / LF become CRLF, a missing final CRLF
/// is added.
fn normalized(msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < msg.len() {
        match msg[i] {
            b'\r' if msg.get(i + 1) == Some(&b'\n') => {
                v.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                v.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                v.push(b);
                i += 1;
            }
        }
    }
    if !v.is_empty() && !v.ends_with(b"\r\n") {
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![bytes_message(), lines_message()]
}

/// Long lines (crossing the unstuffer's 64-byte blocks) with dots and odd line endings.
fn lines_message() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop_oneof![Just(&b""[..]), Just(&b"."[..]), Just(&b".."[..])],
            0usize..300,
            prop_oneof![
                6 => Just(&b"\r\n"[..]),
                1 => Just(&b"\n"[..]),
                1 => Just(&b"\r"[..]),
                1 => Just(&b""[..])
            ],
        ),
        0..12,
    )
    .prop_map(|lines| {
        let mut v = Vec::new();
        for (lead, n, end) in lines {
            v.extend_from_slice(lead);
            v.extend((0..n).map(|i| b'a' + (i % 26) as u8));
            v.extend_from_slice(end);
        }
        v
    })
}

fn bytes_message() -> impl Strategy<Value = Vec<u8>> {
    // Bytes biased towards the interesting ones.
    prop::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            2 => Just(b'.'),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
        ],
        0..600,
    )
}

fn split(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut rest = data;
    for &c in cuts {
        if rest.is_empty() {
            break;
        }
        let n = c % (rest.len() + 1);
        pieces.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    pieces.push(rest.to_vec());
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any message dot-stuffed by the client and unstuffed by the server is byte-identical
    /// (after the client's line-ending normalisation), for any splits on both sides.
    #[test]
    fn stuff_unstuff_round_trip(msg in message(), cuts in prop::collection::vec(0usize..700, 0..8), cuts2 in prop::collection::vec(0usize..700, 0..8)) {
        let mut stuffer = DotStuffer::new();
        let mut wire = Vec::new();
        for piece in split(&msg, &cuts) {
            stuffer.encode(&piece, &mut wire);
        }
        stuffer.finish(&mut wire);
        wire.extend_from_slice(b"NEXT");
        let mut dec = DotUnstuffer::new(BareLinePolicy::Reject);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut ended = false;
        for piece in split(&wire, &cuts2) {
            buf.extend_from_slice(&piece);
            if !ended && dec.decode(&mut buf, &mut |b| out.extend_from_slice(&b)) == DecodeStatus::End {
                ended = true;
            }
        }
        prop_assert!(ended);
        prop_assert!(!dec.saw_bare_line_ending());
        prop_assert_eq!(&buf[..], b"NEXT");
        prop_assert_eq!(out, normalized(&msg));
    }

    /// Raw bytes into the unstuffer: it never panics, never reports an end except at a real
    /// CRLF.CRLF, and under Normalize only hands out CRLF line endings.
    #[test]
    fn unstuffer_on_raw_bytes(data in message(), cuts in prop::collection::vec(0usize..700, 0..8)) {
        let mut dec = DotUnstuffer::new(BareLinePolicy::Normalize);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut consumed = 0usize;
        for piece in split(&data, &cuts) {
            buf.extend_from_slice(&piece);
            let before = buf.len();
            let st = dec.decode(&mut buf, &mut |b| out.extend_from_slice(&b));
            consumed += before - buf.len();
            if st == DecodeStatus::End {
                // The end is CRLF.CRLF in the raw stream (or .CRLF at the very start).
                let end = &data[..consumed];
                prop_assert!(end == b".\r\n" || end.ends_with(b"\r\n.\r\n"));
                break;
            }
        }
        for (i, &b) in out.iter().enumerate() {
            if b == b'\n' { prop_assert_eq!(out[i - 1], b'\r'); }
            if b == b'\r' { prop_assert_eq!(out.get(i + 1), Some(&b'\n')); }
        }
    }

    /// The command parser never panics, on anything.
    #[test]
    fn parse_command_total(line in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_command(&line);
    }

    /// Generated MAIL / RCPT commands parse back to their parts.
    #[test]
    fn mail_rcpt_round_trip(local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-zA-Z0-9_-]{1,10}){0,3}",
                            quoted in "[ -!#-\\[\\]-~]{0,20}",
                            domain in "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]{2,6}){1,3}",
                            size in any::<u64>(), use_quoted in any::<bool>()) {
        let lp = if use_quoted { format!("\"{quoted}\"") } else { local.clone() };
        let addr = format!("{lp}@{domain}");
        let line = format!("MAIL FROM:<{addr}> SIZE={size}");
        match parse_command(line.as_bytes()) {
            Ok(Command::Mail { from: ReversePath::Address(a), params }) => {
                prop_assert_eq!(&*a, addr.as_str());
                prop_assert_eq!(params.size, Some(size));
            }
            other => prop_assert!(false, "{:?}", other),
        }
        let line = format!("rcpt to:<@relay.example,@b.example:{addr}>");
        match parse_command(line.as_bytes()) {
            Ok(Command::Rcpt { to, .. }) => prop_assert_eq!(&*to, addr.as_str()),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Replies written by the server are read back identically by the reply parser.
    #[test]
    fn reply_round_trip(code in 200u16..600, lines in prop::collection::vec("[ -~]{0,40}", 1..5), enhanced in any::<bool>(), sub in 0u16..1000, det in 0u16..1000) {
        let class = (code / 100) as u8;
        let e = smtp_core::EnhancedCode::new(class, sub, det).filter(|_| enhanced && class != 3);
        // Leading text that itself looks like an enhanced code would be read as one.
        prop_assume!(lines.iter().all(|l| smtp_core::EnhancedCode::parse_prefix(l).is_none()));
        let r = Reply::from_parts(code, e, lines.clone());
        let wire = r.to_bytes();
        let (back, used) = parse_reply(&wire).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(back, r);
    }

    /// The reply parser never panics.
    #[test]
    fn parse_reply_total(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_reply(&data);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The client wired to the server delivers any message to exactly the accepted recipients,
    /// with any read splits.
    #[test]
    fn client_to_server(msg in message(),
                        rcpts in prop::collection::vec(("[a-z]{1,8}", any::<bool>()), 1..8),
                        chunk in 1usize..64) {
        let mut client = Client::new(ClientConfig::new("relay.example"));
        let mut server = Server::new(Config::new("mx.example"));
        let envelope = Envelope {
            from: ReversePath::Address("sender@example.org".into()),
            params: MailParams { size: Some(msg.len() as u64), ..Default::default() },
            recipients: rcpts.iter().map(|(n, _)| (format!("{n}@example.net"), RcptParams::default())).collect(),
        };
        let accept: Vec<bool> = rcpts.iter().map(|(_, a)| *a).collect();
        let mut rcpt_seen = 0;
        let mut results = vec![None; rcpts.len()];
        let mut received = Vec::new();
        let mut stored = None;
        let mut final_reply = None;
        for _round in 0..10_000 {
            let out = server.transmit().to_vec();
            server.consume(out.len());
            for piece in out.chunks(chunk) { client.feed(piece); }
            let out = client.transmit().to_vec();
            client.consume(out.len());
            for piece in out.chunks(chunk) { server.feed(piece); }
            while let Some(ev) = server.poll_event() {
                match ev {
                    Event::RcptTo { .. } => {
                        if accept[rcpt_seen] { server.accept().unwrap() } else {
                            server.reject(Reply::new(550, "5.1.1 no")).unwrap()
                        }
                        rcpt_seen += 1;
                    }
                    Event::Data(d) => received.extend_from_slice(&d),
                    Event::DataEnd { size } => {
                        prop_assert_eq!(size as usize, received.len());
                        stored = Some(received.clone());
                        server.accept().unwrap();
                    }
                    Event::Reset | Event::DataAborted { .. } => {}
                    _ => server.accept().unwrap(),
                }
            }
            while let Some(ev) = client.poll_event() {
                match ev {
                    ClientEvent::Ready(_) => client.send_mail(&envelope).unwrap(),
                    ClientEvent::RcptResult { index, reply } => results[index] = Some(reply.code()),
                    ClientEvent::DataReady => {
                        for piece in msg.chunks(chunk) { client.send_data(piece).unwrap(); }
                        client.end_data().unwrap();
                    }
                    ClientEvent::MessageResult(r) => {
                        final_reply = Some(r.code());
                        client.quit().unwrap();
                    }
                    ClientEvent::Closed => {}
                    other => prop_assert!(false, "{:?}", other),
                }
            }
            if client.is_closed() && server.is_closed() { break; }
        }
        prop_assert!(client.is_closed() && server.is_closed());
        let expect: Vec<Option<u16>> = accept.iter().map(|a| Some(if *a { 250 } else { 550 })).collect();
        prop_assert_eq!(results, expect);
        if accept.iter().any(|a| *a) {
            prop_assert_eq!(final_reply, Some(250));
            prop_assert_eq!(stored, Some(normalized(&msg)));
        } else {
            prop_assert_eq!(final_reply, Some(550));
            prop_assert_eq!(stored, None);
        }
    }
}

/// Lines near the shapes the parser's fast paths take (and just off them).
fn command_like() -> impl Strategy<Value = Vec<u8>> {
    let verb = prop_oneof![
        Just("MAIL FROM:"),
        Just("mail from:"),
        Just("MaIl FrOm:"),
        Just("MAIL FROM: "),
        Just("MAIL  FROM:"),
        Just("RCPT TO:"),
        Just("rcpt to:"),
        Just("RCPT TO: "),
        Just("RCPT"),
        Just("MAIL"),
        Just("DATA"),
        Just("data"),
        Just("RSET"),
        Just("QUIT"),
        Just("NOOP"),
        Just("EHLO "),
        Just("BDAT "),
        Just("AUTH "),
        Just("MAIM FROM:"),
        Just("RCPU TO:"),
        Just("M@IL FROM:"),
        Just("DAT"),
        Just("DATA "),
    ];
    let addr = "(<(@[a-z]{1,3}:)?[a-zA-Z0-9.!#_+=?~\"\\\\ -]{0,12}(@[a-zA-Z0-9.\\[\\]_-]{0,12})?>?|<>|<postmaster>|<Postmaster@x\\.org>|<é@x\\.org>)?";
    let params = prop::collection::vec(
        prop_oneof![
            Just(" SIZE=123"),
            Just(" BODY=8BITMIME"),
            Just(" SMTPUTF8"),
            Just(" NOTIFY=SUCCESS,FAILURE"),
            Just(" ORCPT=rfc822;a@b.c"),
            Just(" RET=HDRS"),
            Just(" ENVID=x+41"),
            Just(" AUTH=<>"),
            Just(" X=1"),
            Just(" "),
            Just("\t"),
            Just("x"),
            Just(" SIZE="),
        ],
        0..4,
    );
    (verb, addr, params).prop_map(|(v, a, p)| {
        let mut l = v.as_bytes().to_vec();
        l.extend_from_slice(a.as_bytes());
        for x in p {
            l.extend_from_slice(x.as_bytes());
        }
        l
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The fast paths of `parse_command` give exactly what the full grammar gives.
    #[test]
    fn fast_path_equals_reference(line in prop_oneof![
        3 => command_like(),
        1 => prop::collection::vec(any::<u8>(), 0..80),
    ]) {
        prop_assert_eq!(parse_command(&line), smtp_core::parse_reference(&line));
    }
}
