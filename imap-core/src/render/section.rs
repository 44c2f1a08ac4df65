//! `BODY[section]` and `BINARY[section]` extraction (RFC 9051 section 6.4.5, RFC 3516).
//!
//! Part numbers follow RFC 9051: the parts of a multipart are numbered from 1; a part of type
//! message/rfc822 is numbered like the message it contains (its multipart's parts, or `1` for
//! its single body); a non-multipart message has just a part 1, its body.

use std::borrow::Cow;

use super::mime::{Entity, Kind, field, fields, unfold};
use super::{Section, SectionText};

/// Resolves a non-empty part number to the entity it names.
pub(crate) fn resolve<'e>(root: &'e Entity, part: &[u32]) -> Option<&'e Entity> {
    let (&first, rest) = part.split_first()?;
    let mut cur = step_message(root, first)?;
    for &n in rest {
        cur = match &cur.kind {
            Kind::Multipart(children) => child(children, n)?,
            Kind::Message(inner) => step_message(inner, n)?,
            Kind::Leaf => return None,
        };
    }
    Some(cur)
}

/// Part `n` of a message: its multipart's part `n`, or (n = 1) the message's own single body.
fn step_message(msg: &Entity, n: u32) -> Option<&Entity> {
    match &msg.kind {
        Kind::Multipart(children) => child(children, n),
        _ if n == 1 => Some(msg),
        _ => None,
    }
}

fn child(children: &[Entity], n: u32) -> Option<&Entity> {
    (n as usize).checked_sub(1).and_then(|i| children.get(i))
}

/// The bytes of `BODY[section]`.
pub(crate) fn extract<'a>(
    raw: &'a [u8],
    root: &Entity,
    section: &Section,
) -> Option<Cow<'a, [u8]>> {
    let (msg, part): (Option<&Entity>, Option<&Entity>) = if section.part.is_empty() {
        (Some(root), None)
    } else {
        let e = resolve(root, &section.part)?;
        let msg = match &e.kind {
            Kind::Message(inner) => Some(&**inner),
            _ => None,
        };
        (msg, Some(e))
    };
    match &section.text {
        None => Some(Cow::Borrowed(match part {
            None => raw,
            Some(e) => &raw[e.body.clone()],
        })),
        Some(SectionText::Mime) => part.map(|e| Cow::Borrowed(&raw[e.header.clone()])),
        Some(SectionText::Header) => msg.map(|m| Cow::Borrowed(&raw[m.header.clone()])),
        Some(SectionText::Text) => msg.map(|m| Cow::Borrowed(&raw[m.body.clone()])),
        Some(SectionText::HeaderFields(names)) => {
            msg.map(|m| Cow::Owned(header_subset(&raw[m.header.clone()], names, true)))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            msg.map(|m| Cow::Owned(header_subset(&raw[m.header.clone()], names, false)))
        }
    }
}

/// The fields of `header` whose names are (`keep`) or are not (`!keep`) in `names`, in their
/// original order and bytes, followed by the header's empty line if it has one.
pub(crate) fn header_subset(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let listed = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(f.name));
        if listed == keep {
            out.extend_from_slice(f.raw);
            // A last field without a line break (header without empty line) gets none added.
        }
    }
    let n = header.len();
    if header.ends_with(b"\r\n") && (n == 2 || header[n - 3] == b'\n') {
        out.extend_from_slice(b"\r\n");
    } else if header.ends_with(b"\n") && (n == 1 || header[n - 2] == b'\n') {
        out.extend_from_slice(b"\n");
    }
    out
}

/// Why a `BINARY[section]` cannot be returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryError {
    /// The part does not exist.
    NoSuchPart,
    /// The Content-Transfer-Encoding is not one the server can decode (RFC 3516 `UNKNOWN-CTE`).
    UnknownCte(String),
}

impl std::fmt::Display for BinaryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BinaryError::NoSuchPart => f.write_str("no such part"),
            BinaryError::UnknownCte(cte) => write!(f, "unknown content-transfer-encoding {cte:?}"),
        }
    }
}

