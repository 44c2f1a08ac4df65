//! Rendering helpers: what an IMAP server sends about a stored message.
//!
//! Everything here works on the raw RFC 5322 bytes of one message (parsed with mail-parser)
//! and produces IMAP wire syntax (RFC 9051): ENVELOPE, BODYSTRUCTURE / BODY, the bytes of a
//! `BODY[section]<partial>`, and the text predicates a SEARCH evaluator needs (decoded,
//! case-insensitive, charset-aware: GB2312/GBK/GB18030 headers and bodies match UTF-8 needles).
//!
//! SCAFFOLD: the types below are the agreed interface between the parser (which produces
//! `Section`) and the renderer; bodies are being filled in.

use std::borrow::Cow;

/// The part of a `BODY[...]` / `BINARY[...]` fetch attribute inside the brackets.
///
/// `part` is the dotted part number (`1.2.3` -> `[1, 2, 3]`, empty for the whole message);
/// `text` is the optional section text after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    pub part: Vec<u32>,
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
    pub start: u32,
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
pub struct MessageView<'a> {
    raw: &'a [u8],
}

impl<'a> MessageView<'a> {
    /// Parses the raw message. Never fails: malformed mail still renders something sensible.
    pub fn parse(raw: &'a [u8]) -> Self {
        MessageView { raw }
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
    pub fn envelope(&self) -> Vec<u8> {
        unimplemented!("render::MessageView::envelope is being written")
    }

    /// The BODYSTRUCTURE value (`extensible = true`) or the BODY value (`false`) in wire syntax.
    pub fn body_structure(&self, extensible: bool) -> Vec<u8> {
        let _ = extensible;
        unimplemented!("render::MessageView::body_structure is being written")
    }

    /// The bytes of `BODY[section]` (before any partial), or `None` if the part does not exist.
    pub fn section(&self, section: &Section) -> Option<Cow<'a, [u8]>> {
        let _ = section;
        unimplemented!("render::MessageView::section is being written")
    }

    /// SEARCH HEADER name needle / FROM / TO / CC / BCC / SUBJECT: decoded, case-insensitive.
    pub fn header_contains(&self, name: &str, needle: &str) -> bool {
        let _ = (name, needle);
        unimplemented!("render::MessageView::header_contains is being written")
    }

    /// SEARCH BODY needle: decoded text parts, case-insensitive.
    pub fn body_contains(&self, needle: &str) -> bool {
        let _ = needle;
        unimplemented!("render::MessageView::body_contains is being written")
    }

    /// SEARCH TEXT needle: headers or body.
    pub fn text_contains(&self, needle: &str) -> bool {
        let _ = needle;
        unimplemented!("render::MessageView::text_contains is being written")
    }

    /// The Date: header as (year, month, day) in its own time zone, for SENTBEFORE/SENTON/SENTSINCE.
    pub fn sent_date(&self) -> Option<(i32, u8, u8)> {
        unimplemented!("render::MessageView::sent_date is being written")
    }
}
