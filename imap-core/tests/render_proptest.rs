//! Property tests: rendering takes untrusted input.
//!
//! - Arbitrary bytes never panic, and ENVELOPE / BODYSTRUCTURE / BODY always parse with
//!   imap-codec's response parser (syntactically valid IMAP, literals where needed).
//! - Generated MIME trees (nested multiparts, message/rfc822, hostile header values with
//!   quotes, backslashes, 8-bit bytes, NUL, bare CR/LF, groups, encoded words) render to the
//!   structure that was generated, and every part can be fetched with the announced size.

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::body::{BodyStructure, SpecificFields};
use imap_codec::imap_types::fetch::MessageDataItem;
use imap_codec::imap_types::response::{Data, Response};
use imap_core::render::{MessageView, Partial, Section, SectionText, apply_partial};
use proptest::prelude::*;

/// Parses our output with imap-codec; returns the BODYSTRUCTURE.
fn check_with_imap_codec(v: &MessageView<'_>) -> Result<BodyStructure<'static>, TestCaseError> {
    let mut line = b"* 7 FETCH (ENVELOPE ".to_vec();
    line.extend_from_slice(&v.envelope());
    line.extend_from_slice(b" BODYSTRUCTURE ");
    line.extend_from_slice(&v.body_structure(true));
    line.extend_from_slice(b" BODY ");
    line.extend_from_slice(&v.body_structure(false));
    line.extend_from_slice(b")\r\n");
    let parsed = ResponseCodec::default().decode(&line);
    let (rest, resp) = match parsed {
        Ok(x) => x,
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "imap-codec rejected {:?}: {e:?}",
                String::from_utf8_lossy(&line)
            )));
        }
    };
    prop_assert!(rest.is_empty());
    let Response::Data(Data::Fetch { items, .. }) = resp else {
        return Err(TestCaseError::fail("not a FETCH"));
    };
    let mut bs = None;
    for item in items.into_iter() {
        if let MessageDataItem::BodyStructure(s) = item {
            use imap_codec::imap_types::ToStatic;
            bs = Some(s.to_static());
        }
    }
    Ok(bs.expect("BODYSTRUCTURE present"))
}