impl std::error::Error for BinaryError {}

/// The content of `BINARY[part]`: the part's body with its transfer encoding removed. For the
/// whole message (empty part) and for multiparts and messages, the bytes as they are.
pub(crate) fn binary<'a>(
    raw: &'a [u8],
    root: &Entity,
    part: &[u32],
) -> Result<Cow<'a, [u8]>, BinaryError> {
    if part.is_empty() {
        return Ok(Cow::Borrowed(raw));
    }
    let e = resolve(root, part).ok_or(BinaryError::NoSuchPart)?;
    let body = &raw[e.body.clone()];
    if !matches!(e.kind, Kind::Leaf) {
        return Ok(Cow::Borrowed(body));
    }
    let cte = field(&raw[e.header.clone()], "content-transfer-encoding")
        .map(unfold)
        .unwrap_or_default();
    decode_cte(&cte, body)
        .map_err(|()| BinaryError::UnknownCte(String::from_utf8_lossy(&cte).into_owned()))
}

/// Removes a transfer encoding (identity, base64, quoted-printable); `Err` for unknown ones.
pub(crate) fn decode_cte<'b>(cte: &[u8], body: &'b [u8]) -> Result<Cow<'b, [u8]>, ()> {
    if cte.is_empty()
        || cte.eq_ignore_ascii_case(b"7bit")
        || cte.eq_ignore_ascii_case(b"8bit")
        || cte.eq_ignore_ascii_case(b"binary")
    {
        Ok(Cow::Borrowed(body))
    } else if cte.eq_ignore_ascii_case(b"base64") {
        Ok(Cow::Owned(decode_base64(body)))
    } else if cte.eq_ignore_ascii_case(b"quoted-printable") {
        Ok(Cow::Owned(decode_qp(body)))
    } else {
        Err(())
    }
}

/// Lenient base64: characters outside the alphabet are skipped, decoding stops at `=`.
pub(crate) fn decode_base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in data {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Lenient quoted-printable: soft line breaks removed, `=XX` decoded, anything else kept.
pub(crate) fn decode_qp(data: &[u8]) -> Vec<u8> {
    use super::mime::hex;
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'=' {
            let rest = &data[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let [h, l, ..] = rest
                && let (Some(h), Some(l)) = (hex(*h), hex(*l))
            {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            // "=  \r\n" (soft break with trailing whitespace)
            let ws = rest
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t'))
                .unwrap_or(rest.len());
            if ws > 0 && (rest[ws..].starts_with(b"\r\n") || rest[ws..].starts_with(b"\n")) {
                i += 1 + ws + if rest[ws] == b'\r' { 2 } else { 1 };
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lenient() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(decode_base64(b"aGV*sbG8"), b"hello");
        assert_eq!(decode_base64(b""), b"");
    }

    #[test]
    fn qp() {
        assert_eq!(decode_qp(b"a=3Db=\r\nc= \r\nd=4"), b"a=bcd=4");
        assert_eq!(decode_qp(b"=E4=B8=AD"), "中".as_bytes());
        assert_eq!(decode_qp(b"x="), b"x=");
    }

    #[test]
    fn header_subset_keeps_folding_and_blank_line() {
        let h = b"Subject: a\r\n b\r\nFrom: x@y\r\nTo: z@w\r\n\r\n";
        let names = vec!["subject".to_string(), "TO".to_string()];
        assert_eq!(
            header_subset(h, &names, true),
            b"Subject: a\r\n b\r\nTo: z@w\r\n\r\n"
        );
        assert_eq!(header_subset(h, &names, false), b"From: x@y\r\n\r\n");
        assert_eq!(header_subset(h, &["x".to_string()], true), b"\r\n");
        // No empty line: none is added.
        assert_eq!(
            header_subset(b"A: 1\r\n", &["a".to_string()], true),
            b"A: 1\r\n"
        );
    }
}
