//! The MIME structure of a raw message, as byte ranges into it.
//!
//! IMAP needs the exact octets of every part (`BODY[1.2]`, `BODY[1.MIME]`, the octet and line
//! counts of BODYSTRUCTURE), so the structure is found here directly on the raw bytes (RFC 2045,
//! RFC 2046): a header section ends at the first empty line, a multipart body is split at its
//! boundary delimiter lines (the line break before a delimiter belongs to the delimiter), and a
//! `message/rfc822` body is itself a message. Nothing here panics or recurses without bound:
//! nesting deeper than [`MAX_DEPTH`] is treated as an opaque leaf.

use std::ops::Range;

use memchr::memmem;

/// Deepest nesting of multiparts / encapsulated messages that is descended into.
pub(crate) const MAX_DEPTH: usize = 64;

/// One entity: a message or a body part (a MIME header and a body).
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// The header section, including the empty line that ends it (if there is one).
    pub header: Range<usize>,
    /// The body, after the empty line.
    pub body: Range<usize>,
    /// The content type as declared (or defaulted).
    pub ctype: ContentType,
    /// What the body is.
    pub kind: Kind,
}

/// The shape of an entity's body.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A single part (text, image, application, ...).
    Leaf,
    /// A multipart with its body parts (always at least one: an empty multipart gets a synthetic
    /// empty text/plain part so that BODYSTRUCTURE stays valid).
    Multipart(Vec<Entity>),
    /// `message/rfc822` with an identity transfer encoding. (`message/global` is left a leaf:
    /// IMAP4rev1 clients, most of ours, would not expect an envelope after it.)
    Message(Box<Entity>),
}

/// A parsed Content-Type (or Content-Disposition) value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// Lower-cased type (`text`, `multipart`, ...).
    pub main: String,
    /// Lower-cased subtype.
    pub sub: String,
    /// Parameters in order of appearance, RFC 2231 continuations merged (see [`Param`]).
    pub params: Vec<Param>,
    /// Whether the type came from a Content-Type header (false: defaulted).
    pub explicit: bool,
}

/// One MIME parameter. Names keep their original spelling; `value` is the raw (unquoted) bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

impl ContentType {
    pub(crate) fn text_plain() -> Self {
        ContentType {
            main: "text".into(),
            sub: "plain".into(),
            params: Vec::new(),
            explicit: false,
        }
    }

    fn message_rfc822() -> Self {
        ContentType {
            main: "message".into(),
            sub: "rfc822".into(),
            params: Vec::new(),
            explicit: false,
        }
    }

    /// The value of a parameter, by case-insensitive name.
    pub(crate) fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|p| p.value.as_slice())
    }

    pub(crate) fn is(&self, main: &str, sub: &str) -> bool {
        self.main == main && self.sub == sub
    }
}

/// A header field: its complete raw bytes (name, colon, value, folded lines, final line break),
/// its name, and its raw value (after the colon, still folded, line break excluded).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub raw: &'a [u8],
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// Iterates over the fields of a header section (which may include its ending empty line).
/// Continuation lines (starting with space or tab) belong to the field before them; a line
/// without a colon is a field whose name is the whole line and whose value is empty.
pub(crate) fn fields(header: &[u8]) -> impl Iterator<Item = Field<'_>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        loop {
            if pos >= header.len() {
                return None;
            }
            let start = pos;
            // The empty line ending the section.
            let rest = &header[start..];
            if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
                pos = header.len();
                return None;
            }
            // Find the end of this field: a line break not followed by space or tab.
            let mut end = start;
            loop {
                match memchr::memchr(b'\n', &header[end..]) {
                    None => {
                        end = header.len();
                        break;
                    }
                    Some(i) => {
                        end += i + 1;
                        match header.get(end) {
                            Some(b' ') | Some(b'\t') => continue,
                            _ => break,
                        }
                    }
                }
            }
            pos = end;
            let raw = &header[start..end];
            // A stray continuation line at the very start of the header: skip it.
            if matches!(raw.first(), Some(b' ') | Some(b'\t')) {
                continue;
            }
            let mut content = raw;
            if let Some(c) = content.strip_suffix(b"\n") {
                content = c.strip_suffix(b"\r").unwrap_or(c);
            }
            let (name, value) = match memchr::memchr(b':', content) {
                Some(i) => (trim_wsp_end(&content[..i]), &content[i + 1..]),
                None => (content, &content[content.len()..]),
            };
            return Some(Field { raw, name, value });
        }
    })
}

