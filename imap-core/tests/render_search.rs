//! SEARCH predicates on the corpus: UTF-8 needles find GB2312 / GBK / GB18030 / UTF-8 text in
//! encoded-word headers, raw 8-bit headers and transfer-encoded bodies, case-insensitively.

use imap_core::render::MessageView;

fn load(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/render/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn subjects_in_every_chinese_charset() {
    let cases = [
        ("corpus/01-gb2312-notice.eml", "期末考试", "期中考试"),
        ("corpus/02-gbk-lecture.eml", "镕基楼", "讲座取消"),
        // U+20000 is outside GBK: only GB18030 four-byte sequences encode it.
        ("corpus/03-gb18030.eml", "表格𠀀", "表格𠀁"),
        (
            "corpus/04-utf8-alternative.eml",
            "会议纪要 2023",
            "会议纪要 2024",
        ),
        ("corpus/05-attachment-rfc2231.eml", "粤01民初123号", "粤02"),
        ("corpus/06-attachment-rfc2047-name.eml", "成绩单", "成绩表"),
        ("corpus/07-forwarded-rfc822.eml", "fw: 原始", "原始邮件正文"),
        ("raw-gbk-header.eml", "（第二版）", "（第三版）"),
    ];
    for (file, hit, miss) in cases {
        let raw = load(file);
        let v = MessageView::parse(&raw);
        assert!(v.header_contains("Subject", hit), "{file}: {hit}");
        assert!(v.header_contains("SUBJECT", hit), "{file}: {hit}");
        assert!(!v.header_contains("subject", miss), "{file}: {miss}");
        assert!(v.text_contains(hit), "{file}: TEXT {hit}");
        let decoded = v.decoded_header("subject").unwrap();
        assert!(
            decoded.contains(hit.trim_start_matches("fw: ")),
            "{file}: {decoded}"
        );
    }
}

#[test]
fn address_headers_match_names_and_addresses() {
    let raw = load("corpus/01-gb2312-notice.eml");
    let v = MessageView::parse(&raw);
    assert!(v.header_contains("From", "王老师"));
    assert!(v.header_contains("From", "WANG@School.TEST"));
    assert!(v.header_contains("To", "李同学"));
    assert!(!v.header_contains("To", "王老师"));
    assert!(!v.header_contains("Cc", ""), "no Cc header");
    assert!(
        v.header_contains("To", ""),
        "empty needle matches a present header"
    );
    assert!(v.header_contains("X-Mailer", "coremail"));

    let raw = load("raw-gbk-header.eml");
    let v = MessageView::parse(&raw);
    assert!(v.header_contains("From", "王老师"));
    assert!(v.header_contains("To", "李同学"));
    assert_eq!(
        v.decoded_header("From").unwrap(),
        "王老师 <wang@school.test>"
    );

    let raw = load("corpus/10-on-behalf.eml");
    let v = MessageView::parse(&raw);
    assert!(v.header_contains("From", "学院办公室"));
    assert!(v.header_contains("Sender", "王老师"));
    assert!(!v.header_contains("From", "王老师"));
}

#[test]
fn bodies_are_decoded_from_their_charset_and_encoding() {
    let cases = [
        ("corpus/01-gb2312-notice.eml", "主楼举行", "图书馆"),
        ("corpus/02-gbk-lecture.eml", "镕基楼报告厅", "礼堂"),
        ("corpus/03-gb18030.eml", "周三前填好。𠀀", "周四"),
        ("corpus/04-utf8-alternative.eml", "预算", "决算"),
        (
            "corpus/05-attachment-rfc2231.eml",
            "请查收附件中的公文",
            "判决书正文",
        ),
        (
            "corpus/06-attachment-rfc2047-name.eml",
            "成绩单见附件",
            "成绩单见正文",
        ),
        ("corpus/07-forwarded-rfc822.eml", "原始邮件正文", "转发给他"),
        ("corpus/08-nested-related.eml", "见图", "见表"),
        ("corpus/09-bulk-notice.eml", "全体教职工", "全体学生"),
        ("corpus/10-on-behalf.eml", "代表办公室回复", "代表学院"),
        // Declared us-ascii, really UTF-8.
        (
            "corpus/11-mislabelled-8bit.eml",
            "头部声明的是 US-ASCII",
            "正文是 7bit",
        ),
        ("corpus/12-ascii.eml", "MAINTENANCE on saturday", "sunday"),
        ("raw-gbk-header.eml", "准时参加考试", "推迟"),
        (
            "encoded-rfc822-and-qp.eml",
            "课表 softbreak",
            "课表 soft break",
        ),
    ];
    for (file, hit, miss) in cases {
        let raw = load(file);
        let v = MessageView::parse(&raw);
        assert!(v.body_contains(hit), "{file}: BODY {hit}");
        assert!(v.text_contains(hit), "{file}: TEXT {hit}");
        assert!(!v.body_contains(miss), "{file}: BODY {miss}");
        assert!(!v.text_contains(miss), "{file}: TEXT {miss}");
    }
}

#[test]
fn body_search_skips_headers_and_binary_attachments() {
    let raw = load("corpus/01-gb2312-notice.eml");
    let v = MessageView::parse(&raw);
    // In the subject, not in the body.
    assert!(!v.body_contains("关于期末考试安排的通知"));
    assert!(v.text_contains("关于期末考试安排的通知"));
    // The base64 text of the body is not searched as such.
    assert!(!v.body_contains("uPfOu82s0aej"));

    // The .csv attachment "a,b\n1,2" is application/octet-stream: not text.
    let raw = load("corpus/08-nested-related.eml");
    let v = MessageView::parse(&raw);
    assert!(!v.body_contains("a,b"));
    // The forwarded message's own header is part of the outer body.
    let raw = load("corpus/07-forwarded-rfc822.eml");
    let v = MessageView::parse(&raw);
    assert!(v.body_contains("corpus-70@mail.school.test"));
    assert!(!v.body_contains("corpus-07@mail.school.test"));
}

#[test]
fn sent_dates() {
    let raw = load("corpus/01-gb2312-notice.eml");
    assert_eq!(MessageView::parse(&raw).sent_date(), Some((2023, 1, 9)));
    let raw = load("raw-gbk-header.eml");
    assert_eq!(MessageView::parse(&raw).sent_date(), Some((2023, 1, 10)));
    // The date in its own zone, not converted to UTC.
    let v = MessageView::parse(b"Date: Sun, 1 Jan 2023 01:30:00 +0900\r\n\r\nx");
    assert_eq!(v.sent_date(), Some((2023, 1, 1)));
    let v = MessageView::parse(b"Date: not a date\r\n\r\nx");
    assert_eq!(v.sent_date(), None);
    let v = MessageView::parse(b"Subject: none\r\n\r\nx");
    assert_eq!(v.sent_date(), None);
}

#[test]
fn html_character_references_and_utf8_labelled_gb2312() {
    // "中文" as numeric character references, and a tag splitting the words.
    let raw = b"Content-Type: text/html; charset=us-ascii\r\n\r\n<p>&#20013;&#25991; <b>bold</b>face</p>\r\n";
    let v = MessageView::parse(raw);
    assert!(v.body_contains("中文"));
    assert!(!v.body_contains("中文中"));
    // A body declared GB2312 that is really UTF-8.
    let mut raw = b"Content-Type: text/plain; charset=gb2312\r\n\r\n".to_vec();
    raw.extend_from_slice("通知：明天停电".as_bytes());
    let v = MessageView::parse(&raw);
    assert!(v.body_contains("明天停电"));
    assert!(!v.body_contains("后天停电"));
}

#[test]
fn split_encoded_word_subject() {
    // Some clients cut a long GBK subject inside a character when they fold it.
    let raw = b"Subject: =?GBK?B?1g==?=\r\n =?GBK?B?0M7E?=\r\n\r\nx";
    let v = MessageView::parse(raw);
    assert!(v.header_contains("subject", "中文"));
    assert_eq!(v.decoded_header("subject").unwrap(), "中文");
}
