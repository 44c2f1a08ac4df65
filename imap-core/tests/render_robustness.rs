//! Hostile and degenerate messages: deep nesting, many parts, no header, bare LF, truncation.

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_core::render::{BinaryError, MessageView, Section, SectionText};

/// Depth of parentheses outside strings and literals; panics if unbalanced or malformed.
fn max_paren_depth(wire: &[u8]) -> usize {
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < wire.len() {
        match wire[i] {
            b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' => depth = depth.checked_sub(1).expect("unbalanced"),
            b'"' => {
                i += 1;
                while wire[i] != b'"' {
                    if wire[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => {
                let close = i + wire[i..].iter().position(|&b| b == b'}').unwrap();
                let n: usize = std::str::from_utf8(&wire[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(&wire[close + 1..close + 3], b"\r\n");
                i = close + 2 + n;
            }
            _ => {}
        }
        i += 1;
    }
    assert_eq!(depth, 0, "unbalanced");
    max
}

fn imap_codec_accepts(v: &MessageView<'_>) {
    let mut line = b"* 1 FETCH (ENVELOPE ".to_vec();
    line.extend_from_slice(&v.envelope());
    line.extend_from_slice(b" BODYSTRUCTURE ");
    line.extend_from_slice(&v.body_structure(true));
    line.extend_from_slice(b")\r\n");
    let (rest, _) = ResponseCodec::default()
        .decode(&line)
        .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(&line)));
    assert!(rest.is_empty());
}

#[test]
fn very_deep_multipart_nesting_is_bounded() {
    let levels = 5000;
    let mut raw = Vec::new();
    for i in 0..levels {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n--n{i}\r\n")
                .as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\ndeep\r\n");
    for i in (0..levels).rev() {
        raw.extend_from_slice(format!("\r\n--n{i}--\r\n").as_bytes());
    }
    let v = MessageView::parse(&raw);
    let bs = v.body_structure(true);
    let depth = max_paren_depth(&bs);
    assert!(depth > 30 && depth < 100, "depth {depth}");
    assert!(max_paren_depth(&v.body_structure(false)) < 100);
    // Parts are reachable down to the limit, and nothing past it.
    assert!(
        v.section(&Section {
            part: vec![1; 40],
            text: None
        })
        .is_some()
    );
    assert!(
        v.section(&Section {
            part: vec![1; 200],
            text: None
        })
        .is_none()
    );
    assert!(!v.body_contains("nothing"));
}

#[test]
fn very_deep_message_rfc822_nesting_is_bounded() {
    let levels = 3000;
    let mut raw = Vec::new();
    for _ in 0..levels {
        raw.extend_from_slice(b"Subject: fwd\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    raw.extend_from_slice(b"Subject: inner\r\n\r\nbody\r\n");
    let v = MessageView::parse(&raw);
    let depth = max_paren_depth(&v.body_structure(true));
    assert!(depth < 300, "depth {depth}");
    let _ = max_paren_depth(&v.envelope());
    assert!(v.body_contains("fwd"));
}

#[test]
fn many_parts() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for i in 0..20_000 {
        raw.extend_from_slice(format!("--b\r\n\r\npart {i}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"--b--\r\n");
    let v = MessageView::parse(&raw);
    imap_codec_accepts(&v);
    assert_eq!(
        v.section(&Section {
            part: vec![20_000],
            text: None
        })
        .unwrap()
        .as_ref(),
        b"part 19999"
    );
    assert!(
        v.section(&Section {
            part: vec![20_001],
            text: None
        })
        .is_none()
    );
    assert!(v.body_contains("PART 12345"));
}

#[test]
fn degenerate_inputs_render_valid_imap() {
    let inputs: [&[u8]; 12] = [
        b"",
        b"\r\n",
        b"\r\n\r\n",
        b"no header at all, just text",
        b"Subject: only a header",
        b"Subject: lf only\n\nbody\nline\n",
        b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nno boundary param\r\n",
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: text/\r\nContent-Transfer-Encoding:\r\n\r\nx",
        b"Content-Type: ;;;=\"\r\nContent-Disposition: ;a=b\r\nContent-Language: ,,,\r\n\r\nx",
        b"From: \r\nTo: ,,,\r\nCc: <>\r\nSender: :;\r\nDate:\r\n\r\n",
    ];
    for raw in inputs {
        let v = MessageView::parse(raw);
        imap_codec_accepts(&v);
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
        assert_eq!(
            [&h[..], &t[..]].concat(),
            raw,
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn truncated_multipart_keeps_last_part() {
    // No close delimiter: the last part runs to the end of the message.
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>cut";
    let v = MessageView::parse(raw);
    imap_codec_accepts(&v);
    assert_eq!(
        v.section(&Section {
            part: vec![1],
            text: None
        })
        .unwrap()
        .as_ref(),
        b"one"
    );
    assert_eq!(
        v.section(&Section {
            part: vec![2],
            text: None
        })
        .unwrap()
        .as_ref(),
        b"<p>cut"
    );
}

#[test]
fn lf_only_message_sections() {
    let raw = b"Subject: s\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nhi\n--q--\n";
    let v = MessageView::parse(raw);
    imap_codec_accepts(&v);
    assert_eq!(
        v.section(&Section {
            part: vec![1],
            text: None
        })
        .unwrap()
        .as_ref(),
        b"hi"
    );
    assert_eq!(
        v.section(&Section {
            part: vec![1],
            text: Some(SectionText::Mime)
        })
        .unwrap()
        .as_ref(),
        b"Content-Type: text/plain\n\n"
    );
    assert_eq!(
        v.section(&Section {
            part: vec![],
            text: Some(SectionText::HeaderFields(vec!["subject".into()]))
        })
        .unwrap()
        .as_ref(),
        b"Subject: s\n\n"
    );
}

#[test]
fn binary_errors() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
    let v = MessageView::parse(raw);
    assert_eq!(
        v.binary_section(&[1]).unwrap_err(),
        BinaryError::UnknownCte("x-uuencode".into())
    );
    assert_eq!(v.binary_section(&[2]).unwrap_err(), BinaryError::NoSuchPart);
    assert_eq!(v.binary_size(&[]).unwrap(), raw.len());
}