/// The first field with this (case-insensitive) name.
pub(crate) fn field<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    fields(header)
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// Removes folding (a CR and/or LF followed by space or tab keeps the whitespace) and trims
/// surrounding whitespace. Bare line breaks not followed by whitespace are also removed.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    let start = out
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    out.truncate(end);
    out.drain(..start);
    out
}

fn trim_wsp_end(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &s[..end]
}

/// Splits `raw[range]` into header section (with its ending empty line) and body.
fn split_header(raw: &[u8], range: Range<usize>) -> (Range<usize>, Range<usize>) {
    let data = &raw[range.clone()];
    let mut line_start = 0;
    while line_start < data.len() {
        let rest = &data[line_start..];
        let blank = if rest.starts_with(b"\r\n") {
            Some(2)
        } else if rest.starts_with(b"\n") {
            Some(1)
        } else {
            None
        };
        if let Some(n) = blank {
            let split = range.start + line_start + n;
            return (range.start..split, split..range.end);
        }
        match memchr::memchr(b'\n', rest) {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    // No empty line: all header, empty body.
    (range.clone(), range.end..range.end)
}

/// Parses the whole raw message.
pub(crate) fn parse_message(raw: &[u8]) -> Entity {
    parse_entity(raw, 0..raw.len(), ContentType::text_plain(), 0)
}

fn parse_entity(raw: &[u8], range: Range<usize>, default: ContentType, depth: usize) -> Entity {
    let (header, body) = split_header(raw, range);
    let hdr = &raw[header.clone()];
    let mut ctype = match field(hdr, "content-type").and_then(parse_content_type) {
        Some(ct) => ct,
        None => default,
    };
    let is_multi_digest = ctype.is("multipart", "digest");

    let kind = if depth >= MAX_DEPTH {
        if ctype.main == "multipart" || ctype.main == "message" {
            // Too deep to descend: present it as an opaque leaf.
            ctype = ContentType {
                main: "application".into(),
                sub: "octet-stream".into(),
                params: Vec::new(),
                explicit: true,
            };
        }
        Kind::Leaf
    } else if ctype.main == "multipart" {
        match ctype.param("boundary").filter(|b| !b.is_empty()) {
            Some(boundary) => {
                let boundary = boundary.to_vec();
                let child_default = if is_multi_digest {
                    ContentType::message_rfc822()
                } else {
                    ContentType::text_plain()
                };
                let ranges = split_multipart(raw, body.clone(), &boundary);
                let mut children: Vec<Entity> = ranges
                    .into_iter()
                    .map(|r| parse_entity(raw, r, child_default.clone(), depth + 1))
                    .collect();
                if children.is_empty() {
                    let end = body.end;
                    children.push(Entity {
                        header: end..end,
                        body: end..end,
                        ctype: ContentType::text_plain(),
                        kind: Kind::Leaf,
                    });
                }
                Kind::Multipart(children)
            }
            None => {
                // A multipart without a boundary cannot be split: it is text (RFC 2046 5.1.1).
                ctype = ContentType::text_plain();
                Kind::Leaf
            }
        }
    } else if ctype.is("message", "rfc822") && identity_encoding(hdr) {
        let inner = parse_entity(raw, body.clone(), ContentType::text_plain(), depth + 1);
        Kind::Message(Box::new(inner))
    } else {
        Kind::Leaf
    };
    Entity {
        header,
        body,
        ctype,
        kind,
    }
}

/// Whether the Content-Transfer-Encoding is absent or one of 7bit, 8bit, binary.
fn identity_encoding(header: &[u8]) -> bool {
    match field(header, "content-transfer-encoding") {
        None => true,
        Some(v) => {
            let v = unfold(v);
            v.is_empty()
                || v.eq_ignore_ascii_case(b"7bit")
                || v.eq_ignore_ascii_case(b"8bit")
                || v.eq_ignore_ascii_case(b"binary")
        }
    }
}

/// Finds the body parts of a multipart body: the ranges between delimiter lines.
fn split_multipart(raw: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut dash = Vec::with_capacity(boundary.len() + 2);
    dash.extend_from_slice(b"--");
    dash.extend_from_slice(boundary);
    let data = &raw[body.clone()];
    let finder = memmem::Finder::new(&dash);

    let mut parts = Vec::new();
    // Start of the current part (absolute), once the first delimiter has been seen.
    let mut current: Option<usize> = None;
    let mut search_from = 0;
    while let Some(i) = finder.find(&data[search_from..]) {
        let pos = search_from + i;
        search_from = pos + dash.len();
        // Must be at the start of a line.
        if pos != 0 && data[pos - 1] != b'\n' {
            continue;
        }
        let after = &data[pos + dash.len()..];
        let is_close = after.starts_with(b"--");
        let tail = if is_close { &after[2..] } else { after };
        // Optional transport padding, then the end of the line (or of the data).
        let pad = tail
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .unwrap_or(tail.len());
        let eol = match &tail[pad..] {
            [] => 0,
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            _ if is_close => {
                // "--boundary--garbage": still a close delimiter in practice.
                0
            }
            _ => continue,
        };
        // The line break before the delimiter belongs to it.
        let part_end = if pos >= 2 && &data[pos - 2..pos] == b"\r\n" {
            pos - 2
        } else if pos >= 1 && data[pos - 1] == b'\n' {
            pos - 1
        } else {
            pos
        };
        if let Some(start) = current.take() {
            parts.push(body.start + start..body.start + part_end.max(start));
        }
        if is_close {
            return parts;
        }
        let next = pos + dash.len() + pad + eol;
        current = Some(next);
        search_from = next;
    }
    if let Some(start) = current {
        parts.push(body.start + start..body.end);
    }
    parts
}

/// Parses a Content-Type or Content-Disposition value. For Content-Disposition `sub` is empty.
/// Returns `None` when there is no usable type.
pub(crate) fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let value = unfold(value);
    let mut p = Lexer { s: &value, pos: 0 };
    let main = p.token()?;
    let mut sub = Vec::new();
    p.skip_cfws();
    if p.peek() == Some(b'/') {
        p.pos += 1;
        sub = p.token().unwrap_or_default();
    }
    let raw_params = p.params();
    Some(ContentType {
        main: String::from_utf8_lossy(&main).to_ascii_lowercase(),
        sub: String::from_utf8_lossy(&sub).to_ascii_lowercase(),
        params: merge_rfc2231(raw_params),
        explicit: true,
    })
}

/// Parses a Content-Disposition value: (type, parameters).
pub(crate) fn parse_disposition(value: &[u8]) -> Option<(String, Vec<Param>)> {
    let value = unfold(value);
    let mut p = Lexer { s: &value, pos: 0 };
    let main = p.token()?;
    let raw_params = p.params();
    Some((
        String::from_utf8_lossy(&main).to_ascii_lowercase(),
        merge_rfc2231(raw_params),
    ))
}

struct Lexer<'s> {
    s: &'s [u8],
    pos: usize,
}

