//! FETCH attributes (what a client asks for) and FETCH items (what the server answers).

use std::borrow::Cow;

use super::datetime::{DateTime, date_time};
use super::flag::{FlagFetch, flag_fetch, paren_list, write_list};
use super::literal::{
    PResult, Writer, astring_utf8, byte, fail, is_atom_char, kw, literal_header, nstring, number,
    number64, nz_number, sp, upper,
};
use crate::render::{Partial, Section, SectionText};

/// One FETCH attribute. The macros ALL, FAST and FULL are expanded by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822` (sets \Seen)
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.TEXT` (sets \Seen)
    Rfc822Text,
    /// `BODY` (non-extensible structure)
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `MODSEQ` (CONDSTORE)
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `.PEEK`: do not set \Seen.
        peek: bool,
        /// The section.
        section: Section,
        /// `<start.length>`.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        /// `.PEEK`
        peek: bool,
        /// Part number, empty for the whole message.
        part: Vec<u32>,
        /// `<start.length>`.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        /// Part number.
        part: Vec<u32>,
    },
}

impl FetchAttr {
    /// Whether answering this attribute sets `\Seen` (on a read-write mailbox).
    pub fn sets_seen(&self) -> bool {
        matches!(
            self,
            FetchAttr::Rfc822
                | FetchAttr::Rfc822Text
                | FetchAttr::BodySection { peek: false, .. }
                | FetchAttr::Binary { peek: false, .. }
        )
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            FetchAttr::Envelope => w.raw(b"ENVELOPE"),
            FetchAttr::Flags => w.raw(b"FLAGS"),
            FetchAttr::InternalDate => w.raw(b"INTERNALDATE"),
            FetchAttr::Rfc822Size => w.raw(b"RFC822.SIZE"),
            FetchAttr::Rfc822 => w.raw(b"RFC822"),
            FetchAttr::Rfc822Header => w.raw(b"RFC822.HEADER"),
            FetchAttr::Rfc822Text => w.raw(b"RFC822.TEXT"),
            FetchAttr::Body => w.raw(b"BODY"),
            FetchAttr::BodyStructure => w.raw(b"BODYSTRUCTURE"),
            FetchAttr::Uid => w.raw(b"UID"),
            FetchAttr::ModSeq => w.raw(b"MODSEQ"),
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            } => {
                w.raw(if *peek { b"BODY.PEEK" } else { b"BODY" });
                write_section(w, section);
                if let Some(p) = partial {
                    w.byte(b'<');
                    w.num(p.start as u64);
                    w.byte(b'.');
                    w.num(p.length as u64);
                    w.byte(b'>');
                }
            }
            FetchAttr::Binary {
                peek,
                part,
                partial,
            } => {
                w.raw(if *peek { b"BINARY.PEEK[" } else { b"BINARY[" });
                write_part(w, part);
                w.byte(b']');
                if let Some(p) = partial {
                    w.byte(b'<');
                    w.num(p.start as u64);
                    w.byte(b'.');
                    w.num(p.length as u64);
                    w.byte(b'>');
                }
            }
            FetchAttr::BinarySize { part } => {
                w.raw(b"BINARY.SIZE[");
                write_part(w, part);
                w.byte(b']');
            }
        }
    }
}

fn write_part(w: &mut Writer, part: &[u32]) {
    for (k, p) in part.iter().enumerate() {
        if k > 0 {
            w.byte(b'.');
        }
        w.num(*p as u64);
    }
}

pub(crate) fn write_section(w: &mut Writer, s: &Section) {
    w.byte(b'[');
    write_part(w, &s.part);
    if let Some(t) = &s.text {
        if !s.part.is_empty() {
            w.byte(b'.');
        }
        let fields = |w: &mut Writer, v: &Vec<String>| {
            w.byte(b' ');
            write_list(w, v, |w, f| w.astring(f.as_bytes()));
        };
        match t {
            SectionText::Header => w.raw(b"HEADER"),
            SectionText::HeaderFields(v) => {
                w.raw(b"HEADER.FIELDS");
                fields(w, v)
            }
            SectionText::HeaderFieldsNot(v) => {
                w.raw(b"HEADER.FIELDS.NOT");
                fields(w, v)
            }
            SectionText::Text => w.raw(b"TEXT"),
            SectionText::Mime => w.raw(b"MIME"),
        }
    }
    w.byte(b']');
}

fn section_part(i: &[u8]) -> PResult<'_, Vec<u32>> {
    let mut v = Vec::new();
    let mut r = i;
    loop {
        let (r2, n) = nz_number(r)?;
        v.push(n);
        if r2.first() == Some(&b'.') && r2.get(1).is_some_and(u8::is_ascii_digit) {
            r = &r2[1..];
        } else {
            return Ok((r2, v));
        }
    }
}

fn header_list(i: &[u8]) -> PResult<'_, Vec<String>> {
    let (r, v) = paren_list(i, astring_utf8)?;
    if v.is_empty() {
        return fail(i);
    }
    Ok((r, v))
}

fn section_text(i: &[u8], allow_mime: bool) -> PResult<'_, SectionText> {
    if let Ok((r, _)) = kw("HEADER.FIELDS.NOT ")(i) {
        let (r, v) = header_list(r)?;
        return Ok((r, SectionText::HeaderFieldsNot(v)));
    }
    if let Ok((r, _)) = kw("HEADER.FIELDS ")(i) {
        let (r, v) = header_list(r)?;
        return Ok((r, SectionText::HeaderFields(v)));
    }
    if let Ok((r, _)) = kw("HEADER")(i) {
        return Ok((r, SectionText::Header));
    }
    if let Ok((r, _)) = kw("TEXT")(i) {
        return Ok((r, SectionText::Text));
    }
    if allow_mime && let Ok((r, _)) = kw("MIME")(i) {
        return Ok((r, SectionText::Mime));
    }
    fail(i)
}

/// `section = "[" [section-spec] "]"`.
pub(crate) fn section(i: &[u8]) -> PResult<'_, Section> {
    let (r, _) = byte(b'[')(i)?;
    if let Some(b']') = r.first() {
        return Ok((&r[1..], Section::default()));
    }
    let (r, s) = if r.first().is_some_and(u8::is_ascii_digit) {
        let (r, part) = section_part(r)?;
        if r.first() == Some(&b'.') {
            let (r, t) = section_text(&r[1..], true)?;
            (
                r,
                Section {
                    part,
                    text: Some(t),
                },
            )
        } else {
            (r, Section { part, text: None })
        }
    } else {
        let (r, t) = section_text(r, false)?;
        (
            r,
            Section {
                part: vec![],
                text: Some(t),
            },
        )
    };
    let (r, _) = byte(b']')(r)?;
    Ok((r, s))
}

fn partial(i: &[u8]) -> PResult<'_, Option<Partial>> {
    if i.first() != Some(&b'<') {
        return Ok((i, None));
    }
    let (r, start) = number(&i[1..])?;
    let (r, _) = byte(b'.')(r)?;
    let (r, length) = nz_number(r)?;
    let (r, _) = byte(b'>')(r)?;
    Ok((r, Some(Partial { start, length })))
}

fn binary_part(i: &[u8]) -> PResult<'_, Vec<u32>> {
    let (r, _) = byte(b'[')(i)?;
    if r.first() == Some(&b']') {
        return Ok((&r[1..], vec![]));
    }
    let (r, p) = section_part(r)?;
    let (r, _) = byte(b']')(r)?;
    Ok((r, p))
}

/// One `fetch-att`.
pub(crate) fn fetch_att(i: &[u8]) -> PResult<'_, FetchAttr> {
    let n = i
        .iter()
        .take_while(|&&b| is_atom_char(b) && b != b'[')
        .count();
    let (name, r) = i.split_at(n);
    let (ubuf, ulen) = upper(name);
    let up = &ubuf[..ulen];
    let a = match up {
        b"ENVELOPE" => FetchAttr::Envelope,
        b"FLAGS" => FetchAttr::Flags,
        b"INTERNALDATE" => FetchAttr::InternalDate,
        b"RFC822.SIZE" => FetchAttr::Rfc822Size,
        b"RFC822" => FetchAttr::Rfc822,
        b"RFC822.HEADER" => FetchAttr::Rfc822Header,
        b"RFC822.TEXT" => FetchAttr::Rfc822Text,
        b"BODYSTRUCTURE" => FetchAttr::BodyStructure,
        b"UID" => FetchAttr::Uid,
        b"MODSEQ" => FetchAttr::ModSeq,
        b"BODY" | b"BODY.PEEK" if r.first() == Some(&b'[') => {
            let (r, section) = section(r)?;
            let (r, partial) = partial(r)?;
            return Ok((
                r,
                FetchAttr::BodySection {
                    peek: up.len() > 4,
                    section,
                    partial,
                },
            ));
        }
        b"BODY" => FetchAttr::Body,
        b"BINARY" | b"BINARY.PEEK" => {
            let (r, part) = binary_part(r)?;
            let (r, partial) = partial(r)?;
            return Ok((
                r,
                FetchAttr::Binary {
                    peek: up.len() > 6,
                    part,
                    partial,
                },
            ));
        }
        b"BINARY.SIZE" => {
            let (r, part) = binary_part(r)?;
            return Ok((r, FetchAttr::BinarySize { part }));
        }
        _ => return fail(i),
    };
    Ok((r, a))
}

/// `("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")`.
pub(crate) fn fetch_atts(i: &[u8]) -> PResult<'_, Vec<FetchAttr>> {
    if i.first() == Some(&b'(') {
        let (r, v) = paren_list(i, fetch_att)?;
        if v.is_empty() {
            return fail(i);
        }
        return Ok((r, v));
    }
    let n = i.iter().take_while(|&&b| is_atom_char(b)).count();
    let base = [
        FetchAttr::Flags,
        FetchAttr::InternalDate,
        FetchAttr::Rfc822Size,
    ];
    let word = &i[..n];
    if word.eq_ignore_ascii_case(b"FAST") {
        return Ok((&i[n..], base.to_vec()));
    }
    if word.eq_ignore_ascii_case(b"ALL") {
        let mut v = base.to_vec();
        v.push(FetchAttr::Envelope);
        return Ok((&i[n..], v));
    }
    if word.eq_ignore_ascii_case(b"FULL") {
        let mut v = base.to_vec();
        v.push(FetchAttr::Envelope);
        v.push(FetchAttr::Body);
        return Ok((&i[n..], v));
    }
    let (r, a) = fetch_att(i)?;
    Ok((r, vec![a]))
}

/// FETCH modifiers (CONDSTORE `CHANGEDSINCE`, QRESYNC `VANISHED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FetchModifiers {
    /// `CHANGEDSINCE n`
    pub changed_since: Option<u64>,
    /// `VANISHED` (UID FETCH only, with CHANGEDSINCE)
    pub vanished: bool,
}