fn every_section_kind(v: &MessageView<'_>, part: &[u32]) {
    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields(vec![
            "subject".into(),
            "FROM".into(),
        ])),
        Some(SectionText::HeaderFieldsNot(vec!["content-type".into()])),
    ];
    for text in texts {
        let sec = Section {
            part: part.to_vec(),
            text,
        };
        if let Some(b) = v.section(&sec) {
            let _ = apply_partial(
                &b,
                Some(Partial {
                    start: 3,
                    length: 5,
                }),
            );
        }
    }
    let _ = v.binary_section(part);
    let _ = v.binary_size(part);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_render_valid_imap(raw in proptest::collection::vec(any::<u8>(), 0..1500),
                                                         needle in ".{0,4}") {
        let v = MessageView::parse(&raw);
        check_with_imap_codec(&v)?;
        for part in [&[][..], &[1], &[2], &[1, 1], &[1, 2, 1], &[0], &[u32::MAX]] {
            every_section_kind(&v, part);
        }
        let _ = v.header_contains("subject", &needle);
        let _ = v.body_contains(&needle);
        let _ = v.text_contains(&needle);
        let _ = v.sent_date();
        let _ = v.decoded_header("from");
    }

    #[test]
    fn encoded_word_like_headers_never_panic(
        value in "(=\\?|\\?=|\\?[BbQqZ中]\\?|utf-8|gbk|[A-Za-z0-9+/=_ ]|[中文\u{20000}]|\\\\|\"){0,40}",
        needle in "[中文a-z]{0,2}",
    ) {
        let raw = format!("Subject: {value}\r\nFrom: {value} <a@b>\r\n\r\nbody {value}");
        let v = MessageView::parse(raw.as_bytes());
        check_with_imap_codec(&v)?;
        let _ = v.header_contains("subject", &needle);
        let _ = v.header_contains("from", &needle);
        let _ = v.text_contains(&needle);
        prop_assert!(v.decoded_header("subject").is_some());
    }

    #[test]
    fn mail_like_bytes_never_panic_and_render_valid_imap(raw in mail_like_bytes()) {
        let v = MessageView::parse(&raw);
        check_with_imap_codec(&v)?;
        for part in [&[][..], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 1]] {
            every_section_kind(&v, part);
        }
        let _ = v.text_contains("中文");
        let _ = v.sent_date();
    }

    #[test]
    fn generated_mime_trees_render_their_structure(node in node_strategy(),
                                                   headers in top_headers()) {
        let mut ids = 0;
        let mut raw = headers;
        write_entity(&node, &mut raw, &mut ids, true);
        let v = MessageView::parse(&raw);
        let bs = check_with_imap_codec(&v)?;
        prop_assert_eq!(shape(&bs), node.shape());

        // HEADER + TEXT is the message.
        let h = v.section(&Section { part: vec![], text: Some(SectionText::Header) }).unwrap();
        let t = v.section(&Section { part: vec![], text: Some(SectionText::Text) }).unwrap();
        prop_assert_eq!([&h[..], &t[..]].concat(), raw.clone());

        // Every announced part exists with the announced size and line count, and its body
        // is exactly the body that was generated for it.
        let mut parts = Vec::new();
        match &bs {
            BodyStructure::Multi { .. } => announced(&bs, vec![], &mut parts),
            single => announced(single, vec![1], &mut parts),
        }
        let mut leaves = Vec::new();
        node.leaf_bodies(&mut leaves);
        let mut leaf_iter = leaves.iter();
        for (part, size, lines, is_leaf) in parts {
            let b = v.section(&Section { part: part.clone(), text: None });
            prop_assert!(b.is_some(), "BODY[{:?}] missing", part);
            let b = b.unwrap();
            prop_assert_eq!(b.len(), size as usize, "size of {:?}", part);
            if let Some(lines) = lines {
                prop_assert_eq!(b.iter().filter(|&&c| c == b'\n').count(), lines as usize);
            }
            if is_leaf {
                let expected = leaf_iter.next().unwrap();
                prop_assert_eq!(&b[..], &expected[..], "body of {:?}", part);
            }
            let mime = v.section(&Section { part: part.clone(), text: Some(SectionText::Mime) });
            prop_assert!(mime.is_some(), "MIME of {:?}", part);
        }
        prop_assert!(leaf_iter.next().is_none(), "parts not announced");
        let _ = v.text_contains("中文 hello");
        prop_assert!(v.body_contains("") && v.text_contains(""));
    }
}

/// Bytes that look like mail: header lines made of hostile fragments, MIME headers, bodies.
fn mail_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop::sample::select(vec![
        &b"From: "[..],
        b"To: ",
        b"Cc: ",
        b"Subject: ",
        b"Sender: ",
        b"Reply-To: ",
        b"Date: ",
        b"Content-Type: ",
        b"Content-Disposition: ",
        b"Content-Transfer-Encoding: ",
        b"Content-Language: ",
        b"multipart/mixed; boundary=x",
        b"message/rfc822",
        b"text/plain; charset=gbk",
        b"text/html; charset=gb2312",
        b"<p>&#20013;&amp;&#x4E2D;&bogus;<",
        b"</b>",
        b"; name*0*=utf-8''%E4%B8; name*1*=%AD",
        b"base64",
        b"quoted-printable",
        b"\r\n",
        b"\n",
        b"\r",
        b"\r\n\r\n",
        b"\r\n ",
        b"--x\r\n",
        b"--x--\r\n",
        b"a@b.c",
        b"<x@y>",
        b"\"q\\\"uo\\\\te\"",
        b"\\",
        b"\"",
        b"(comment",
        b")",
        b":",
        b";",
        b",",
        b"@",
        b"<",
        b">",
        b"=?GB2312?B?zfXAz8qm?=",
        b"=?utf-8?q?=E4=B8=AD?=",
        b"=?",
        b"?=",
        "=?utf-8?中?".as_bytes(),
        b"?B?",
        b"?q?",
        b"\xd6\xd0\xce\xc4",
        "中文".as_bytes(),
        b"\0",
        b"\x7f",
        b"\xff\xfe",
        b" ",
        b"\t",
        b"{5}",
        b"NIL",
        b"Mon, 09 Jan 2023 10:15:00 +0800",
        b"=E4=B8=AD=\r\n",
        b"5Lit5paH",
    ]);
    proptest::collection::vec(fragment, 0..60).prop_map(|v| v.concat())
}