fn is_tspecial(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_cfws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ') | Some(b'\t') | Some(b'\r') | Some(b'\n') => self.pos += 1,
                Some(b'(') => {
                    let mut depth = 0usize;
                    while let Some(b) = self.peek() {
                        self.pos += 1;
                        match b {
                            b'\\' => self.pos += 1,
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// An RFC 2045 token (lenient: any byte that is not whitespace, a control or a tspecial).
    fn token(&mut self) -> Option<Vec<u8>> {
        self.skip_cfws();
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b <= b' ' || b == 0x7f || is_tspecial(b) {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| self.s[start..self.pos].to_vec())
    }

    fn quoted(&mut self) -> Vec<u8> {
        // At a '"'.
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.pos += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// `*(";" attribute "=" value)`, leniently: junk up to the next ';' is skipped.
    fn params(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            // Skip to the next ';'.
            loop {
                self.skip_cfws();
                match self.peek() {
                    None => return out,
                    Some(b';') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'"') => {
                        self.quoted();
                    }
                    Some(_) => self.pos += 1,
                }
            }
            let Some(name) = self.token() else { continue };
            self.skip_cfws();
            if self.peek() != Some(b'=') {
                continue;
            }
            self.pos += 1;
            self.skip_cfws();
            let value = if self.peek() == Some(b'"') {
                self.quoted()
            } else {
                // Lenient value: up to ';' or whitespace (allows 8-bit and tspecials).
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if b == b';' || b == b' ' || b == b'\t' {
                        break;
                    }
                    self.pos += 1;
                }
                self.s[start..self.pos].to_vec()
            };
            out.push((name, value));
        }
    }
}

/// Merges RFC 2231 continuations (`name*0`, `name*1*`, ...) into one parameter per name, as an
/// IMAP client expects to find it: `name` with the joined value when no section was
/// charset-encoded, `name*` with `charset'lang'percent-encoded` when some were. Parameters
/// without continuations (including a lone `name*=utf-8''...`) are kept as they are.
fn merge_rfc2231(raw: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Param> {
    struct Group {
        base: Vec<u8>,
        sections: Vec<(u32, bool, Vec<u8>)>,
    }
    // Order of output: by first appearance.
    enum Slot {
        Plain(Param),
        Group(usize),
    }
    let mut slots: Vec<Slot> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for (name, value) in raw {
        // name*N or name*N*
        let parsed = name.iter().position(|&b| b == b'*').and_then(|star| {
            let base = &name[..star];
            let rest = &name[star + 1..];
            let (digits, extended) = match rest.strip_suffix(b"*") {
                Some(d) => (d, true),
                None => (rest, false),
            };
            if base.is_empty() || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            Some((base.to_vec(), n, extended))
        });
        match parsed {
            None => slots.push(Slot::Plain(Param { name, value })),
            Some((base, n, extended)) => {
                match groups
                    .iter()
                    .position(|g| g.base.eq_ignore_ascii_case(&base))
                {
                    Some(gi) => groups[gi].sections.push((n, extended, value)),
                    None => {
                        groups.push(Group {
                            base,
                            sections: vec![(n, extended, value)],
                        });
                        slots.push(Slot::Group(groups.len() - 1));
                    }
                }
            }
        }
    }
    slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Plain(p) => p,
            Slot::Group(gi) => {
                let g = &mut groups[gi];
                g.sections.sort_by_key(|s| s.0);
                let any_extended = g.sections.iter().any(|s| s.1);
                let mut name = g.base.clone();
                let mut value = Vec::new();
                if any_extended {
                    name.push(b'*');
                    for (i, (_, ext, v)) in g.sections.iter().enumerate() {
                        if *ext {
                            value.extend_from_slice(v);
                        } else {
                            if i == 0 {
                                // The first section carries charset'lang'; it was not encoded.
                                value.extend_from_slice(b"''");
                            }
                            percent_encode_into(v, &mut value);
                        }
                    }
                } else {
                    for (_, _, v) in &g.sections {
                        value.extend_from_slice(v);
                    }
                }
                Param { name, value }
            }
        })
        .collect()
}

