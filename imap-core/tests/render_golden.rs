//! Golden tests: ENVELOPE, BODYSTRUCTURE and BODY of small messages compared with output
//! written by hand from RFC 9051 section 7.5.2 (sizes and line counts were counted on the raw
//! files: a body part ends before the line break that precedes its boundary delimiter, and its
//! line count is the number of line breaks in it).

use imap_core::render::MessageView;

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/render/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[track_caller]
fn assert_bytes(actual: &[u8], expected: &[u8]) {
    assert!(
        actual == expected,
        "\n  actual: {}\nexpected: {}",
        show(actual),
        show(expected)
    );
}

#[test]
fn ascii_single_part() {
    let raw = data("corpus/12-ascii.eml");
    let v = MessageView::parse(&raw);
    assert_bytes(
        &v.envelope(),
        b"(\"Mon, 09 Jan 2023 10:15:00 +0800\" \"Maintenance window\" \
          ((NIL NIL \"it\" \"school.test\")) ((NIL NIL \"it\" \"school.test\")) \
          ((NIL NIL \"it\" \"school.test\")) ((NIL NIL \"all\" \"school.test\")) \
          NIL NIL NIL \"<corpus-12@mail.school.test>\")",
    );
    // Body: "Hello,\r\n\r\nThe server ... Saturday.\r\n\r\n-- IT" = 71 octets, 4 line breaks.
    assert_bytes(
        &v.body_structure(true),
        b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 71 4 NIL NIL NIL NIL)",
    );
    assert_bytes(
        &v.body_structure(false),
        b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 71 4)",
    );
    assert_eq!(v.size(), 340);
}

#[test]
fn forwarded_message_rfc822() {
    let raw = data("corpus/07-forwarded-rfc822.eml");
    let v = MessageView::parse(&raw);
    let li = b"((\"=?UTF-8?B?5p2O5ZCM5a2m?=\" NIL \"li\" \"school.test\"))";
    let wang = b"((\"=?UTF-8?B?546L6ICB5biI?=\" NIL \"wang\" \"school.test\"))";
    let zhao = b"((\"=?UTF-8?B?6LW15Li75Lu7?=\" NIL \"zhao\" \"school.test\"))";

    let mut outer_env =
        b"(\"Mon, 09 Jan 2023 10:15:00 +0800\" \"=?UTF-8?B?Rnc6IOWOn+Wni+mCruS7tg==?=\" ".to_vec();
    for a in [&wang[..], &wang[..], &wang[..], &zhao[..]] {
        outer_env.extend_from_slice(a);
        outer_env.push(b' ');
    }
    outer_env.extend_from_slice(b"NIL NIL NIL \"<corpus-07@mail.school.test>\")");
    assert_bytes(&v.envelope(), &outer_env);

    // The encapsulated message: From/Sender/Reply-To are Li, To is Wang; encoded words as-is.
    let mut inner_env =
        b"(\"Mon, 09 Jan 2023 10:15:00 +0800\" \"=?UTF-8?B?5Y6f5aeL6YKu5Lu2?=\" ".to_vec();
    for a in [&li[..], &li[..], &li[..], &wang[..]] {
        inner_env.extend_from_slice(a);
        inner_env.push(b' ');
    }
    inner_env.extend_from_slice(b"NIL NIL NIL \"<corpus-70@mail.school.test>\")");

    // Part 1: "6L2s5Y+R57uZ5L2g55yL55yL44CC\r\n" = 30 octets, 1 line.
    // Part 2 body (the whole inner message) = 370 octets, 11 lines; its body is 30 octets, 1 line.
    let mut expected =
        b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"BASE64\" 30 1 NIL NIL NIL NIL)\
(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 370 "
            .to_vec();
    expected.extend_from_slice(&inner_env);
    expected.extend_from_slice(
        b" (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"BASE64\" 30 1 NIL NIL NIL NIL) 11 \
NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"===============6403662025721788424==\") NIL NIL NIL)",
    );
    assert_bytes(&v.body_structure(true), &expected);

    let mut expected = b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"BASE64\" 30 1)\
(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 370 "
        .to_vec();
    expected.extend_from_slice(&inner_env);
    expected.extend_from_slice(
        b" (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"BASE64\" 30 1) 11) \"MIXED\")",
    );
    assert_bytes(&v.body_structure(false), &expected);
}

