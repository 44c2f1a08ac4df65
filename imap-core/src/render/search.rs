//! Text predicates for SEARCH: decoded, case-insensitive substring matching.
//!
//! Header values are unfolded, raw 8-bit bytes are read as UTF-8 or else as GB18030 (a superset
//! of GBK and GB2312, what Chinese clients put in raw headers), and RFC 2047 encoded words are
//! decoded (by mail-parser), so a UTF-8 needle finds a GBK subject. Bodies of text parts are
//! transfer-decoded and then decoded from their declared charset, falling back to UTF-8 or
//! GB18030 when the declared charset is absent, ASCII, unknown or plainly wrong.

use mail_parser::DateTime;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::html_to_text;

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
    if text.contains("=?") {
        decode_encoded_words(&text)
    } else {
        text
    }
}

/// One RFC 2047 encoded word at the start of `s`: (charset, decoded bytes, length consumed).
fn encoded_word(s: &str) -> Option<(&str, Vec<u8>, usize)> {
    let rest = s.strip_prefix("=?")?;
    let q1 = rest.find('?')?;
    // RFC 2231 section 5: charset*language.
    let charset = rest[..q1].split('*').next().unwrap_or("");
    let rest2 = &rest[q1 + 1..];
    let mut chars = rest2.chars();
    let enc = chars.next()?.to_ascii_uppercase();
    // Only B and Q (single bytes, so the offsets below stay on character boundaries).
    if !matches!(enc, 'B' | 'Q') || chars.next()? != '?' {
        return None;
    }
    let payload_start = q1 + 1 + 2;
    let end = rest[payload_start..].find("?=")?;
    let payload = &rest[payload_start..payload_start + end];
    if charset.is_empty() || payload.contains(' ') {
        return None;
    }
    let bytes = match enc {
        'B' => super::section::decode_base64(payload.as_bytes()),
        'Q' => {
            let mut out = Vec::with_capacity(payload.len());
            let b = payload.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'_' => out.push(b' '),
                    b'=' => {
                        if let (Some(h), Some(l)) = (
                            b.get(i + 1).copied().and_then(super::mime::hex),
                            b.get(i + 2).copied().and_then(super::mime::hex),
                        ) {
                            out.push(h << 4 | l);
                            i += 3;
                            continue;
                        }
                        out.push(b'=');
                    }
                    c => out.push(c),
                }
                i += 1;
            }
            out
        }
        _ => return None,
    };
    Some((charset, bytes, 2 + payload_start + end + 2))
}

/// Decodes RFC 2047 encoded words leniently: also inside words and quoted strings (as broken
/// clients send them); whitespace between adjacent encoded words is dropped; adjacent words in
/// the same charset are joined before decoding, because some clients split a GBK or UTF-8
/// character across two encoded words.
pub(crate) fn decode_encoded_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Pending bytes of adjacent encoded words in one charset.
    let mut pending: Option<(String, Vec<u8>)> = None;
    // Whitespace seen after an encoded word, kept only if plain text follows.
    let mut held_space = String::new();
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((cs, bytes)) = pending.take() {
            out.push_str(&decode_text(&bytes, Some(cs.as_bytes())));
        }
    };
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("=?")
            && let Some((cs, bytes, len)) = encoded_word(rest)
        {
            match &mut pending {
                Some((pcs, pbytes)) if pcs.eq_ignore_ascii_case(cs) => pbytes.extend(bytes),
                _ => {
                    flush(&mut pending, &mut out);
                    pending = Some((cs.to_string(), bytes));
                }
            }
            held_space.clear();
            i += len;
            continue;
        }
        let ch = rest.chars().next().unwrap_or(' ');
        if pending.is_some() && (ch == ' ' || ch == '\t') {
            held_space.push(ch);
        } else {
            flush(&mut pending, &mut out);
            out.push_str(&held_space);
            held_space.clear();
            out.push(ch);
        }
        i += ch.len_utf8();
    }
    flush(&mut pending, &mut out);
    out.push_str(&held_space);
    out
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
            let charset = entity.ctype.param("charset");
            let text = decode_text(&decoded, charset);
            if f(&text) {
                return true;
            }
            // Text labelled with a legacy charset that is really UTF-8 (mislabelled mail).
            if let Ok(utf8) = std::str::from_utf8(&decoded)
                && !decoded.is_ascii()
                && utf8 != text
                && f(utf8)
            {
                return true;
            }
            // HTML: also the text without tags, with character references resolved.
            entity.ctype.sub == "html" && f(&html_to_text(&text))
        }
    }
}

/// Whether the body of the message contains `needle` (decoded, any case).
/// An empty needle matches every message (every body contains the empty string).
pub(crate) fn body_contains(raw: &[u8], root: &Entity, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
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
    fn encoded_words_split_inside_a_character() {
        // "中文" in GBK is D6 D0 CE C4; split after the first byte of each character.
        assert_eq!(
            decode_header_value(b"=?GBK?B?1g==?= =?GBK?B?0M4=?=\r\n =?gbk?B?xA==?= end"),
            "中文 end"
        );
        // Different charsets are decoded separately; Q encoding; RFC 2231 language.
        assert_eq!(
            decode_header_value(b"=?utf-8?Q?a_=E4=B8=AD?= =?GB2312*zh?B?zsQ=?=x"),
            "a 中文x"
        );
        // Not an encoded word: kept as is (also with a multi-byte "encoding" letter).
        assert_eq!(
            decode_header_value("=?utf-8?中?abc?= =?utf-8?B中?=".as_bytes()),
            "=?utf-8?中?abc?= =?utf-8?B中?="
        );
        // An unknown charset name still decodes to something.
        assert!(!decode_header_value("=?中?B?1tA=?=".as_bytes()).is_empty());
        assert_eq!(
            decode_header_value(b"=?x?Z?abc?= =? ?="),
            "=?x?Z?abc?= =? ?="
        );
        // Inside a quoted display name (broken but common).
        assert_eq!(
            decode_header_value(b"\"=?GB2312?B?zfXAz8qm?=\" <w@s.t>"),
            "\"王老师\" <w@s.t>"
        );
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