/// A generated MIME entity.
#[derive(Debug, Clone)]
enum Node {
    Leaf {
        main: &'static str,
        sub: &'static str,
        cte: Option<&'static str>,
        extra: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
    },
    Multi {
        sub: &'static str,
        children: Vec<Node>,
    },
    Message {
        headers: Vec<(String, Vec<u8>)>,
        inner: Box<Node>,
    },
}

impl Node {
    fn shape(&self) -> String {
        match self {
            Node::Leaf { main, sub, .. } => format!("{main}/{sub}"),
            Node::Multi { sub, children } => {
                let c: Vec<String> = children.iter().map(Node::shape).collect();
                format!("{sub}({})", c.join(","))
            }
            Node::Message { inner, .. } => format!("message/rfc822[{}]", inner.shape()),
        }
    }

    fn leaf_bodies(&self, out: &mut Vec<Vec<u8>>) {
        match self {
            Node::Leaf { body, .. } => out.push(body.clone()),
            Node::Multi { children, .. } => children.iter().for_each(|c| c.leaf_bodies(out)),
            Node::Message { inner, .. } => inner.leaf_bodies(out),
        }
    }
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"a@b.c"[..],
        b"Li <li@school.test>",
        b"\"Wang, Laoshi\" <wang@school.test>",
        b"\"q\\\"x\\\\y\"",
        b"=?GB2312?B?zfXAz8qm?=",
        b"\xcd\xf5\xc0\xcf\xca\xa6",
        "王老师".as_bytes(),
        b"group: a@b, c@d;",
        b"undisclosed-recipients:;",
        b"(comment)",
        b" ",
        b",",
        b"\\",
        b"\"",
        b"\0",
        b"\r\n ",
        b"<",
        b"@",
        b"{3}",
    ]);
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn top_headers() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        "From",
        "To",
        "Cc",
        "Bcc",
        "Sender",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "X-Other",
    ]);
    proptest::collection::vec((name, header_value()), 0..8).prop_map(|hs| {
        let mut out = Vec::new();
        for (n, v) in hs {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&v);
            out.extend_from_slice(b"\r\n");
        }
        out
    })
}

fn mime_extra() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop::sample::select(vec![
        "Content-ID",
        "Content-Description",
        "Content-Disposition",
        "Content-Language",
        "Content-Location",
        "Content-MD5",
    ]);
    let value = prop::sample::select(vec![
        &b"<id@x>"[..],
        b"attachment; filename=\"a b.txt\"",
        b"attachment; filename*=utf-8''%E4%B8%AD.doc",
        b"inline; filename*0*=gbk''%D6%D0; filename*1=\".txt\"",
        b"attachment; filename=\"=?GB2312?B?s8m8qLWlLnBkZg==?=\"",
        b"attachment; filename=\"\xd6\xd0.doc\"",
        b"zh-CN, en",
        b"zh-CN",
        b"\xd6\xd0\xce\xc4 description",
        b"\"quoted\\\\ \"",
        b"",
    ]);
    proptest::collection::vec((name, value), 0..3).prop_map(|v| {
        v.into_iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect()
    })
}

/// Body text that can never look like a boundary delimiter (no '-').
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"hello"[..],
        b" ",
        b"\r\n",
        b"\n",
        "中文".as_bytes(),
        b"\xd6\xd0",
        b"=E4=B8=AD",
        b"5Lit",
        b"\"",
        b"\\",
    ]);
    proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

fn leaf_strategy() -> impl Strategy<Value = Node> {
    (
        prop::sample::select(vec![
            ("text", "plain"),
            ("text", "html"),
            ("application", "pdf"),
            ("image", "png"),
            ("message", "delivery-status"),
        ]),
        prop::sample::select(vec![
            None,
            Some("7bit"),
            Some("8bit"),
            Some("base64"),
            Some("quoted-printable"),
            Some("x-uuencode"),
        ]),
        mime_extra(),
        body_bytes(),
    )
        .prop_map(|((main, sub), cte, extra, body)| Node::Leaf {
            main,
            sub,
            cte,
            extra,
            body,
        })
}

