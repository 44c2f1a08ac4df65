//! Rendering helpers: what an IMAP server sends about a stored message.
//!
//! Everything here works on the raw RFC 5322 bytes of one message and produces IMAP wire
//! syntax (RFC 9051): ENVELOPE, BODYSTRUCTURE / BODY, the bytes of a
//! `BODY[section]<partial>` and `BINARY[section]` (RFC 3516), and the text predicates a SEARCH
//! evaluator needs (decoded, case-insensitive, charset-aware: GB2312/GBK/GB18030 headers and
//! bodies match UTF-8 needles).
//!
//! The MIME structure (parts, their header and body byte ranges) is found directly on the raw
//! bytes, so that every `BODY[section]` and every octet count is exact. ENVELOPE and
//! BODYSTRUCTURE carry header values as they are (encoded words undecoded, 8-bit bytes as
//! literals). For SEARCH, values are decoded: RFC 2047 encoded words, raw 8-bit headers (UTF-8,
//! else GB18030) and bodies in their declared charset, using mail-parser's charset decoders
//! (`full_encoding`) and date parser. Nothing here panics on any input: malformed mail still
//! renders syntactically valid IMAP.

mod body_structure;
mod envelope;
mod mime;
mod search;
mod section;
mod wire;

pub use section::BinaryError;

use std::borrow::Cow;

/// The part of a `BODY[...]` / `BINARY[...]` fetch attribute inside the brackets.
///
/// `part` is the dotted part number (`1.2.3` -> `[1, 2, 3]`, empty for the whole message);
/// `text` is the optional section text after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// The dotted part number; empty for the whole message.
    pub part: Vec<u32>,
    /// The section text (`HEADER`, `TEXT`, `MIME`, ...), if any.
    pub text: Option<SectionText>,
}

/// The section-text of RFC 9051 `section-spec`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (name ...)`; names as sent by the client (matching is case-insensitive).
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (name ...)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME` (only valid with a non-empty part number)
    Mime,
}

/// A `<start.length>` partial range of a fetch attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// The first octet to return (0-based).
    pub start: u32,
    /// The maximum number of octets to return.
    pub length: u32,
}

/// Applies a partial range: the bytes from `start`, at most `length` of them (empty past the end).
pub fn apply_partial(data: &[u8], partial: Option<Partial>) -> &[u8] {
    match partial {
        None => data,
        Some(p) => {
            let start = (p.start as usize).min(data.len());
            let end = start.saturating_add(p.length as usize).min(data.len());
            &data[start..end]
        }
    }
}

/// A parsed view of one stored message, from which responses are rendered.
///
/// Parsing finds the MIME structure once; every rendering method then works on byte ranges of
/// the raw message. Cheap to build (no copy of the message).
#[derive(Debug, Clone)]
pub struct MessageView<'a> {
    raw: &'a [u8],
    root: mime::Entity,
}

impl<'a> MessageView<'a> {
    /// Parses the raw message. Never fails: malformed mail still renders something sensible.
    pub fn parse(raw: &'a [u8]) -> Self {
        MessageView {
            raw,
            root: mime::parse_message(raw),
        }
    }

    /// The raw bytes (`BODY[]`, `RFC822`).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// `RFC822.SIZE`.
    pub fn size(&self) -> usize {
        self.raw.len()
    }

    /// The ENVELOPE value in wire syntax, starting with `(` and ending with `)`.
    ///
    /// Strings that cannot be quoted (8-bit bytes, CR, LF) are literals `{n}\r\n...`.
    pub fn envelope(&self) -> Vec<u8> {
        let mut out = Vec::new();
        envelope::render(&self.raw[self.root.header.clone()], &mut out);
        out
    }

    /// The BODYSTRUCTURE value (`extensible = true`) or the BODY value (`false`) in wire syntax.
    pub fn body_structure(&self, extensible: bool) -> Vec<u8> {
        let mut out = Vec::new();
        body_structure::render(self.raw, &self.root, extensible, &mut out);
        out
    }

    /// The bytes of `BODY[section]` (before any partial), or `None` if the part does not exist
    /// (or the section text does not apply to it: `HEADER`/`TEXT` of a part that is not a
    /// message/rfc822, `MIME` without a part number).
    pub fn section(&self, section: &Section) -> Option<Cow<'a, [u8]>> {
        section::extract(self.raw, &self.root, section)
    }

    /// The bytes of `BINARY[part]` (RFC 3516): the part's body with its
    /// Content-Transfer-Encoding (base64, quoted-printable) removed. An empty `part` is the
    /// whole message as it is; multiparts and messages are returned as they are.
    pub fn binary_section(&self, part: &[u32]) -> Result<Cow<'a, [u8]>, BinaryError> {
        section::binary(self.raw, &self.root, part)
    }

    /// `BINARY.SIZE[part]`: the length of [`MessageView::binary_section`].
    pub fn binary_size(&self, part: &[u32]) -> Result<usize, BinaryError> {
        self.binary_section(part).map(|b| b.len())
    }

    /// The first header field `name` of the message, decoded (unfolded, RFC 2047 encoded words
    /// and raw GBK/GB18030 bytes decoded to Unicode); `None` if the field is absent.
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        mime::field(&self.raw[self.root.header.clone()], name).map(search::decode_header_value)
    }

    /// SEARCH HEADER name needle / FROM / TO / CC / BCC / SUBJECT: decoded, case-insensitive.
    /// An empty needle matches every message that has the field.
    pub fn header_contains(&self, name: &str, needle: &str) -> bool {
        search::header_contains(&self.raw[self.root.header.clone()], name, needle)
    }

    /// SEARCH BODY needle: decoded text parts, case-insensitive. Text parts of attached
    /// messages (and those messages' headers) are part of the body; HTML parts also match on
    /// their text without tags. An empty needle matches every message.
    pub fn body_contains(&self, needle: &str) -> bool {
        search::body_contains(self.raw, &self.root, needle)
    }

    /// SEARCH TEXT needle: headers or body.
    pub fn text_contains(&self, needle: &str) -> bool {
        let header = &self.raw[self.root.header.clone()];
        search::fold_case(&search::header_text(header)).contains(&search::fold_case(needle))
            || self.body_contains(needle)
    }

    /// The Date: header as (year, month, day) in its own time zone, for SENTBEFORE/SENTON/SENTSINCE.
    pub fn sent_date(&self) -> Option<(i32, u8, u8)> {
        search::sent_date(&self.raw[self.root.header.clone()])
    }
}