fn percent_encode_into(v: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in v {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
    }
}

#[cfg(test)]
/// Decodes an RFC 2231 extended value `charset'lang'%XX...` into (charset, bytes).
pub(crate) fn decode_rfc2231_value(v: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut it = v.splitn(3, |&b| b == b'\'');
    let (charset, _lang, data) = match (it.next(), it.next(), it.next()) {
        (Some(c), Some(l), Some(d)) => (c, l, d),
        _ => (&b""[..], &b""[..], v),
    };
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'%'
            && i + 2 < data.len()
            && let (Some(h), Some(l)) = (hex(data[i + 1]), hex(data[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    (charset.to_vec(), out)
}

pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: &Range<usize>, raw: &[u8]) -> String {
        String::from_utf8_lossy(&raw[r.clone()]).into_owned()
    }

    #[test]
    fn header_split_includes_blank_line() {
        let raw = b"A: 1\r\nB: 2\r\n\r\nbody\r\n";
        let e = parse_message(raw);
        assert_eq!(s(&e.header, raw), "A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(s(&e.body, raw), "body\r\n");
    }

    #[test]
    fn header_without_body() {
        let raw = b"A: 1\r\nB: 2\r\n";
        let e = parse_message(raw);
        assert_eq!(e.header, 0..raw.len());
        assert!(e.body.is_empty());
    }

    #[test]
    fn multipart_split_excludes_crlf_before_delimiter() {
        let raw = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\npre\r\n--xx\r\n\r\none\r\n--xx \r\nContent-Type: text/html\r\n\r\n<b>two</b>\r\n\r\n--xx--\r\nepilogue\r\n";
        let e = parse_message(raw);
        let Kind::Multipart(ch) = &e.kind else {
            panic!("not multipart")
        };
        assert_eq!(ch.len(), 2);
        assert_eq!(s(&ch[0].header, raw), "\r\n");
        assert_eq!(s(&ch[0].body, raw), "one");
        assert_eq!(s(&ch[1].header, raw), "Content-Type: text/html\r\n\r\n");
        assert_eq!(s(&ch[1].body, raw), "<b>two</b>\r\n");
        assert_eq!(ch[1].ctype.sub, "html");
    }

    #[test]
    fn digest_parts_default_to_message_rfc822() {
        let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n--d\r\nContent-Type: text/plain\r\n\r\nplain\r\n--d--\r\n";
        let e = parse_message(raw);
        let Kind::Multipart(ch) = &e.kind else {
            panic!("not multipart")
        };
        let Kind::Message(inner) = &ch[0].kind else {
            panic!("digest part is not a message")
        };
        assert!(ch[0].ctype.is("message", "rfc822"));
        assert_eq!(s(&inner.header, raw), "Subject: one\r\n\r\n");
        assert_eq!(s(&inner.body, raw), "body one");
        assert!(matches!(ch[1].kind, Kind::Leaf));
        assert!(ch[1].ctype.is("text", "plain"));
    }

    #[test]
    fn boundary_prefix_is_not_a_delimiter() {
        let raw = b"Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n\r\nx\r\n--abc\r\ny\r\n--ab--\r\n";
        let e = parse_message(raw);
        let Kind::Multipart(ch) = &e.kind else {
            panic!("not multipart")
        };
        assert_eq!(ch.len(), 1);
        assert_eq!(s(&ch[0].body, raw), "x\r\n--abc\r\ny");
    }

    #[test]
    fn rfc2231_continuations_merge() {
        let ct = parse_content_type(
            b" application/pdf; name*0*=utf-8''%E5%88%A4; name*1*=%E5%86%B3; name*2=\".pdf\"",
        )
        .unwrap();
        assert_eq!(ct.params.len(), 1);
        assert_eq!(ct.params[0].name, b"name*");
        assert_eq!(ct.params[0].value, b"utf-8''%E5%88%A4%E5%86%B3.pdf");
        let (cs, v) = decode_rfc2231_value(&ct.params[0].value);
        assert_eq!(cs, b"utf-8");
        assert_eq!(String::from_utf8(v).unwrap(), "判决.pdf");

        let ct = parse_content_type(b"text/plain; a*0=\"x y\"; a*1=z; charset=gbk").unwrap();
        assert_eq!(ct.params[0].name, b"a");
        assert_eq!(ct.params[0].value, b"x yz");
        assert_eq!(ct.param("CHARSET"), Some(&b"gbk"[..]));
    }

    #[test]
    fn content_type_comments_and_case() {
        let ct = parse_content_type(b" (c) Text/HTML (c2) ; Charset = \"GB2312\" (x)").unwrap();
        assert_eq!((ct.main.as_str(), ct.sub.as_str()), ("text", "html"));
        assert_eq!(ct.param("charset"), Some(&b"GB2312"[..]));
    }
}
