//! Every input fed in chunks of 1..=512 bytes gives the same output and the same events as
//! the input fed whole.

mod common;
use common::{Host, LOGIN, config, run_chunked};

fn script() -> String {
    let msg = "From: 张三 <zhang@example.edu.cn>\r\nSubject: =?GB2312?B?suLK1A==?=\r\n\r\n正文\r\n";
    format!(
        "x0 CAPABILITY\r\nx1 ID (\"name\" \"Foxmail\" \"version\" \"7.2\")\r\n{LOGIN}\
         a1 ENABLE CONDSTORE\r\na2 LIST \"\" \"*\"\r\na3 LIST (SUBSCRIBED) \"\" (\"*\" \"%\") RETURN (CHILDREN STATUS (MESSAGES))\r\n\
         a4 STATUS &XfJT0ZAB- (MESSAGES UIDNEXT)\r\na5 SELECT INBOX (CONDSTORE)\r\n\
         a6 FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)\r\na7 UID FETCH 20:40 (BODY.PEEK[HEADER.FIELDS (From Subject)])\r\n\
         a8 STORE 1:2 +FLAGS (\\Flagged)\r\na9 UID STORE 30 (UNCHANGEDSINCE 200) -FLAGS.SILENT (\\Seen)\r\n\
         b1 SEARCH CHARSET UTF-8 OR SEEN FLAGGED NOT DELETED\r\nb2 UID SEARCH RETURN (ALL COUNT) SINCE 1-Jan-2024 UID 1:*\r\n\
         b3 APPEND INBOX (\\Seen) {{{len}}}\r\n{msg}\r\nb4 APPEND INBOX {{3+}}\r\nabc {{2+}}\r\nde\r\n\
         b5 LOGIN {{5}}\r\nalice {{6}}\r\nsecret\r\nb6 NOOP\r\nb7 UID COPY 10:* Trash\r\nb8 MOVE 2 Archive\r\n\
         b9 STORE 1 +FLAGS (\\Deleted)\r\nc1 EXPUNGE\r\nc2 IDLE\r\nDONE\r\nc3 GETQUOTAROOT INBOX\r\nc4 GETACL INBOX\r\n\
         c5 NAMESPACE\r\nc6 bogus command\r\nc7 FETCH 99 FLAGS\r\nc8 UNSELECT\r\nc9 LOGOUT\r\n",
        len = msg.len()
    )
}

fn stable_events(h: &Host) -> Vec<String> {
    // AppendData chunk boundaries depend on the reads; everything else must not.
    h.events
        .iter()
        .filter(|e| !e.starts_with("AppendData"))
        .cloned()
        .collect()
}

#[test]
fn every_chunk_size_gives_the_same_session() {
    let input = script();
    let (whole, host) = run_chunked(config(), input.as_bytes(), usize::MAX);
    assert!(whole.contains("c9 OK LOGOUT completed"), "{whole}");
    assert!(whole.contains("b3 OK [APPENDUID"), "{whole}");
    assert!(whole.contains("c6 BAD Unknown command"));
    assert!(whole.contains("b5 BAD Command not allowed in this state"));
    assert_eq!(host.appended.len(), 2);
    let events = stable_events(&host);
    for chunk in 1..=512 {
        let (out, h) = run_chunked(config(), input.as_bytes(), chunk);
        assert_eq!(out, whole, "chunk size {chunk}");
        assert_eq!(stable_events(&h), events, "chunk size {chunk}");
        assert_eq!(h.appended, host.appended, "chunk size {chunk}");
    }
}

#[test]
fn every_chunk_size_with_literal_plus_and_bad_input() {
    let input = format!(
        "{LOGIN}a SELECT INBOX\r\nb FETCH 1 (BODY[]<0.10>)\r\n\0\x7f garbage\r\nc SEARCH {{5+}}\r\nHELLO\r\n\
         d NOOP {}\r\ne NOOP\r\n",
        "y".repeat(2000)
    );
    let (whole, _) = run_chunked(config(), input.as_bytes(), usize::MAX);
    assert!(whole.contains("e OK NOOP completed"), "{whole}");
    for chunk in 1..=512 {
        let (out, _) = run_chunked(config(), input.as_bytes(), chunk);
        assert_eq!(out, whole, "chunk size {chunk}");
    }
}

#[test]
#[ignore = "prints the session for inspection"]
fn print_session() {
    let (whole, _) = run_chunked(config(), script().as_bytes(), usize::MAX);
    println!("{whole}");
}
