//! Text predicates for SEARCH: decoded, case-insensitive substring matching.
//!
//! Header values are unfolded, raw 8-bit bytes are read as UTF-8 or else as GB18030 (a superset
//! of GBK and GB2312, what Chinese clients put in raw headers), and RFC 2047 encoded words are
//! decoded (by mail-parser), so a UTF-8 needle finds a GBK subject. Bodies of text parts are
//! transfer-decoded and then decoded from their declared charset, falling back to UTF-8 or
//! GB18030 when the declared charset is absent, ASCII, unknown or plainly wrong.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::{DateTime, HeaderValue};

use super::mime::{Entity, Kind, field, fields, unfold};
use super::section::decode_cte;

/// Lower-cases for case-insensitive comparison.
pub(crate) fn fold_case(s: &str) -> String {
    s.to_lowercase()
}

/// Bytes as text: UTF-8 if they are valid UTF-8, GB18030 otherwise.
pub(crate) fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => gb18030(bytes),
    }
}

fn gb18030(bytes: &[u8]) -> String {
    match charset_decoder(b"gb18030") {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A header value decoded for display or search: unfolded, 8-bit bytes decoded, encoded words
/// decoded.
pub(crate) fn decode_header_value(raw: &[u8]) -> String {
    let text = bytes_to_text(&unfold(raw));
    if !text.contains("=?") {
        return text;
    }
    let mut line = text.clone().into_bytes();
    line.extend_from_slice(b"\r\n");
    match MessageStream::new(&line).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        HeaderValue::Empty => String::new(),
        _ => text,
    }
}

/// Whether a header field named `name` of `header` contains `needle` (decoded, any case).
/// An empty needle matches any message that has the field.
pub(crate) fn header_contains(header: &[u8], name: &str, needle: &str) -> bool {
    let needle = fold_case(needle);
    fields(header)
        .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .any(|f| fold_case(&decode_header_value(f.value)).contains(&needle))
}

/// The whole header section as decoded text, one `Name: value` line per field.
pub(crate) fn header_text(header: &[u8]) -> String {
    let mut out = String::new();
    for f in fields(header) {
        out.push_str(&bytes_to_text(f.name));
        out.push_str(": ");
        out.push_str(&decode_header_value(f.value));
        out.push('\n');
    }
    out
}

/// Decodes text bytes from a declared charset, with fallbacks for mislabelled mail.
pub(crate) fn decode_text(bytes: &[u8], charset: Option<&[u8]>) -> String {
    let cs = charset
        .map(|c| String::from_utf8_lossy(c).trim().to_ascii_lowercase())
        .unwrap_or_default();
    match cs.as_str() {
        "" | "us-ascii" | "ascii" | "utf-8" | "utf8" => bytes_to_text(bytes),
        "gb2312" | "gbk" | "gb18030" | "x-gbk" | "cp936" | "euc-cn" | "hz-gb-2312" => {
            if cs == "hz-gb-2312" {
                decode_with(&cs, bytes)
            } else {
                gb18030(bytes)
            }
        }
        _ => decode_with(&cs, bytes),
    }
}

fn decode_with(cs: &str, bytes: &[u8]) -> String {
    match charset_decoder(cs.as_bytes()) {
        Some(decode) => decode(bytes),
        None => bytes_to_text(bytes),
    }
}

/// Visits the decoded text of the body of `entity`: its text parts, and the headers and text of
/// encapsulated messages. `f` returns true to stop early; the result says whether it did.
pub(crate) fn visit_body_text(
    raw: &[u8],
    entity: &Entity,
    f: &mut dyn FnMut(&str) -> bool,
) -> bool {
    match &entity.kind {
        Kind::Multipart(children) => children.iter().any(|c| visit_body_text(raw, c, f)),
        Kind::Message(inner) => {
            f(&header_text(&raw[inner.header.clone()])) || visit_body_text(raw, inner, f)
        }
        Kind::Leaf => {
            if entity.ctype.main != "text" {
                return false;
            }
            let header = &raw[entity.header.clone()];
            let cte = field(header, "content-transfer-encoding")
                .map(unfold)
                .unwrap_or_default();
            let body = &raw[entity.body.clone()];
            let decoded = decode_cte(&cte, body).unwrap_or(std::borrow::Cow::Borrowed(body));
            f(&decode_text(&decoded, entity.ctype.param("charset")))
        }
    }
}

/// Whether the body of the message contains `needle` (decoded, any case).
pub(crate) fn body_contains(raw: &[u8], root: &Entity, needle: &str) -> bool {
    let needle = fold_case(needle);
    visit_body_text(raw, root, &mut |text| fold_case(text).contains(&needle))
}

/// The Date: header as (year, month, day) in its own time zone.
pub(crate) fn sent_date(header: &[u8]) -> Option<(i32, u8, u8)> {
    let value = decode_header_value(field(header, "date")?);
    let dt = DateTime::parse_rfc822(&format!("{value}\n"))?;
    ((1..=12).contains(&dt.month) && (1..=31).contains(&dt.day)).then_some((
        i32::from(dt.year),
        dt.month,
        dt.day,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_and_raw_gbk() {
        assert_eq!(
            decode_header_value(b" =?GB2312?B?udjT2sbaxKm/vMrUsLLFxbXEzajWqg==?="),
            "关于期末考试安排的通知"
        );
        // "中文" in GBK, raw in the header.
        assert_eq!(decode_header_value(b" \xd6\xd0\xce\xc4 abc"), "中文 abc");
        assert_eq!(
            decode_header_value(b" =?UTF-8?Q?a=E4=B8=AD?=\r\n =?UTF-8?B?5paH?="),
            "a中文"
        );
        assert_eq!(decode_header_value(b" plain  text "), "plain  text");
    }

    #[test]
    fn charset_fallbacks() {
        assert_eq!(decode_text(b"\xd6\xd0", Some(b"gb2312")), "中");
        assert_eq!(decode_text("中".as_bytes(), Some(b"us-ascii")), "中");
        assert_eq!(decode_text(b"\xd6\xd0", Some(b"utf-8")), "中");
        assert_eq!(decode_text(b"\xd6\xd0", Some(b"x-unknown")), "中");
        assert_eq!(decode_text(b"\xd6\xd0", None), "中");
    }

    #[test]
    fn dates() {
        assert_eq!(
            sent_date(b"Date: Mon, 09 Jan 2023 10:15:00 +0800\r\n\r\n"),
            Some((2023, 1, 9))
        );
        assert_eq!(
            sent_date(b"Date: Tue, 31 Dec 2024 23:59:59 -1100\r\n\r\n"),
            Some((2024, 12, 31))
        );
        assert_eq!(sent_date(b"Date: garbage\r\n\r\n"), None);
        assert_eq!(sent_date(b"Subject: x\r\n\r\n"), None);
    }
}