#[test]
fn group_syntax_and_sender() {
    let raw = data("corpus/09-bulk-notice.eml");
    let v = MessageView::parse(&raw);
    assert_bytes(
        &v.envelope(),
        b"(\"Mon, 09 Jan 2023 10:15:00 +0800\" \"=?UTF-8?B?5YWo5L2T5pWZ6IGM5bel6YCa55+l?=\" \
((NIL NIL \"notice\" \"school.test\")) ((NIL NIL \"office\" \"school.test\")) \
((NIL NIL \"notice\" \"school.test\")) \
((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) \
NIL NIL NIL \"<corpus-09@mail.school.test>\")",
    );
}

#[test]
fn on_behalf_sender_differs_from_from() {
    let raw = data("corpus/10-on-behalf.eml");
    let v = MessageView::parse(&raw);
    let env = show(&v.envelope());
    assert!(env.contains(
        "((\"=?UTF-8?B?5a2m6Zmi5Yqe5YWs5a6k?=\" NIL \"office\" \"school.test\")) \
((\"=?UTF-8?B?546L6ICB5biI?=\" NIL \"wang\" \"school.test\")) \
((\"=?UTF-8?B?5a2m6Zmi5Yqe5YWs5a6k?=\" NIL \"office\" \"school.test\"))"
    ));
}

#[test]
fn raw_gbk_headers_are_literals() {
    let raw = data("raw-gbk-header.eml");
    let v = MessageView::parse(&raw);
    // Subject "期末考试安排（第二版）" in GBK: 22 octets; names 王老师 / 李同学: 6 octets each.
    let subject =
        b"\xc6\xda\xc4\xa9\xbf\xbc\xca\xd4\xb0\xb2\xc5\xc5\xa3\xa8\xb5\xda\xb6\xfe\xb0\xe6\xa3\xa9";
    let wang = b"(({6}\r\n\xcd\xf5\xc0\xcf\xca\xa6 NIL \"wang\" \"school.test\"))";
    let li = b"(({6}\r\n\xc0\xee\xcd\xac\xd1\xa7 NIL \"li\" \"school.test\"))";
    let mut expected = b"(\"Tue, 10 Jan 2023 08:00:00 +0800\" {22}\r\n".to_vec();
    expected.extend_from_slice(subject);
    for a in [&wang[..], &wang[..], &wang[..], &li[..]] {
        expected.push(b' ');
        expected.extend_from_slice(a);
    }
    expected.extend_from_slice(b" NIL NIL NIL \"<raw-gbk@school.test>\")");
    assert_bytes(&v.envelope(), &expected);
    // 12 GBK characters and CRLF: 26 octets, 1 line.
    assert_bytes(
        &v.body_structure(true),
        b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"GBK\") NIL NIL \"8BIT\" 26 1 NIL NIL NIL NIL)",
    );
}

#[test]
fn encoded_rfc822_qp_and_rfc2231_continuations() {
    let raw = data("encoded-rfc822-and-qp.eml");
    let v = MessageView::parse(&raw);
    // Part 1 (base64 message/rfc822, not an identity encoding) is opaque data: 32 octets.
    // Part 2: "=E8=AF=BE=E8=A1=A8 soft=\r\nbreak" = 31 octets, 1 line; filename*0*/1*/2 merged.
    assert_bytes(
        &v.body_structure(true),
        b"((\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 32 NIL NIL NIL NIL)\
(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 31 1 NIL \
(\"ATTACHMENT\" (\"FILENAME*\" \"utf-8''%E8%AF%BE%E8%A1%A8.txt\")) \"zh-CN\" NIL) \
\"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)",
    );
    assert_bytes(
        &v.binary_section(&[1]).unwrap(),
        b"Subject: hi\r\n\r\nhello\r\n",
    );
    assert_bytes(
        &v.binary_section(&[2]).unwrap(),
        "课表 softbreak".as_bytes(),
    );
    assert_eq!(v.binary_size(&[2]).unwrap(), 16);
}

