//! BODYSTRUCTURE and BODY (RFC 9051 section 7.5.2).
//!
//! Type, subtype, encoding and parameter names go out upper-cased (as in RFC 9051's examples);
//! parameter values as they are in the message. RFC 2231 continuations are merged into one
//! `NAME*` parameter (`charset'lang'%XX..`), which clients decode; RFC 2047-encoded values (as
//! older Chinese clients send filenames) pass through unchanged. A text part without a charset
//! gets `("CHARSET" "US-ASCII")`, the MIME default. Octet counts are those of the body as
//! stored (still transfer-encoded); line counts are the number of line breaks in it.

use super::envelope;
use super::mime::{Entity, Kind, Param, field, parse_disposition, unfold};
use super::wire::{nstring, string};

/// Renders the BODYSTRUCTURE (`extensible`) or BODY structure of `entity`.
pub(crate) fn render(raw: &[u8], entity: &Entity, extensible: bool, out: &mut Vec<u8>) {
    let header = &raw[entity.header.clone()];
    out.push(b'(');
    match &entity.kind {
        Kind::Multipart(children) => {
            for child in children {
                render(raw, child, extensible, out);
            }
            out.push(b' ');
            string(out, entity.ctype.sub.to_ascii_uppercase().as_bytes());
            if extensible {
                out.push(b' ');
                params(out, &entity.ctype.params);
                out.push(b' ');
                extension_tail(header, out);
            }
        }
        Kind::Leaf | Kind::Message(_) => {
            let ct = &entity.ctype;
            let is_message = matches!(entity.kind, Kind::Message(_));
            let (main, sub) = if !is_message && ct.is("message", "rfc822") {
                // A transfer-encoded message/rfc822 cannot be shown with an envelope and must not
                // be shown as a basic MESSAGE/RFC822 either (ambiguous grammar): it is opaque data.
                ("APPLICATION".to_string(), "OCTET-STREAM".to_string())
            } else if ct.sub.is_empty() {
                // "Content-Type: text" and the like.
                if ct.main == "text" {
                    ("TEXT".to_string(), "PLAIN".to_string())
                } else {
                    (ct.main.to_ascii_uppercase(), "OCTET-STREAM".to_string())
                }
            } else {
                (ct.main.to_ascii_uppercase(), ct.sub.to_ascii_uppercase())
            };
            string(out, main.as_bytes());
            out.push(b' ');
            string(out, sub.as_bytes());
            out.push(b' ');
            // body-fields
            if main == "TEXT" && ct.param("charset").is_none() {
                let mut with_default = Vec::with_capacity(ct.params.len() + 1);
                with_default.push(Param {
                    name: b"charset".to_vec(),
                    value: b"US-ASCII".to_vec(),
                });
                with_default.extend(ct.params.iter().cloned());
                params(out, &with_default);
            } else {
                params(out, &ct.params);
            }
            out.push(b' ');
            nstring(out, field(header, "content-id").map(unfold).as_deref());
            out.push(b' ');
            nstring(
                out,
                field(header, "content-description").map(unfold).as_deref(),
            );
            out.push(b' ');
            let enc = field(header, "content-transfer-encoding")
                .map(unfold)
                .filter(|e| !e.is_empty())
                .map_or_else(|| b"7BIT".to_vec(), |e| e.to_ascii_uppercase());
            string(out, &enc);
            out.push(b' ');
            out.extend_from_slice(entity.body.len().to_string().as_bytes());
            let body = &raw[entity.body.clone()];
            if let Kind::Message(inner) = &entity.kind {
                out.push(b' ');
                envelope::render(&raw[inner.header.clone()], out);
                out.push(b' ');
                render(raw, inner, extensible, out);
                out.push(b' ');
                out.extend_from_slice(lines(body).to_string().as_bytes());
            } else if main == "TEXT" {
                out.push(b' ');
                out.extend_from_slice(lines(body).to_string().as_bytes());
            }
            if extensible {
                out.push(b' ');
                nstring(out, field(header, "content-md5").map(unfold).as_deref());
                out.push(b' ');
                extension_tail(header, out);
            }
        }
    }
    out.push(b')');
}

/// The number of lines of a body: its line breaks.
pub(crate) fn lines(body: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', body).count()
}

/// `body-fld-param`: NIL or `("NAME" "value" ...)`.
fn params(out: &mut Vec<u8>, params: &[Param]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, &p.name.to_ascii_uppercase());
        out.push(b' ');
        string(out, &p.value);
    }
    out.push(b')');
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc`.
fn extension_tail(header: &[u8], out: &mut Vec<u8>) {
    match field(header, "content-disposition").and_then(parse_disposition) {
        Some((kind, ps)) => {
            out.push(b'(');
            string(out, kind.to_ascii_uppercase().as_bytes());
            out.push(b' ');
            params(out, &ps);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    let langs: Vec<Vec<u8>> = field(header, "content-language")
        .map(unfold)
        .map(|v| {
            v.split(|&b| b == b',')
                .map(|l| unfold(strip_comments(l).as_slice()))
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    match langs.len() {
        0 => out.extend_from_slice(b"NIL"),
        1 => string(out, &langs[0]),
        _ => {
            out.push(b'(');
            for (i, l) in langs.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(
        out,
        field(header, "content-location").map(unfold).as_deref(),
    );
}

fn strip_comments(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut depth = 0usize;
    for &b in s {
        match b {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_count_is_line_breaks() {
        assert_eq!(lines(b""), 0);
        assert_eq!(lines(b"abc"), 0);
        assert_eq!(lines(b"abc\r\n"), 1);
        assert_eq!(lines(b"a\r\nb\nc"), 2);
    }

    #[test]
    fn languages_and_location() {
        let mut out = Vec::new();
        extension_tail(
            b"Content-Language: zh-CN, en (English)\r\nContent-Location: http://x/y\r\n\r\n",
            &mut out,
        );
        assert_eq!(out, b"NIL (\"zh-CN\" \"en\") \"http://x/y\"");
    }
}