pub(crate) fn fetch_modifiers(i: &[u8]) -> PResult<'_, FetchModifiers> {
    let mut m = FetchModifiers::default();
    let (r, items) = paren_list(i, |i| {
        if let Ok((r, _)) = kw("CHANGEDSINCE ")(i) {
            let (r, n) = number64(r)?;
            return Ok((r, (Some(n), false)));
        }
        let (r, _) = kw("VANISHED")(i)?;
        Ok((r, (None, true)))
    })?;
    for (c, v) in items {
        if let Some(c) = c {
            if m.changed_since.is_some() || c == 0 {
                return fail(i);
            }
            m.changed_since = Some(c);
        }
        m.vanished |= v;
    }
    Ok((r, m))
}

impl FetchModifiers {
    pub(crate) fn write(&self, w: &mut Writer) {
        if self.changed_since.is_none() && !self.vanished {
            return;
        }
        w.raw(b" (");
        if let Some(c) = self.changed_since {
            w.raw(b"CHANGEDSINCE ");
            w.num(c);
            if self.vanished {
                w.byte(b' ');
            }
        }
        if self.vanished {
            w.raw(b"VANISHED");
        }
        w.byte(b')');
    }
}

// ------------------------------------------------------------------ response side

/// One item of a `* n FETCH (...)` response. Structured values (ENVELOPE, BODY,
/// BODYSTRUCTURE) are carried as pre-rendered wire syntax, as produced by [`crate::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem<'a> {
    /// `FLAGS (...)`
    Flags(Vec<FlagFetch>),
    /// `UID n`
    Uid(u32),
    /// `INTERNALDATE "..."`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u32),
    /// `MODSEQ (n)`
    ModSeq(u64),
    /// `ENVELOPE (...)`, pre-rendered.
    Envelope(Cow<'a, [u8]>),
    /// `BODYSTRUCTURE (...)`, pre-rendered.
    BodyStructure(Cow<'a, [u8]>),
    /// `BODY (...)`, pre-rendered.
    Body(Cow<'a, [u8]>),
    /// `BODY[section]<origin> data`; data `None` is NIL.
    BodySection {
        /// The section as requested.
        section: Section,
        /// The partial's start, if a partial was requested.
        origin: Option<u32>,
        /// The bytes (always sent as a literal).
        data: Option<Cow<'a, [u8]>>,
    },
    /// `BINARY[part]<origin> data` (`~{n}` literal8 when the data has NUL bytes).
    Binary {
        /// Part number.
        part: Vec<u32>,
        /// The partial's start.
        origin: Option<u32>,
        /// Decoded bytes; `None` is NIL.
        data: Option<Cow<'a, [u8]>>,
    },
    /// `BINARY.SIZE[part] n`
    BinarySize {
        /// Part number.
        part: Vec<u32>,
        /// Decoded size.
        size: u32,
    },
    /// `RFC822 data`
    Rfc822(Option<Cow<'a, [u8]>>),
    /// `RFC822.HEADER data`
    Rfc822Header(Option<Cow<'a, [u8]>>),
    /// `RFC822.TEXT data`
    Rfc822Text(Option<Cow<'a, [u8]>>),
}

impl FetchItem<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> FetchItem<'static> {
        let o = |c: Cow<'_, [u8]>| Cow::Owned(c.into_owned());
        match self {
            FetchItem::Flags(f) => FetchItem::Flags(f),
            FetchItem::Uid(u) => FetchItem::Uid(u),
            FetchItem::InternalDate(d) => FetchItem::InternalDate(d),
            FetchItem::Rfc822Size(s) => FetchItem::Rfc822Size(s),
            FetchItem::ModSeq(m) => FetchItem::ModSeq(m),
            FetchItem::Envelope(c) => FetchItem::Envelope(o(c)),
            FetchItem::BodyStructure(c) => FetchItem::BodyStructure(o(c)),
            FetchItem::Body(c) => FetchItem::Body(o(c)),
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => FetchItem::BodySection {
                section,
                origin,
                data: data.map(o),
            },
            FetchItem::Binary { part, origin, data } => FetchItem::Binary {
                part,
                origin,
                data: data.map(o),
            },
            FetchItem::BinarySize { part, size } => FetchItem::BinarySize { part, size },
            FetchItem::Rfc822(d) => FetchItem::Rfc822(d.map(o)),
            FetchItem::Rfc822Header(d) => FetchItem::Rfc822Header(d.map(o)),
            FetchItem::Rfc822Text(d) => FetchItem::Rfc822Text(d.map(o)),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            FetchItem::Flags(f) => {
                w.raw(b"FLAGS ");
                write_list(w, f, |w, f| f.write(w));
            }
            FetchItem::Uid(u) => {
                w.raw(b"UID ");
                w.num(*u as u64)
            }
            FetchItem::InternalDate(d) => {
                w.raw(b"INTERNALDATE ");
                d.write(w)
            }
            FetchItem::Rfc822Size(s) => {
                w.raw(b"RFC822.SIZE ");
                w.num(*s as u64)
            }
            FetchItem::ModSeq(m) => {
                w.raw(b"MODSEQ (");
                w.num(*m);
                w.byte(b')')
            }
            FetchItem::Envelope(e) => {
                w.raw(b"ENVELOPE ");
                w.raw(e)
            }
            FetchItem::BodyStructure(e) => {
                w.raw(b"BODYSTRUCTURE ");
                w.raw(e)
            }
            FetchItem::Body(e) => {
                w.raw(b"BODY ");
                w.raw(e)
            }
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => {
                w.raw(b"BODY");
                write_section(w, section);
                write_origin(w, *origin);
                w.byte(b' ');
                w.nliteral(data.as_deref());
            }
            FetchItem::Binary { part, origin, data } => {
                w.raw(b"BINARY[");
                write_part(w, part);
                w.byte(b']');
                write_origin(w, *origin);
                w.byte(b' ');
                match data {
                    Some(d) if d.contains(&0) => {
                        w.byte(b'~');
                        w.literal(d)
                    }
                    other => w.nliteral(other.as_deref()),
                }
            }
            FetchItem::BinarySize { part, size } => {
                w.raw(b"BINARY.SIZE[");
                write_part(w, part);
                w.raw(b"] ");
                w.num(*size as u64)
            }
            FetchItem::Rfc822(d) => {
                w.raw(b"RFC822 ");
                w.nliteral(d.as_deref())
            }
            FetchItem::Rfc822Header(d) => {
                w.raw(b"RFC822.HEADER ");
                w.nliteral(d.as_deref())
            }
            FetchItem::Rfc822Text(d) => {
                w.raw(b"RFC822.TEXT ");
                w.nliteral(d.as_deref())
            }
        }
    }
}

fn write_origin(w: &mut Writer, origin: Option<u32>) {
    if let Some(o) = origin {
        w.byte(b'<');
        w.num(o as u64);
        w.byte(b'>');
    }
}

/// A parenthesised s-expression (ENVELOPE, BODYSTRUCTURE): returns its raw bytes.
pub(crate) fn sexpr(i: &[u8]) -> PResult<'_, &[u8]> {
    fn inner(i: &[u8], depth: usize) -> PResult<'_, ()> {
        if depth > 64 {
            return fail(i);
        }
        match i.first() {
            Some(b'(') => {
                let mut r = &i[1..];
                loop {
                    match r.first() {
                        Some(b')') => return Ok((&r[1..], ())),
                        Some(b' ') => r = &r[1..],
                        Some(_) => r = inner(r, depth + 1)?.0,
                        None => return fail(r),
                    }
                }
            }
            Some(b'"') | Some(b'{') => nstring(i).map(|(r, _)| (r, ())),
            Some(b'~') => {
                let (r, (n, _)) = literal_header(&i[1..])?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if r.len() < n {
                    return fail(i);
                }
                Ok((&r[n..], ()))
            }
            _ => {
                let n = i
                    .iter()
                    .take_while(|&&b| is_atom_char(b) || b == b'\\' || b == b']' || b == b'[')
                    .count();
                if n == 0 { fail(i) } else { Ok((&i[n..], ())) }
            }
        }
    }
    let (r, _) = inner(i, 0)?;
    Ok((r, &i[..i.len() - r.len()]))
}

fn nstring_or8(i: &[u8]) -> PResult<'_, Option<Cow<'_, [u8]>>> {
    if i.first() == Some(&b'~') {
        let (r, (n, _)) = literal_header(&i[1..])?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if r.len() < n {
            return fail(i);
        }
        return Ok((&r[n..], Some(Cow::Borrowed(&r[..n]))));
    }
    nstring(i)
}

fn origin(i: &[u8]) -> PResult<'_, Option<u32>> {
    if i.first() != Some(&b'<') {
        return Ok((i, None));
    }
    let (r, n) = number(&i[1..])?;
    let (r, _) = byte(b'>')(r)?;
    Ok((r, Some(n)))
}