#[test]
fn inline_edge_cases() {
    // No Content-Type: text/plain us-ascii; quoted name with escapes; empty subject; no date;
    // Reply-To present but empty falls back to From; Cc with a comment-only value is NIL.
    let raw = b"From: \"A \\\"B\\\" C\" <a@b.c>\r\nSubject:\r\nReply-To:\r\nCc: (nobody)\r\n\
Bcc: x@y, Team: ;\r\nIn-Reply-To: <p@q>\r\n\r\nhi\r\n";
    let v = MessageView::parse(raw);
    assert_bytes(
        &v.envelope(),
        b"(NIL \"\" ((\"A \\\"B\\\" C\" NIL \"a\" \"b.c\")) ((\"A \\\"B\\\" C\" NIL \"a\" \"b.c\")) \
((\"A \\\"B\\\" C\" NIL \"a\" \"b.c\")) NIL NIL \
((NIL NIL \"x\" \"y\")(NIL NIL \"Team\" NIL)(NIL NIL NIL NIL)) \"<p@q>\" NIL)",
    );
    assert_bytes(
        &v.body_structure(false),
        b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 1)",
    );

    // A folded subject with a line break in the middle is unfolded; a multipart with no
    // delimiter at all gets one empty text part so that the structure stays valid.
    let raw =
        b"Subject: a\r\n\tb\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n";
    let v = MessageView::parse(raw);
    assert!(show(&v.envelope()).starts_with("(NIL \"a\tb\" NIL NIL NIL"));
    assert_bytes(
        &v.body_structure(true),
        b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) \
\"MIXED\" (\"BOUNDARY\" \"zz\") NIL NIL NIL)",
    );
}

#[test]
fn every_body_field_and_extension() {
    // Multipart extension data (params, disposition, language, location) and every field of a
    // single part: id, a raw GBK description (literal), md5, disposition with an escaped
    // quoted filename, a language list, a location.
    // (Also in data/render/all-fields.eml, which the corpus test parses with imap-codec.)
    let raw = b"Content-Type: multipart/mixed; boundary=\"=_b\"; charset=x\r\n\
Content-Language: en\r\n\
Content-Location: http://x/\r\n\
\r\n\
--=_b\r\n\
Content-Type: text/plain; charset=gb2312; format=flowed\r\n\
Content-ID: <p1@x>\r\n\
Content-Description: \xb8\xbd\xbc\xfe\r\n\
Content-Transfer-Encoding: Quoted-Printable\r\n\
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
Content-Disposition: inline; filename=\"a \\\"b\\\".txt\"; size=3\r\n\
Content-Language: zh-CN, en\r\n\
Content-Location: part1.txt\r\n\
\r\n\
=D6=D0\r\n\
--=_b--\r\n";
    assert_eq!(&data("all-fields.eml")[..], &raw[..]);
    let v = MessageView::parse(raw);
    // Part 1 body is "=D6=D0": 6 octets, no line break.
    assert_bytes(
        &v.body_structure(true),
        b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"gb2312\" \"FORMAT\" \"flowed\") \"<p1@x>\" \
{4}\r\n\xb8\xbd\xbc\xfe \"QUOTED-PRINTABLE\" 6 0 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" \
(\"INLINE\" (\"FILENAME\" \"a \\\"b\\\".txt\" \"SIZE\" \"3\")) (\"zh-CN\" \"en\") \"part1.txt\") \
\"MIXED\" (\"BOUNDARY\" \"=_b\" \"CHARSET\" \"x\") NIL \"en\" \"http://x/\")",
    );
    assert_bytes(
        &v.body_structure(false),
        b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"gb2312\" \"FORMAT\" \"flowed\") \"<p1@x>\" \
{4}\r\n\xb8\xbd\xbc\xfe \"QUOTED-PRINTABLE\" 6 0) \"MIXED\")",
    );
    assert_bytes(&v.binary_section(&[1]).unwrap(), b"\xd6\xd0");
    assert!(v.body_contains("中"));
    // No header fields at all: every envelope field is NIL.
    assert_bytes(&v.envelope(), b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}
