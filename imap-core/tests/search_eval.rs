//! The SEARCH evaluator over one message: flag/UID/date/size keys, and the content keys that
//! go through render::MessageView (decoded, case-insensitive, Chinese text).

use imap_core::syntax::{
    Command, CommandBody, Date, Flag, SearchKey, SearchMessage, parse_command,
};

fn criteria(s: &str) -> SearchKey {
    match parse_command(format!("a SEARCH {s}\r\n").as_bytes(), true).unwrap() {
        Command {
            body: CommandBody::Search { criteria, .. },
            ..
        } => criteria,
        _ => unreachable!(),
    }
}

const RAW: &[u8] = "From: =?GB2312?B?1cXI/Q==?= <zhang@example.edu.cn>\r\n\
To: li@example.edu.cn\r\nCc: wang@example.edu.cn\r\n\
Subject: =?UTF-8?B?5Lya6K6u6YCa55+l?= Meeting\r\nDate: Tue, 2 Jan 2024 10:00:00 +0800\r\n\
X-Priority: 1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n明天上午十点开会 in Room 301.\r\n"
    .as_bytes();

fn msg<'a>(flags: &'a [Flag], raw: Option<&'a [u8]>) -> SearchMessage<'a> {
    SearchMessage {
        uid: 42,
        max_uid: 50,
        flags,
        recent: false,
        internal_date: Date::new(2024, 1, 3).unwrap(),
        size: 2048,
        modseq: 7,
        raw,
    }
}

#[test]
fn flags_dates_sizes_uids() {
    let flags = [Flag::Seen, Flag::Flagged];
    let m = msg(&flags, None);
    let yes = [
        "SEEN",
        "FLAGGED UNDELETED",
        "OR DELETED SEEN",
        "NOT ANSWERED",
        "LARGER 2000 SMALLER 3000",
        "SINCE 3-Jan-2024",
        "ON 3-Jan-2024",
        "BEFORE 4-Jan-2024",
        "UID 40:*",
        "UID 42",
        "MODSEQ 7",
        "ALL",
        "(SEEN (FLAGGED))",
        "OLD",
    ];
    for k in yes {
        assert!(criteria(k).matches(&m), "{k} should match");
    }
    let no = [
        "UNSEEN",
        "DELETED",
        "NOT SEEN",
        "LARGER 2048",
        "BEFORE 3-Jan-2024",
        "SINCE 4-Jan-2024",
        "UID 1:41",
        "MODSEQ 8",
        "KEYWORD $Junk",
        "NEW",
        "RECENT",
    ];
    for k in no {
        assert!(!criteria(k).matches(&m), "{k} should not match");
    }
    assert!(criteria("SUBJECT x").needs_content());
    assert!(criteria("OR SEEN SUBJECT x").needs_content());
    assert!(!criteria("OR SEEN UID 1:*").needs_content());
}

#[test]
fn message_number_sets_never_match_untranslated() {
    // The server translates them to UID sets before the host sees them.
    let m = msg(&[], None);
    assert!(!criteria("1:*").matches(&m));
}

#[test]
fn content_keys_use_the_decoded_message() {
    let m = msg(&[], Some(RAW));
    let yes = [
        "SUBJECT \"会议通知\"",
        "SUBJECT meeting",
        "FROM \"张三\"",
        "FROM ZHANG@EXAMPLE",
        "TO li@",
        "CC wang",
        "BODY \"十点\"",
        "BODY room",
        "TEXT \"开会\"",
        "TEXT \"张三\"",
        "HEADER X-Priority 1",
        "SENTON 2-Jan-2024",
        "SENTBEFORE 3-Jan-2024",
        "SENTSINCE 1-Jan-2024",
    ];
    for k in yes {
        assert!(criteria(k).matches(&m), "{k} should match");
    }
    let no = [
        "SUBJECT \"通知书\"",
        "FROM li@",
        "BODY \"下午\"",
        "SENTON 3-Jan-2024",
        "BCC anyone",
        "HEADER X-Missing a",
    ];
    for k in no {
        assert!(!criteria(k).matches(&m), "{k} should not match");
    }
    // Without the raw message, content keys cannot match.
    assert!(!criteria("SUBJECT meeting").matches(&msg(&[], None)));
}