fn node_strategy() -> impl Strategy<Value = Node> {
    leaf_strategy().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec!["mixed", "alternative", "related"]),
                proptest::collection::vec(inner.clone(), 1..4)
            )
                .prop_map(|(sub, children)| Node::Multi { sub, children }),
            (
                proptest::collection::vec(
                    (
                        prop::sample::select(vec!["From", "To", "Subject", "Date"]),
                        header_value()
                    ),
                    0..3
                ),
                inner
            )
                .prop_map(|(hs, inner)| Node::Message {
                    headers: hs.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
                    inner: Box::new(inner),
                }),
        ]
    })
}

/// Writes the entity's MIME header fields, the empty line and its body.
fn write_entity(node: &Node, out: &mut Vec<u8>, ids: &mut u32, top: bool) {
    let _ = top;
    match node {
        Node::Leaf {
            main,
            sub,
            cte,
            extra,
            body,
        } => {
            out.extend_from_slice(format!("Content-Type: {main}/{sub}\r\n").as_bytes());
            if let Some(cte) = cte {
                out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
            }
            for (n, v) in extra {
                out.extend_from_slice(n.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(v);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
        Node::Multi { sub, children } => {
            *ids += 1;
            let boundary = format!("b{ids}z");
            out.extend_from_slice(
                format!("Content-Type: multipart/{sub};\r\n boundary=\"{boundary}\"\r\n\r\n")
                    .as_bytes(),
            );
            out.extend_from_slice(b"preamble\r\n");
            for c in children {
                out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
                write_entity(c, out, ids, false);
            }
            out.extend_from_slice(format!("\r\n--{boundary}--\r\nepilogue\r\n").as_bytes());
        }
        Node::Message { headers, inner } => {
            out.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
            for (n, v) in headers {
                out.extend_from_slice(n.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(v);
                out.extend_from_slice(b"\r\n");
            }
            write_entity(inner, out, ids, false);
        }
    }
}

fn lower(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

fn shape(bs: &BodyStructure<'_>) -> String {
    match bs {
        BodyStructure::Multi {
            bodies, subtype, ..
        } => {
            let c: Vec<String> = bodies.as_ref().iter().map(shape).collect();
            format!("{}({})", lower(subtype.as_ref()), c.join(","))
        }
        BodyStructure::Single { body, .. } => match &body.specific {
            SpecificFields::Basic { r#type, subtype } => {
                format!("{}/{}", lower(r#type.as_ref()), lower(subtype.as_ref()))
            }
            SpecificFields::Text { subtype, .. } => format!("text/{}", lower(subtype.as_ref())),
            SpecificFields::Message { body_structure, .. } => {
                format!("message/rfc822[{}]", shape(body_structure))
            }
        },
    }
}

/// (part number, octets, lines, is a leaf) for every non-multipart part, depth first.
fn announced(
    bs: &BodyStructure<'_>,
    prefix: Vec<u32>,
    out: &mut Vec<(Vec<u32>, u32, Option<u32>, bool)>,
) {
    match bs {
        BodyStructure::Multi { bodies, .. } => {
            for (i, b) in bodies.as_ref().iter().enumerate() {
                let mut p = prefix.clone();
                p.push(i as u32 + 1);
                announced(b, p, out);
            }
        }
        BodyStructure::Single { body, .. } => match &body.specific {
            SpecificFields::Basic { .. } => out.push((prefix, body.basic.size, None, true)),
            SpecificFields::Text {
                number_of_lines, ..
            } => out.push((prefix, body.basic.size, Some(*number_of_lines), true)),
            SpecificFields::Message {
                number_of_lines,
                body_structure,
                ..
            } => {
                out.push((
                    prefix.clone(),
                    body.basic.size,
                    Some(*number_of_lines),
                    false,
                ));
                match &**body_structure {
                    BodyStructure::Multi { .. } => announced(body_structure, prefix, out),
                    single => {
                        let mut p = prefix;
                        p.push(1);
                        announced(single, p, out);
                    }
                }
            }
        },
    }
}
