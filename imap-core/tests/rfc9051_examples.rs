//! Whole sessions after RFC 9051's examples (section 8 and the command examples of section
//! 6), driven on the in-memory driver with a host that answers like the RFC's server.

use std::borrow::Cow;

use imap_core::server::{Config, Event, SelectInfo, Server};
use imap_core::syntax::{Date, DateTime, FetchAttr, FetchItem, Flag, FlagFetch, StoreAction};

fn out(s: &mut Server) -> String {
    let t = String::from_utf8_lossy(s.transmit()).into_owned();
    s.consume(t.len());
    t
}

#[test]
fn section_8_sample_session() {
    let mut s = Server::new(Config {
        greeting: "IMAP4rev2 Service Ready".into(),
        ..Config::default()
    });
    let greeting = out(&mut s);
    assert!(greeting.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED"));
    assert!(greeting.ends_with("] IMAP4rev2 Service Ready\r\n"));

    s.feed(b"a000 starttls\r\n");
    assert_eq!(s.poll_event(), Some(Event::StartTls));
    assert_eq!(out(&mut s), "a000 OK Begin TLS negotiation now\r\n");
    s.tls_established().unwrap();

    s.feed(b"A001 AUTHENTICATE PLAIN AGZyZWQAdHlwZXNlY3JldA==\r\n");
    let Some(Event::Login {
        username, password, ..
    }) = s.poll_event()
    else {
        panic!()
    };
    assert_eq!(
        (username.as_str(), password.expose()),
        ("fred", &b"typesecret"[..])
    );
    s.auth_accept().unwrap();
    assert!(out(&mut s).starts_with("A001 OK [CAPABILITY IMAP4rev1 IMAP4rev2"));

    s.feed(b"a002 select inbox\r\n");
    let Some(Event::Select {
        mailbox,
        read_only: false,
        ..
    }) = s.poll_event()
    else {
        panic!()
    };
    assert!(mailbox.is_inbox());
    s.select_ok(SelectInfo {
        flags: vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ],
        uids: (1..=18).map(|k| k * 100).collect(),
        uid_validity: 3857529045,
        uid_next: 4392,
        ..SelectInfo::default()
    })
    .unwrap();
    let sel = out(&mut s);
    assert!(sel.contains("* 18 EXISTS\r\n"));
    assert!(sel.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"));
    assert!(sel.contains("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"));
    assert!(sel.ends_with("a002 OK [READ-WRITE] SELECT completed\r\n"));

    s.feed(b"a003 fetch 12 full\r\n");
    let Some(Event::Fetch { uids, attrs, .. }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(uids, vec![1200]);
    assert_eq!(
        attrs,
        vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
            FetchAttr::Body
        ]
    );
    let date = DateTime::new(Date::new(1996, 7, 17).unwrap(), 2, 44, 25, -420).unwrap();
    s.fetch_item(
        1200,
        &[
            FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
            FetchItem::InternalDate(date),
            FetchItem::Rfc822Size(4286),
            FetchItem::Envelope(Cow::Borrowed(b"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" NIL NIL NIL NIL NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\")")),
            FetchItem::Body(Cow::Borrowed(b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)")),
        ],
    )
    .unwrap();
    s.ok().unwrap();
    let f = out(&mut s);
    assert!(f.starts_with(
        "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996"
    ), "{f}");
    assert!(f.ends_with("3028 92))\r\na003 OK FETCH completed\r\n"));

    s.feed(b"a004 fetch 12 body[header]\r\n");
    let Some(Event::Fetch { attrs, .. }) = s.poll_event() else {
        panic!()
    };
    let FetchAttr::BodySection {
        peek: false,
        section,
        partial: None,
    } = &attrs[0]
    else {
        panic!()
    };
    let header = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\n\r\n";
    s.fetch_item(
        1200,
        &[FetchItem::BodySection {
            section: section.clone(),
            origin: None,
            data: Some(Cow::Borrowed(header)),
        }],
    )
    .unwrap();
    s.ok().unwrap();
    assert_eq!(
        out(&mut s),
        format!(
            "* 12 FETCH (BODY[HEADER] {{{}}}\r\n{})\r\na004 OK FETCH completed\r\n",
            header.len(),
            String::from_utf8_lossy(header)
        )
    );

    s.feed(b"a005 store 12 +flags \\deleted\r\n");
    let Some(Event::Store {
        uids,
        action: StoreAction::Add,
        flags,
        ..
    }) = s.poll_event()
    else {
        panic!()
    };
    assert_eq!((uids, flags.clone()), (vec![1200], vec![Flag::Deleted]));
    s.store_item(1200, &[Flag::Seen, Flag::Deleted], None)
        .unwrap();
    s.store_ok(&[]).unwrap();
    assert_eq!(
        out(&mut s),
        "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\na005 OK STORE completed\r\n"
    );

    s.feed(b"a006 logout\r\n");
    assert_eq!(s.poll_event(), Some(Event::Logout));
    assert_eq!(
        out(&mut s),
        "* BYE Logging out\r\na006 OK LOGOUT completed\r\n"
    );
    assert!(s.is_closed());
    s.feed(b"a007 noop\r\n");
    assert_eq!(out(&mut s), "", "nothing after LOGOUT");
}

#[test]
fn section_6_3_list_and_status_examples() {
    let mut s = Server::new(Config {
        tls: true,
        ..Config::default()
    });
    out(&mut s);
    s.feed(b"A1 LOGIN smith sesame\r\nA101 LIST \"\" \"\"\r\nA682 LIST \"\" *\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
    s.auth_accept().unwrap();
    assert_eq!(
        out(&mut s).split_once("\r\n").unwrap().1,
        "* LIST (\\Noselect) \"/\" \"\"\r\nA101 OK LIST completed\r\n"
    );
    let Some(Event::List {
        reference,
        patterns,
        lsub: false,
        ..
    }) = s.poll_event()
    else {
        panic!()
    };
    assert_eq!((reference.as_str(), patterns), ("", vec!["*".to_string()]));
    s.ok().unwrap();
    assert_eq!(out(&mut s), "A682 OK LIST completed\r\n");
    s.feed(b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n");
    let Some(Event::Status { mailbox, items }) = s.poll_event() else {
        panic!()
    };
    use imap_core::syntax::StatusValue;
    let vals = vec![
        StatusValue {
            item: items[0],
            value: 44292,
        },
        StatusValue {
            item: items[1],
            value: 231,
        },
    ];
    s.status_ok(mailbox, vals).unwrap();
    assert_eq!(
        out(&mut s),
        "* STATUS blurdybloop (UIDNEXT 44292 MESSAGES 231)\r\nA042 OK STATUS completed\r\n"
    );
}

#[test]
fn section_6_4_append_example() {
    let mut s = Server::new(Config {
        tls: true,
        ..Config::default()
    });
    out(&mut s);
    s.feed(b"A1 LOGIN smith sesame\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
    s.auth_accept().unwrap();
    out(&mut s);
    let msg = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\n\
               Subject: afternoon meeting\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    s.feed(format!("A003 APPEND saved-messages (\\Seen) {{{}}}\r\n", msg.len()).as_bytes());
    let Some(Event::AppendStart {
        mailbox,
        flags,
        size,
        ..
    }) = s.poll_event()
    else {
        panic!()
    };
    assert_eq!(
        (mailbox.as_str(), flags, size),
        ("saved-messages", vec![Flag::Seen], msg.len() as u64)
    );
    s.append_accept().unwrap();
    assert_eq!(out(&mut s), "+ Ready for literal data\r\n");
    s.feed(msg.as_bytes());
    s.feed(b"\r\n");
    let mut got = Vec::new();
    loop {
        match s.poll_event() {
            Some(Event::AppendData(d)) => got.extend_from_slice(&d),
            Some(Event::AppendComplete) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, msg.as_bytes());
    s.append_ok(38505, &[3955]).unwrap();
    assert_eq!(
        out(&mut s),
        "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    );
}