/// One `msg-att` item of a FETCH response.
pub(crate) fn fetch_item(i: &[u8]) -> PResult<'_, FetchItem<'_>> {
    let n = i
        .iter()
        .take_while(|&&b| is_atom_char(b) && b != b'[')
        .count();
    let (name, r) = i.split_at(n);
    let (ubuf, ulen) = upper(name);
    let up = &ubuf[..ulen];
    if matches!(up, b"BODY" | b"BINARY" | b"BINARY.SIZE") && r.first() == Some(&b'[') {
        if up == b"BODY".as_slice() {
            let (r, section) = section(r)?;
            let (r, origin) = origin(r)?;
            let (r, _) = sp(r)?;
            let (r, data) = nstring(r)?;
            return Ok((
                r,
                FetchItem::BodySection {
                    section,
                    origin,
                    data,
                },
            ));
        }
        let (r, part) = binary_part(r)?;
        if up == b"BINARY.SIZE".as_slice() {
            let (r, _) = sp(r)?;
            let (r, size) = number(r)?;
            return Ok((r, FetchItem::BinarySize { part, size }));
        }
        let (r, origin) = origin(r)?;
        let (r, _) = sp(r)?;
        let (r, data) = nstring_or8(r)?;
        return Ok((r, FetchItem::Binary { part, origin, data }));
    }
    let (r, _) = sp(r)?;
    let item = match up {
        b"FLAGS" => {
            let (r, f) = paren_list(r, flag_fetch)?;
            return Ok((r, FetchItem::Flags(f)));
        }
        b"UID" => {
            let (r, u) = nz_number(r)?;
            return Ok((r, FetchItem::Uid(u)));
        }
        b"INTERNALDATE" => {
            let (r, d) = date_time(r)?;
            return Ok((r, FetchItem::InternalDate(d)));
        }
        b"RFC822.SIZE" => {
            let (r, s) = number(r)?;
            return Ok((r, FetchItem::Rfc822Size(s)));
        }
        b"MODSEQ" => {
            let (r, _) = byte(b'(')(r)?;
            let (r, m) = number64(r)?;
            let (r, _) = byte(b')')(r)?;
            return Ok((r, FetchItem::ModSeq(m)));
        }
        b"ENVELOPE" | b"BODYSTRUCTURE" | b"BODY" => {
            if r.first() != Some(&b'(') {
                return fail(r);
            }
            let (r2, raw) = sexpr(r)?;
            let c = Cow::Borrowed(raw);
            let it = match up {
                b"ENVELOPE" => FetchItem::Envelope(c),
                b"BODYSTRUCTURE" => FetchItem::BodyStructure(c),
                _ => FetchItem::Body(c),
            };
            return Ok((r2, it));
        }
        b"RFC822" => nstring(r).map(|(r, d)| (r, FetchItem::Rfc822(d)))?,
        b"RFC822.HEADER" => nstring(r).map(|(r, d)| (r, FetchItem::Rfc822Header(d)))?,
        b"RFC822.TEXT" => nstring(r).map(|(r, d)| (r, FetchItem::Rfc822Text(d)))?,
        _ => return fail(i),
    };
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs() {
        let (r, v) =
            fetch_atts(b"(UID BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[2] FLAGS)")
                .unwrap();
        assert!(r.is_empty());
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[1],
            FetchAttr::BodySection {
                peek: true,
                section: Section {
                    part: vec![1, 2],
                    text: Some(SectionText::HeaderFields(vec!["From".into(), "To".into()]))
                },
                partial: Some(Partial {
                    start: 0,
                    length: 100
                })
            }
        );
        assert_eq!(fetch_atts(b"ALL").unwrap().1.len(), 4);
        assert!(fetch_atts(b"BODY[MIME]").is_err());
        assert!(fetch_atts(b"BODY[1.MIME]").is_ok());
        assert!(fetch_atts(b"BODY[]<0.0>").is_err());
    }

    #[test]
    fn items_round_trip() {
        let it = FetchItem::BodySection {
            section: Section::default(),
            origin: Some(5),
            data: Some(Cow::Borrowed(b"ab\r\nc")),
        };
        let mut w = Writer::new(false);
        it.write(&mut w);
        assert_eq!(w.buf, b"BODY[]<5> {5}\r\nab\r\nc");
        assert_eq!(fetch_item(&w.buf).unwrap().1, it);
    }
}
