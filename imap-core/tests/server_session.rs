//! Golden sessions (many after RFC 9051's examples) on the in-memory driver.

mod common;
use common::{LOGIN, config, run, run_chunked};

use imap_core::server::{Config, Event, SelectInfo, Server};
use imap_core::syntax::{Flag, FlagFetch};

fn lines_after(out: &str, marker: &str) -> String {
    out[out
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {out}"))..]
        .to_owned()
}

#[test]
fn greeting_and_capability_before_tls() {
    let out = run_chunked(
        Config::default(),
        b"a CAPABILITY\r\nb LOGIN u p\r\n",
        usize::MAX,
    )
    .0;
    assert!(out.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED SASL-IR"));
    assert!(out.contains("\r\na OK CAPABILITY completed\r\n"));
    assert!(out.contains("b NO [PRIVACYREQUIRED]"), "{out}");
}

#[test]
fn starttls_discards_injected_commands() {
    let mut s = Server::new(Config::default());
    s.feed(b"a STARTTLS\r\nb LOGIN u p\r\n");
    assert_eq!(s.poll_event(), Some(Event::StartTls));
    assert!(String::from_utf8_lossy(s.transmit()).ends_with("a OK Begin TLS negotiation now\r\n"));
    s.consume(s.transmit().len());
    s.tls_established().unwrap();
    assert_eq!(s.poll_event(), None, "the injected LOGIN must be gone");
    s.feed(b"c CAPABILITY\r\n");
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(
        out.contains("AUTH=PLAIN") && !out.contains("STARTTLS") && !out.contains("LOGINDISABLED")
    );
}

#[test]
fn login_select_fetch_rfc9051_style() {
    let out = run(&format!(
        "{LOGIN}a1 SELECT INBOX\r\na2 FETCH 2:4 (FLAGS RFC822.SIZE)\r\na3 UID FETCH 30 (FLAGS)\r\na4 LOGOUT\r\n"
    ));
    let sel = lines_after(&out, "* FLAGS");
    assert!(sel.starts_with(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 5 EXISTS\r\n* 0 RECENT\r\n\
         * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted\r\n\
         * OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 60] Predicted next UID\r\n\
         a1 OK [READ-WRITE] SELECT completed\r\n\
         * 2 FETCH (FLAGS (\\Seen) RFC822.SIZE 200)\r\n* 3 FETCH (FLAGS () RFC822.SIZE 300)\r\n\
         * 4 FETCH (FLAGS (\\Seen) RFC822.SIZE 400)\r\na2 OK FETCH completed\r\n\
         * 3 FETCH (UID 30 FLAGS ())\r\na3 OK UID FETCH completed\r\n\
         * BYE Logging out\r\na4 OK LOGOUT completed\r\n"
    ), "{sel}");
}

#[test]
fn wrong_password_then_bye_after_limit() {
    let out = run("a LOGIN u x\r\nb LOGIN u y\r\nc LOGIN u z\r\nd NOOP\r\n");
    assert_eq!(out.matches("NO [AUTHENTICATIONFAILED]").count(), 3);
    assert!(
        out.ends_with("* BYE Too many authentication failures\r\n"),
        "{out}"
    );
}

#[test]
fn authenticate_plain_with_and_without_sasl_ir() {
    // "\0alice\0secret"
    let out = run("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(out.contains("a OK [CAPABILITY"), "{out}");
    let out = run("a AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n");
    assert!(out.contains("\r\n+ \r\na OK [CAPABILITY"), "{out}");
    let out = run("a AUTHENTICATE PLAIN\r\n*\r\n");
    assert!(out.contains("a BAD Authentication cancelled"), "{out}");
    let out = run("a AUTHENTICATE PLAIN\r\n!!!\r\n");
    assert!(out.contains("a BAD Invalid base64"), "{out}");
    let out = run("a AUTHENTICATE CRAM-MD5\r\n");
    assert!(out.contains("a NO [CANNOT]"), "{out}");
}

#[test]
fn authenticate_login_mechanism() {
    // alice / secret
    let out = run("a AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n");
    assert!(
        out.contains("+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\na OK [CAPABILITY"),
        "{out}"
    );
}

#[test]
fn commands_in_wrong_state_are_bad() {
    let out = run("a SELECT INBOX\r\nb FETCH 1 FLAGS\r\n");
    assert!(out.contains("a BAD Command not allowed in this state"));
    assert!(out.contains("b BAD Command not allowed in this state"));
    let out = run(&format!("{LOGIN}b FETCH 1 FLAGS\r\nc EXPUNGE\r\n"));
    assert!(out.contains("b BAD Command not allowed") && out.contains("c BAD Command not allowed"));
}

#[test]
fn literal_login_and_continuations() {
    let out = run("a LOGIN {20}\r\nalice@example.edu.cn {6}\r\nsecret\r\n");
    assert_eq!(out.matches("+ Ready for literal data\r\n").count(), 2);
    assert!(out.contains("a OK [CAPABILITY"));
    // LITERAL+: no continuation
    let out = run("a LOGIN {20+}\r\nalice@example.edu.cn {6+}\r\nsecret\r\n");
    assert_eq!(out.matches("+ Ready").count(), 0);
    assert!(out.contains("a OK [CAPABILITY"));
}

#[test]
fn oversize_literals_and_lines() {
    let cfg = Config {
        tls: true,
        max_line_length: 100,
        max_literal_size: 10,
        ..Config::default()
    };
    let (out, _) = run_chunked(cfg.clone(), b"a LOGIN {11}\r\nb NOOP\r\n", usize::MAX);
    assert!(
        out.contains("a BAD [TOOBIG] Literal too large\r\nb OK NOOP completed"),
        "{out}"
    );
    // non-synchronizing: the data is skipped, then the rest of the command
    let (out, _) = run_chunked(
        cfg.clone(),
        b"a LOGIN {11+}\r\nhello world x\r\nb NOOP\r\n",
        usize::MAX,
    );
    assert!(
        out.contains("a BAD [TOOBIG] Literal too large\r\nb OK NOOP completed"),
        "{out}"
    );
    let long = format!("a NOOP {}\r\nb NOOP\r\n", "x".repeat(500));
    for chunk in [1, 7, 64, 1000] {
        let (out, _) = run_chunked(cfg.clone(), long.as_bytes(), chunk);
        assert!(
            out.contains("a BAD [TOOBIG] Command line too long\r\nb OK NOOP completed"),
            "{chunk}: {out}"
        );
    }
}

#[test]
fn pipelining_limit_gives_bye() {
    let cfg = Config {
        tls: true,
        max_pipelined: 3,
        ..Config::default()
    };
    let mut s = Server::new(cfg);
    s.feed(b"a LOGIN alice secret\r\nb NOOP\r\nc NOOP\r\nd NOOP\r\ne NOOP\r\n");
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(
        out.contains("* BYE [LIMIT] Too many pipelined commands"),
        "{out}"
    );
    assert!(s.is_closed());
}

/// The lines of a pipelined APPEND message (LITERAL+) are message data, not commands: a
/// many-line message sent while another command is being answered does not trip the
/// pipelining limit (mbsync pipelines APPENDs this way), while as many real commands do.
#[test]
fn pipelined_append_lines_are_not_commands() {
    let cfg = Config {
        tls: true,
        max_pipelined: 3,
        ..Config::default()
    };
    let body: String = (0..200).map(|i| format!("line {i}\r\n")).collect();
    let input = format!(
        "a LOGIN alice secret\r\nb APPEND INBOX {{{}+}}\r\n{body}\r\nc NOOP\r\n",
        body.len()
    );
    let mut s = Server::new(cfg.clone());
    s.feed(input.as_bytes());
    // LOGIN is pending (not answered yet) and the APPEND waits behind it.
    assert!(!s.is_closed(), "{}", String::from_utf8_lossy(s.transmit()));
    let mut h = common::Host::default();
    h.drive(&mut s);
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(!out.contains("BYE"), "{out}");
    assert!(
        out.contains("b OK [APPENDUID") && out.contains("c OK NOOP"),
        "{out}"
    );
    assert_eq!(h.appended, vec![body.clone().into_bytes()]);

    // The same number of lines as real commands is refused.
    let mut s = Server::new(cfg);
    s.feed(format!("a LOGIN alice secret\r\n{}", "x NOOP\r\n".repeat(200)).as_bytes());
    assert!(s.is_closed());
}

#[test]
fn too_many_bad_commands() {
    let input = "x\r\n".repeat(25);
    let out = run(&input);
    assert!(out.contains("* BYE Too many invalid commands"));
    assert_eq!(out.matches("* BAD Missing or invalid tag").count(), 20);
}

#[test]
fn append_streams_and_multiappend() {
    let msg = "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n";
    let input = format!(
        "{LOGIN}a APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {{{}}}\r\n{msg}\r\nb NOOP\r\n",
        msg.len()
    );
    for chunk in [1, 3, 17, 512] {
        let (out, host) = run_chunked(config(), input.as_bytes(), chunk);
        assert!(out.contains("+ Ready for literal data\r\na OK [APPENDUID 38505 60] APPEND completed\r\nb OK NOOP"), "{out}");
        assert_eq!(host.appended, vec![msg.as_bytes().to_vec()]);
    }
    let input = format!("{LOGIN}a APPEND INBOX {{3+}}\r\nabc {{2+}}\r\nde\r\n");
    let (out, host) = run_chunked(config(), input.as_bytes(), 1);
    assert!(
        out.contains("a OK [APPENDUID 38505 60] APPEND completed"),
        "{out}"
    );
    assert_eq!(
        host.appended,
        vec![b"abcde".to_vec()],
        "both messages streamed in order"
    );
}

#[test]
fn append_rejected_and_too_big() {
    let out = run(&format!("{LOGIN}a APPEND Nope {{3}}\r\nb NOOP\r\n"));
    assert!(
        out.contains("a NO [TRYCREATE] No such mailbox\r\nb OK NOOP"),
        "{out}"
    );
    let out = run(&format!("{LOGIN}a APPEND Nope {{3+}}\r\nabc\r\nb NOOP\r\n"));
    assert!(
        out.contains("a NO [TRYCREATE] No such mailbox\r\nb OK NOOP"),
        "{out}"
    );
    let cfg = Config {
        tls: true,
        max_append_size: 5,
        ..Config::default()
    };
    let (out, _) = run_chunked(
        cfg,
        format!("{LOGIN}a APPEND INBOX {{6+}}\r\nabcdef\r\nb NOOP\r\n").as_bytes(),
        2,
    );
    assert!(
        out.contains("a NO [TOOBIG] Message too large\r\nb OK NOOP"),
        "{out}"
    );
    let out = run(&format!(
        "{LOGIN}a APPEND INBOX {{3+}}\r\nabc junk\r\nb NOOP\r\n"
    ));
    assert!(
        out.contains("a BAD Invalid APPEND arguments after message\r\nb OK NOOP"),
        "{out}"
    );
}

#[test]
fn expunge_renumbers_and_is_deferred_during_fetch() {
    let mut s = Server::new(config());
    let mut h = common::Host::default();
    s.feed(format!("{LOGIN}a SELECT INBOX\r\n").as_bytes());
    h.drive(&mut s);
    s.consume(s.transmit().len());
    // Another session expunged UIDs 20 and 40; a FETCH by number must not see EXPUNGE.
    s.message_expunged(20).unwrap();
    s.message_expunged(40).unwrap();
    s.feed(b"b FETCH 1:* (FLAGS)\r\n");
    let Some(Event::Fetch { uids, .. }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(uids, vec![10, 20, 30, 40, 50]);
    s.ok().unwrap();
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(!out.contains("EXPUNGE"), "{out}");
    s.consume(s.transmit().len());
    s.feed(b"c NOOP\r\n");
    assert_eq!(s.poll_event(), Some(Event::Poll));
    s.ok().unwrap();
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    // Highest first: 4 then 2; both numbers valid at the time they are read.
    assert_eq!(out, "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nc OK NOOP completed\r\n");
    assert_eq!(s.selected_uids(), &[10, 30, 50]);
}

#[test]
fn new_messages_exists_and_flags_updates() {
    let mut s = Server::new(config());
    let mut h = common::Host::default();
    s.feed(format!("{LOGIN}a SELECT INBOX\r\n").as_bytes());
    h.drive(&mut s);
    s.consume(s.transmit().len());
    assert!(s.new_messages(&[50]).is_err(), "must be above the last UID");
    s.new_messages(&[61, 62]).unwrap();
    s.flags_changed(10, &[Flag::Flagged], None).unwrap();
    s.feed(b"b NOOP\r\n");
    h.drive(&mut s);
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert_eq!(
        out,
        "* 7 EXISTS\r\n* 1 FETCH (FLAGS (\\Flagged) UID 10)\r\nb OK NOOP completed\r\n"
    );
}

#[test]
fn idle_pushes_updates_at_once() {
    let mut s = Server::new(config());
    let mut h = common::Host::default();
    s.feed(format!("{LOGIN}a SELECT INBOX\r\nb IDLE\r\n").as_bytes());
    h.drive(&mut s);
    s.consume(s.transmit().len());
    s.new_messages(&[61]).unwrap();
    s.message_expunged(10).unwrap();
    assert_eq!(
        String::from_utf8_lossy(s.transmit()),
        "* 6 EXISTS\r\n* 1 EXPUNGE\r\n"
    );
    s.consume(s.transmit().len());
    s.feed(b"DONE\r\n");
    assert_eq!(s.poll_event(), Some(Event::IdleDone));
    assert_eq!(
        String::from_utf8_lossy(s.transmit()),
        "b OK IDLE terminated\r\n"
    );
}

#[test]
fn store_search_copy_move() {
    let out = run(&format!(
        "{LOGIN}a SELECT INBOX\r\nb STORE 1 +FLAGS (\\Deleted)\r\nc STORE 2 -FLAGS.SILENT (\\Seen)\r\n\
         d SEARCH UNSEEN\r\ne UID SEARCH RETURN (MIN MAX COUNT) UNSEEN\r\nf UID COPY 10:30 Trash\r\n\
         g MOVE 1 Trash\r\nh SEARCH 2:3 SEEN\r\n"
    ));
    let t = lines_after(&out, "* 1 FETCH");
    assert!(
        t.starts_with(
            "* 1 FETCH (FLAGS (\\Deleted))\r\nb OK STORE completed\r\nc OK STORE completed\r\n\
         * SEARCH 1 2 3 5\r\nd OK SEARCH completed\r\n\
         * ESEARCH (TAG \"e\") UID MIN 10 MAX 50 COUNT 4\r\ne OK UID SEARCH completed\r\n\
         f OK [COPYUID 99 10,20,30 1000:1002] UID COPY completed\r\n\
         * OK [COPYUID 99 10 2000] Moved\r\n* 1 EXPUNGE\r\ng OK MOVE completed\r\n\
         * SEARCH 3\r\nh OK SEARCH completed\r\n"
        ),
        "{t}"
    );
}

#[test]
fn expunge_command_and_qresync_vanished() {
    let out = run(&format!(
        "{LOGIN}a SELECT INBOX\r\nb STORE 2,4 +FLAGS.SILENT (\\Deleted)\r\nc EXPUNGE\r\n"
    ));
    assert!(
        out.contains("* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nc OK EXPUNGE completed"),
        "{out}"
    );
    let out = run(&format!(
        "{LOGIN}e ENABLE QRESYNC\r\na SELECT INBOX\r\nb STORE 2,4 +FLAGS.SILENT (\\Deleted)\r\nc EXPUNGE\r\n"
    ));
    assert!(out.contains("* ENABLED QRESYNC\r\n"));
    assert!(out.contains("* OK [HIGHESTMODSEQ 100] Highest\r\n"));
    assert!(
        out.contains("* 2 FETCH (UID 20 MODSEQ (101))\r\n"),
        ".SILENT still reports MODSEQ: {out}"
    );
    assert!(
        out.contains("* VANISHED 20,40\r\nc OK EXPUNGE completed"),
        "{out}"
    );
}

#[test]
fn read_only_examine_refuses_changes() {
    let out = run(&format!(
        "{LOGIN}a EXAMINE INBOX\r\nb STORE 1 +FLAGS (\\Seen)\r\nc EXPUNGE\r\n"
    ));
    assert!(out.contains("* OK [PERMANENTFLAGS ()] Flags permitted"));
    assert!(out.contains("a OK [READ-ONLY] EXAMINE completed"));
    assert!(out.contains("b NO [CANNOT] Mailbox is read-only"));
    assert!(out.contains("c NO [CANNOT] Mailbox is read-only"));
}

#[test]
fn list_namespace_status_and_utf8() {
    let out = run(&format!(
        "{LOGIN}a LIST \"\" \"\"\r\nb LIST \"\" *\r\nc NAMESPACE\r\nd STATUS &XfJT0ZAB- (MESSAGES UNSEEN)\r\n\
         e ENABLE UTF8=ACCEPT\r\nf LIST \"\" *\r\n"
    ));
    assert!(out.contains("* LIST (\\Noselect) \"/\" \"\"\r\na OK LIST completed"));
    assert!(
        out.contains("* LIST (\\Sent \\HasNoChildren) \"/\" &XfJT0ZAB-\r\n"),
        "{out}"
    );
    assert!(out.contains("* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL\r\n"));
    assert!(
        out.contains("* STATUS &XfJT0ZAB- (MESSAGES 5 UNSEEN 5)\r\n"),
        "{out}"
    );
    assert!(
        out.contains("* LIST (\\Sent \\HasNoChildren) \"/\" \"已发送\"\r\n"),
        "{out}"
    );
}

#[test]
fn acl_quota_id() {
    let out = run(&format!(
        "{LOGIN}a GETACL INBOX\r\nb MYRIGHTS INBOX\r\nc LISTRIGHTS INBOX bob\r\nd GETQUOTAROOT INBOX\r\n\
         e GETQUOTA \"\"\r\nf ID (\"name\" \"Foxmail\")\r\n"
    ));
    assert!(
        out.contains("* ACL INBOX alice@example.edu.cn lrswipkxtecda\r\na OK GETACL completed")
    );
    assert!(out.contains("* MYRIGHTS INBOX lrs\r\n"));
    assert!(out.contains("* LISTRIGHTS INBOX bob \"\" l r\r\n"), "{out}");
    assert!(out.contains("* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 10 512)\r\nd OK"));
    assert!(out.contains("* ID (\"name\" \"imap-core\")\r\nf OK ID completed"));
}

#[test]
fn answers_in_wrong_state_are_errors() {
    let mut s = Server::new(config());
    assert!(s.ok().is_err());
    assert!(s.select_ok(SelectInfo::default()).is_err());
    assert!(s.fetch_item(1, &[]).is_err());
    assert!(s.new_messages(&[1]).is_err());
    assert!(s.tls_established().is_err());
    s.feed(LOGIN.as_bytes());
    assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
    assert!(s.ok().is_err(), "LOGIN needs auth_accept/auth_reject");
    assert!(s.append_accept().is_err());
    s.auth_accept().unwrap();
    s.feed(b"a SELECT INBOX\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Select { .. })));
    let bad = SelectInfo {
        uids: vec![5, 3],
        uid_validity: 1,
        uid_next: 9,
        ..SelectInfo::default()
    };
    assert!(s.select_ok(bad).is_err(), "UIDs must ascend");
    s.select_ok(SelectInfo {
        uids: vec![3, 5],
        uid_validity: 1,
        uid_next: 9,
        ..SelectInfo::default()
    })
    .unwrap();
    s.feed(b"b FETCH 1 FLAGS\r\n");
    assert!(matches!(s.poll_event(), Some(Event::Fetch { .. })));
    assert_eq!(s.fetch_item(4, &[]), Err(imap_core::Error::InvalidUid(4)));
    s.fetch_item(
        3,
        &[imap_core::syntax::FetchItem::Flags(vec![FlagFetch::Recent])],
    )
    .unwrap();
    s.ok().unwrap();
    assert!(s.search_result(&[], None).is_err());
}

#[test]
fn sequence_numbers_out_of_range_are_bad() {
    let out = run(&format!(
        "{LOGIN}a SELECT INBOX\r\nb FETCH 6 FLAGS\r\nc FETCH 5:* FLAGS\r\n"
    ));
    assert!(out.contains("b BAD Invalid message sequence number"));
    assert!(out.contains("c OK FETCH completed"));
}

#[test]
fn timeouts_send_bye() {
    use std::time::{Duration, Instant};
    let mut s = Server::new(config());
    assert_eq!(s.poll_timeout(), None);
    let t0 = Instant::now();
    s.handle_timeout(t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    s.handle_timeout(t0 + Duration::from_secs(30));
    assert!(!s.is_closed());
    s.handle_timeout(t0 + Duration::from_secs(61));
    assert!(s.is_closed());
    assert!(
        String::from_utf8_lossy(s.transmit()).ends_with("* BYE Autologout; idle for too long\r\n")
    );
    assert_eq!(s.poll_event(), Some(Event::Logout));
}

#[test]
fn secrets_are_redacted_in_events() {
    let mut s = Server::new(config());
    s.feed(b"a LOGIN alice hunter2\r\n");
    let ev = s.poll_event().unwrap();
    let dbg = format!("{ev:?}");
    assert!(!dbg.contains("hunter2") && dbg.contains("<redacted>"));
}

#[test]
fn literal_plus_append_while_host_decides_is_not_pipelining() {
    // 200 lines of message body arrive before the host accepted the message.
    let body = "line\r\n".repeat(200);
    let mut s = Server::new(config());
    s.feed(LOGIN.as_bytes());
    assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
    s.auth_accept().unwrap();
    s.feed(format!("a APPEND INBOX {{{}+}}\r\n{body}\r\n", body.len()).as_bytes());
    assert!(!s.is_closed());
    assert!(matches!(
        s.poll_event(),
        Some(Event::AppendStart { size: 1200, .. })
    ));
    s.append_accept().unwrap();
    let mut got = Vec::new();
    loop {
        match s.poll_event() {
            Some(Event::AppendData(c)) => got.extend_from_slice(&c),
            Some(Event::AppendComplete) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, body.as_bytes());
    s.append_ok(1, &[7]).unwrap();
    assert!(
        String::from_utf8_lossy(s.transmit())
            .ends_with("a OK [APPENDUID 1 7] APPEND completed\r\n")
    );
}

#[test]
fn literal_total_per_command_is_bounded() {
    let cfg = Config {
        tls: true,
        max_literal_size: 10,
        ..Config::default()
    };
    // Each literal is small, together they exceed the limit.
    let input = b"a LOGIN {6+}\r\nabcdef {6+}\r\nghijkl\r\nb NOOP\r\n";
    for chunk in [1, 5, 100] {
        let (out, _) = run_chunked(cfg.clone(), input, chunk);
        assert!(
            out.contains("a BAD [TOOBIG] Literal too large\r\nb OK NOOP completed"),
            "{out}"
        );
    }
}

#[test]
fn nothing_is_read_after_the_last_failed_login() {
    let mut s = Server::new(config());
    s.feed(b"a LOGIN u x\r\nb LOGIN u y\r\nc LOGIN u z\r\nd LOGIN alice secret\r\n");
    for _ in 0..3 {
        assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
        s.auth_reject(None, "Invalid credentials").unwrap();
    }
    assert_eq!(
        s.poll_event(),
        Some(Event::Logout),
        "the fourth LOGIN must not be read"
    );
    assert_eq!(s.poll_event(), None);
    assert!(s.auth_accept().is_err());
}

#[test]
fn bye_drops_unanswerable_events() {
    let cfg = Config {
        tls: true,
        max_pipelined: 1,
        ..Config::default()
    };
    let mut s = Server::new(cfg);
    s.feed(b"a LOGIN alice secret\r\nb NOOP\r\nc NOOP\r\n");
    // The LOGIN event was queued, then the pipelining limit closed the session.
    assert!(s.is_closed());
    assert_eq!(s.poll_event(), Some(Event::Logout));
    assert_eq!(s.poll_event(), None);
    assert!(matches!(
        s.auth_accept(),
        Err(imap_core::Error::WrongState { .. })
    ));
}

#[test]
fn preauth_and_imap4rev2_mode() {
    let mut s = Server::new_preauth(config());
    let greeting = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(
        greeting.starts_with("* PREAUTH [CAPABILITY IMAP4rev1 IMAP4rev2"),
        "{greeting}"
    );
    assert!(!greeting.contains("AUTH=") && !greeting.contains("STARTTLS"));
    s.consume(greeting.len());
    let mut h = common::Host::default();
    s.feed(b"a ENABLE IMAP4rev2\r\nb SELECT INBOX\r\nc SEARCH UNSEEN\r\nd LOGIN u p\r\n");
    h.drive(&mut s);
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(
        out.starts_with("* ENABLED IMAP4rev2\r\na OK ENABLE completed\r\n"),
        "{out}"
    );
    assert!(
        !out.contains("RECENT"),
        "no RECENT in IMAP4rev2 mode: {out}"
    );
    assert!(
        out.contains("* ESEARCH (TAG \"c\") ALL 1,3,5\r\nc OK SEARCH completed"),
        "{out}"
    );
    assert!(out.contains("d BAD Command not allowed in this state"));
}

#[test]
fn alerts_any_time_but_not_after_close() {
    let mut s = Server::new(config());
    s.consume(s.transmit().len());
    s.alert("Mailbox 95% full\r\n* injected").unwrap();
    assert_eq!(
        String::from_utf8_lossy(s.transmit()),
        "* OK [ALERT] Mailbox 95% full  * injected\r\n"
    );
    s.bye("shutting down");
    assert!(s.alert("x").is_err());
}

#[test]
fn select_answered_read_only_behaves_like_examine() {
    let mut s = Server::new(config());
    s.feed(
        format!("{LOGIN}a SELECT shared\r\nb STORE 1 +FLAGS (\\Seen)\r\nc EXPUNGE\r\n").as_bytes(),
    );
    assert!(matches!(s.poll_event(), Some(Event::Login { .. })));
    s.auth_accept().unwrap();
    match s.poll_event() {
        Some(Event::Select { read_only, .. }) => assert!(!read_only, "the client asked for SELECT"),
        other => panic!("expected Select, got {other:?}"),
    }
    s.select_ok_read_only(SelectInfo {
        flags: vec![Flag::Seen, Flag::Deleted],
        uids: vec![7],
        uid_validity: 3,
        uid_next: 8,
        ..SelectInfo::default()
    })
    .unwrap();
    // The session refuses the changes itself: no Store or Expunge event reaches the host.
    while let Some(ev) = s.poll_event() {
        assert!(
            !matches!(ev, Event::Store { .. } | Event::Expunge { .. }),
            "a read-only mailbox must not produce {ev:?}"
        );
    }
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(out.contains("* OK [PERMANENTFLAGS ()]"), "{out}");
    assert!(out.contains("a OK [READ-ONLY]"), "{out}");
    assert!(lines_after(&out, "\r\nb ").starts_with("\r\nb NO"), "{out}");
    assert!(lines_after(&out, "\r\nc ").starts_with("\r\nc NO"), "{out}");
}

/// SEARCH CHARSET GB2312 (as Chinese clients send it, in a literal or in a quoted string with
/// 8-bit bytes): the host gets the criteria decoded to UTF-8; an unknown charset is answered
/// NO [BADCHARSET (...)] listing what works; bytes that are not GB2312 are a syntax error.
#[test]
fn search_charset_gb2312_reaches_the_host_as_utf8() {
    let gb = b"\xbb\xe1\xd2\xe9"; // "会议" in GB2312
    let mut s = Server::new_preauth(config());
    let mut h = common::Host::default();
    let mut input = b"a SELECT INBOX\r\nb SEARCH CHARSET GB2312 SUBJECT {4+}\r\n".to_vec();
    input.extend_from_slice(gb);
    input.extend_from_slice(b" UNSEEN\r\nc UID SEARCH CHARSET gbk OR FROM \"");
    input.extend_from_slice(gb);
    input.extend_from_slice(b"\" TO x\r\nd SEARCH CHARSET X-MARTIAN SUBJECT x\r\n");
    input.extend_from_slice(b"e SEARCH CHARSET GB2312 SUBJECT \"\xbb\"\r\n");
    input.extend_from_slice(b"f SEARCH CHARSET UTF-8 SUBJECT \"\xbb\xe1\"\r\n");
    for chunk in [1, 3, 512] {
        let mut s2 = Server::new_preauth(config());
        let mut h2 = common::Host::default();
        for piece in input.chunks(chunk) {
            s2.feed(piece);
            h2.drive(&mut s2);
        }
        let searches: Vec<&String> = h2.events.iter().filter(|e| e.contains("Search")).collect();
        assert_eq!(searches.len(), 2, "{chunk}: {searches:?}");
        assert!(searches[0].contains("Subject(\"会议\")"), "{}", searches[0]);
        assert!(searches[1].contains("From(\"会议\")"), "{}", searches[1]);
    }
    s.feed(&input);
    h.drive(&mut s);
    let out = String::from_utf8_lossy(s.transmit()).into_owned();
    assert!(out.contains("b OK") && out.contains("c OK"), "{out}");
    assert!(
        out.contains("d NO [BADCHARSET (UTF-8 US-ASCII GB2312 GBK GB18030"),
        "{out}"
    );
    assert!(out.contains("e BAD"), "a lone GB2312 lead byte: {out}");
    assert!(
        out.contains("f BAD"),
        "not UTF-8 under CHARSET UTF-8: {out}"
    );
}
