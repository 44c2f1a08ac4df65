//! Every corpus message renders, and the output is checked with an independent parser: the
//! FETCH response built from our ENVELOPE / BODYSTRUCTURE / BODY is parsed by imap-codec, the
//! parsed structure has the shape the message really has, and every part it lists can be
//! fetched with `BODY[part]` with exactly the octet and line counts it announces.

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::body::{BodyStructure, SpecificFields};
use imap_codec::imap_types::envelope::Envelope;
use imap_codec::imap_types::fetch::MessageDataItem;
use imap_codec::imap_types::response::{Data, Response};
use imap_core::render::{MessageView, Section, SectionText};

fn data_dir() -> String {
    format!("{}/tests/data/render", env!("CARGO_MANIFEST_DIR"))
}

fn all_messages() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [format!("{}/corpus", data_dir()), data_dir()] {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        for p in names {
            out.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    assert!(out.len() >= 14, "corpus missing");
    out
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/corpus/{name}", data_dir())).unwrap()
}

/// Builds `* 1 FETCH (ENVELOPE .. BODYSTRUCTURE .. BODY ..)` and parses it with imap-codec.
fn parse_fetch(
    v: &MessageView<'_>,
) -> (
    Envelope<'static>,
    BodyStructure<'static>,
    BodyStructure<'static>,
) {
    let mut line = b"* 1 FETCH (ENVELOPE ".to_vec();
    line.extend_from_slice(&v.envelope());
    line.extend_from_slice(b" BODYSTRUCTURE ");
    line.extend_from_slice(&v.body_structure(true));
    line.extend_from_slice(b" BODY ");
    line.extend_from_slice(&v.body_structure(false));
    line.extend_from_slice(b")\r\n");
    let (rest, resp) = ResponseCodec::default().decode(&line).unwrap_or_else(|e| {
        panic!(
            "imap-codec rejected {:?}: {e:?}",
            String::from_utf8_lossy(&line)
        )
    });
    assert!(
        rest.is_empty(),
        "trailing bytes: {:?}",
        String::from_utf8_lossy(rest)
    );
    let Response::Data(Data::Fetch { items, .. }) = resp else {
        panic!("not a FETCH response")
    };
    let (mut env, mut bs, mut b) = (None, None, None);
    for item in items.into_iter() {
        match item {
            MessageDataItem::Envelope(e) => env = Some(e),
            MessageDataItem::BodyStructure(s) => bs = Some(s),
            MessageDataItem::Body(s) => b = Some(s),
            _ => {}
        }
    }
    use imap_codec::imap_types::ToStatic;
    (
        env.unwrap().to_static(),
        bs.unwrap().to_static(),
        b.unwrap().to_static(),
    )
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

/// The structure as a short string, e.g. `mixed(text/plain,message/rfc822[text/plain])`.
fn shape(bs: &BodyStructure<'_>) -> String {
    match bs {
        BodyStructure::Multi {
            bodies, subtype, ..
        } => {
            let inner: Vec<String> = bodies.as_ref().iter().map(shape).collect();
            format!("{}({})", s(subtype.as_ref()), inner.join(","))
        }
        BodyStructure::Single { body, .. } => match &body.specific {
            SpecificFields::Basic { r#type, subtype } => {
                format!("{}/{}", s(r#type.as_ref()), s(subtype.as_ref()))
            }
            SpecificFields::Text { subtype, .. } => format!("text/{}", s(subtype.as_ref())),
            SpecificFields::Message { body_structure, .. } => {
                format!("message/rfc822[{}]", shape(body_structure))
            }
        },
    }
}

/// A leaf (or message) part as announced by BODYSTRUCTURE.
#[derive(Debug)]
struct Announced {
    part: Vec<u32>,
    size: u32,
    lines: Option<u32>,
    is_message: bool,
}

/// Part numbers per RFC 9051 6.4.5, derived from the parsed structure.
fn announced(bs: &BodyStructure<'_>, prefix: Vec<u32>, out: &mut Vec<Announced>) {
    match bs {
        BodyStructure::Multi { bodies, .. } => {
            for (i, b) in bodies.as_ref().iter().enumerate() {
                let mut p = prefix.clone();
                p.push(i as u32 + 1);
                announced(b, p, out);
            }
        }
        BodyStructure::Single { body, .. } => {
            let (lines, is_message) = match &body.specific {
                SpecificFields::Basic { .. } => (None, false),
                SpecificFields::Text {
                    number_of_lines, ..
                } => (Some(*number_of_lines), false),
                SpecificFields::Message {
                    number_of_lines,
                    body_structure,
                    ..
                } => {
                    match &**body_structure {
                        BodyStructure::Multi { .. } => {
                            announced(body_structure, prefix.clone(), out)
                        }
                        single => {
                            let mut p = prefix.clone();
                            p.push(1);
                            announced(single, p, out);
                        }
                    }
                    (Some(*number_of_lines), true)
                }
            };
            out.push(Announced {
                part: prefix,
                size: body.basic.size,
                lines,
                is_message,
            });
        }
    }
}

fn top_parts(bs: &BodyStructure<'_>) -> Vec<Announced> {
    let mut out = Vec::new();
    match bs {
        BodyStructure::Multi { .. } => announced(bs, Vec::new(), &mut out),
        single => announced(single, vec![1], &mut out),
    }
    out
}

#[test]
fn every_message_parses_with_imap_codec_and_sections_match() {
    for (name, raw) in all_messages() {
        let v = MessageView::parse(&raw);
        let (_env, bs, body) = parse_fetch(&v);
        assert_eq!(
            shape(&bs),
            shape(&body),
            "{name}: BODY and BODYSTRUCTURE differ"
        );
        let parts = top_parts(&bs);
        assert!(!parts.is_empty(), "{name}");
        for a in &parts {
            let sec = Section {
                part: a.part.clone(),
                text: None,
            };
            let bytes = v
                .section(&sec)
                .unwrap_or_else(|| panic!("{name}: BODY[{:?}] missing", a.part));
            assert_eq!(bytes.len(), a.size as usize, "{name}: size of {:?}", a.part);
            if let Some(lines) = a.lines {
                let lf = bytes.iter().filter(|&&b| b == b'\n').count();
                assert_eq!(lf, lines as usize, "{name}: lines of {:?}", a.part);
            }
            let mime = v
                .section(&Section {
                    part: a.part.clone(),
                    text: Some(SectionText::Mime),
                })
                .unwrap();
            // The MIME header and the body are adjacent in the raw message.
            let raw_range = raw.as_ptr() as usize..raw.as_ptr() as usize + raw.len();
            assert!(raw_range.contains(&(mime.as_ptr() as usize)) || mime.is_empty());
            assert!(mime.is_empty() || mime.ends_with(b"\n"), "{name}");
            if a.is_message {
                let h = v
                    .section(&Section {
                        part: a.part.clone(),
                        text: Some(SectionText::Header),
                    })
                    .unwrap();
                let t = v
                    .section(&Section {
                        part: a.part.clone(),
                        text: Some(SectionText::Text),
                    })
                    .unwrap();
                assert_eq!([&h[..], &t[..]].concat(), bytes.to_vec(), "{name}");
            }
        }
        // One past the last top-level part does not exist.
        let n_top = match &bs {
            BodyStructure::Multi { bodies, .. } => bodies.as_ref().len() as u32,
            BodyStructure::Single { .. } => 1,
        };
        assert!(
            v.section(&Section {
                part: vec![n_top + 1],
                text: None
            })
            .is_none(),
            "{name}"
        );
        // HEADER + TEXT is the whole message.
        let h = v
            .section(&Section {
                part: vec![],
                text: Some(SectionText::Header),
            })
            .unwrap();
        let t = v
            .section(&Section {
                part: vec![],
                text: Some(SectionText::Text),
            })
            .unwrap();
        assert_eq!([&h[..], &t[..]].concat(), raw, "{name}");
    }
}

#[test]
fn corpus_shapes() {
    let expected = [
        ("01-gb2312-notice.eml", "text/plain"),
        ("02-gbk-lecture.eml", "text/plain"),
        ("03-gb18030.eml", "text/plain"),
        (
            "04-utf8-alternative.eml",
            "alternative(text/plain,text/html)",
        ),
        (
            "05-attachment-rfc2231.eml",
            "mixed(text/plain,application/msword)",
        ),
        (
            "06-attachment-rfc2047-name.eml",
            "mixed(text/plain,application/pdf)",
        ),
        (
            "07-forwarded-rfc822.eml",
            "mixed(text/plain,message/rfc822[text/plain])",
        ),
        (
            "08-nested-related.eml",
            "mixed(related(alternative(text/plain,text/html),image/png),application/octet-stream)",
        ),
        ("09-bulk-notice.eml", "text/plain"),
        ("10-on-behalf.eml", "text/plain"),
        ("11-mislabelled-8bit.eml", "text/plain"),
        ("12-ascii.eml", "text/plain"),
    ];
    for (name, shape_str) in expected {
        let raw = corpus(name);
        let v = MessageView::parse(&raw);
        let (_, bs, _) = parse_fetch(&v);
        assert_eq!(shape(&bs), shape_str, "{name}");
    }
}

fn param<'a>(bs: &'a BodyStructure<'_>, part: &[usize]) -> &'a BodyStructure<'a> {
    let mut cur = bs;
    for &i in part {
        let BodyStructure::Multi { bodies, .. } = cur else {
            panic!("not multipart")
        };
        cur = &bodies.as_ref()[i - 1];
    }
    cur
}

#[test]
fn chinese_attachment_names_reach_the_client() {
    // RFC 2231 filename: passed as FILENAME* for the client to decode.
    let raw = corpus("05-attachment-rfc2231.eml");
    let (_, bs, _) = parse_fetch(&MessageView::parse(&raw));
    let BodyStructure::Single {
        extension_data: Some(ext),
        ..
    } = param(&bs, &[2])
    else {
        panic!("no extension data")
    };
    let (kind, params) = ext.tail.as_ref().unwrap().disposition.clone().unwrap();
    assert_eq!(s(kind.as_ref()), "attachment");
    assert_eq!(s(params[0].0.as_ref()), "filename*");
    let value = String::from_utf8(params[0].1.as_ref().to_vec()).unwrap();
    assert!(
        value.starts_with("utf-8''%EF%BC%882023%EF%BC%89"),
        "{value}"
    );
    // Decoding it as a client would gives the Chinese name back.
    let pct = value.split("''").nth(1).unwrap();
    let mut bytes = Vec::new();
    let mut i = 0;
    let b = pct.as_bytes();
    while i < b.len() {
        if b[i] == b'%' {
            bytes.push(u8::from_str_radix(&pct[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            bytes.push(b[i]);
            i += 1;
        }
    }
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "（2023）粤01民初123号判决书.doc"
    );

    // RFC 2047 in a quoted filename (Foxmail 6.5 style): passed through as-is.
    let raw = corpus("06-attachment-rfc2047-name.eml");
    let (_, bs, _) = parse_fetch(&MessageView::parse(&raw));
    let BodyStructure::Single {
        extension_data: Some(ext),
        ..
    } = param(&bs, &[2])
    else {
        panic!("no extension data")
    };
    let (_, params) = ext.tail.as_ref().unwrap().disposition.clone().unwrap();
    assert_eq!(params[0].1.as_ref(), b"=?GB2312?B?s8m8qLWlLnBkZg==?=");

    // RFC 2231 name on Content-Type (capitalised "Name*"): body-fld-param.
    let raw = corpus("08-nested-related.eml");
    let (_, bs, _) = parse_fetch(&MessageView::parse(&raw));
    let BodyStructure::Single { body, .. } = param(&bs, &[2]) else {
        panic!()
    };
    let (k, val) = &body.basic.parameter_list[0];
    assert_eq!(s(k.as_ref()), "name*");
    assert_eq!(val.as_ref(), b"utf-8''%E6%95%B0%E6%8D%AE.csv");
}

#[test]
fn nested_parts_by_number() {
    let raw = corpus("08-nested-related.eml");
    let v = MessageView::parse(&raw);
    let body = |p: &[u32]| {
        v.section(&Section {
            part: p.to_vec(),
            text: None,
        })
        .map(|c| c.into_owned())
    };
    assert_eq!(body(&[1, 1, 1]).unwrap(), b"6KeB5Zu+\r\n");
    assert_eq!(
        body(&[1, 1, 2]).unwrap(),
        b"PHA+6KeB5Zu+PC9wPjxpbWcgc3JjPSJjaWQ6bG9nbyI+\r\n"
    );
    assert!(body(&[1, 2]).unwrap().starts_with(b"iVBORw0KGgo"));
    assert_eq!(body(&[2]).unwrap(), b"YSxiCjEsMgo=\r\n");
    assert!(body(&[1, 1, 3]).is_none());
    assert!(body(&[1, 2, 1]).is_none());
    assert!(body(&[0]).is_none());
    assert_eq!(
        v.section(&Section {
            part: vec![1, 2],
            text: Some(SectionText::Mime)
        })
        .unwrap()
        .as_ref(),
        b"Content-Type: image/png\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\
Content-ID: <logo>\r\nContent-Disposition: inline; filename=\"logo.png\"\r\n\r\n"
    );
    // A multipart's own body, as in RFC 9051 (the part between its header and the next
    // delimiter of its parent), starts with its first delimiter.
    assert!(
        body(&[1])
            .unwrap()
            .starts_with(b"--===============5643309082409989789==\r\n")
    );
    // BINARY decodes the transfer encoding.
    assert_eq!(v.binary_section(&[2]).unwrap().as_ref(), b"a,b\n1,2\n");
    assert_eq!(
        v.binary_section(&[1, 1, 1]).unwrap().as_ref(),
        "见图".as_bytes()
    );
    assert_eq!(v.binary_size(&[2]).unwrap(), 8);
}

#[test]
fn forwarded_message_sections() {
    let raw = corpus("07-forwarded-rfc822.eml");
    let v = MessageView::parse(&raw);
    let sec = |p: &[u32], t: Option<SectionText>| {
        v.section(&Section {
            part: p.to_vec(),
            text: t,
        })
        .map(|c| c.into_owned())
    };
    let inner_text = b"5Y6f5aeL6YKu5Lu25q2j5paH44CC\r\n".to_vec();
    assert_eq!(sec(&[2], Some(SectionText::Text)).unwrap(), inner_text);
    assert_eq!(sec(&[2, 1], None).unwrap(), inner_text);
    let inner_header = sec(&[2], Some(SectionText::Header)).unwrap();
    assert!(inner_header.starts_with(b"Content-Type: text/plain; charset=\"utf-8\"\r\n"));
    assert!(inner_header.ends_with(b"X-Mailer: Foxmail 7.2\r\n\r\n"));
    assert_eq!(sec(&[2, 1], Some(SectionText::Mime)).unwrap(), inner_header);
    assert_eq!(
        sec(&[2], Some(SectionText::Mime)).unwrap(),
        b"Content-Type: message/rfc822\r\nMIME-Version: 1.0\r\n\r\n"
    );
    assert_eq!(
        sec(
            &[2],
            Some(SectionText::HeaderFields(vec![
                "message-id".into(),
                "SUBJECT".into()
            ]))
        )
        .unwrap(),
        b"Subject: =?UTF-8?B?5Y6f5aeL6YKu5Lu2?=\r\nMessage-ID: <corpus-70@mail.school.test>\r\n\r\n"
    );
    // HEADER/TEXT only apply to message/rfc822 parts; MIME needs a part number.
    assert!(sec(&[1], Some(SectionText::Header)).is_none());
    assert!(sec(&[1], Some(SectionText::Text)).is_none());
    assert!(sec(&[], Some(SectionText::Mime)).is_none());
    assert!(sec(&[2, 2], None).is_none());
    assert!(sec(&[2, 1, 1], None).is_none());
    // Single-part message: part 1 is its body, 1.MIME its header.
    let raw = corpus("01-gb2312-notice.eml");
    let v = MessageView::parse(&raw);
    let body = v
        .section(&Section {
            part: vec![1],
            text: None,
        })
        .unwrap();
    let text = v
        .section(&Section {
            part: vec![],
            text: Some(SectionText::Text),
        })
        .unwrap();
    assert_eq!(body, text);
    let mime = v
        .section(&Section {
            part: vec![1],
            text: Some(SectionText::Mime),
        })
        .unwrap();
    let header = v
        .section(&Section {
            part: vec![],
            text: Some(SectionText::Header),
        })
        .unwrap();
    assert_eq!(mime, header);
    assert!(
        v.section(&Section {
            part: vec![2],
            text: None
        })
        .is_none()
    );
    assert!(
        v.section(&Section {
            part: vec![1, 1],
            text: None
        })
        .is_none()
    );
}
