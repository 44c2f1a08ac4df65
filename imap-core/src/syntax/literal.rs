//! Lexical items: atoms, numbers, quoted strings, literals, astrings, nstrings; parsers and
//! writers. Parsers work on one complete frame (the framer has already collected the literals).

use std::borrow::Cow;

use nom::{IResult, Parser, bytes::complete::take_while1, error::ErrorKind};

/// Result of the internal nom parsers.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T>;

pub(crate) fn fail<T>(i: &[u8]) -> PResult<'_, T> {
    Err(nom::Err::Error(nom::error::Error::new(
        i,
        ErrorKind::Verify,
    )))
}

const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0x21;
    while b < 0x7f {
        let atom = !matches!(
            b as u8,
            b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']'
        );
        let mut v = 0;
        if atom {
            v |= ATOM;
        }
        if atom || b == b']' as usize {
            v |= ASTRING;
            if b != b'+' as usize {
                v |= TAG;
            }
        }
        if atom || b == b']' as usize || b == b'%' as usize || b == b'*' as usize {
            v |= LIST;
        }
        t[b] = v;
        b += 1;
    }
    t
}
const ATOM: u8 = 1;
const ASTRING: u8 = 2;
const TAG: u8 = 4;
const LIST: u8 = 8;
static CLASS: [u8; 256] = class_table();

/// `ATOM-CHAR`.
#[inline]
pub fn is_atom_char(b: u8) -> bool {
    CLASS[b as usize] & ATOM != 0
}
/// `ASTRING-CHAR`.
#[inline]
pub fn is_astring_char(b: u8) -> bool {
    CLASS[b as usize] & ASTRING != 0
}
/// A character allowed in a tag.
#[inline]
pub fn is_tag_char(b: u8) -> bool {
    CLASS[b as usize] & TAG != 0
}
/// `list-char`: an atom char, a wildcard or `]`.
#[inline]
pub fn is_list_char(b: u8) -> bool {
    CLASS[b as usize] & LIST != 0
}

/// ASCII-uppercases a keyword into a stack buffer (no allocation); longer words give `b""`,
/// which matches no keyword.
#[inline]
pub(crate) fn upper(word: &[u8]) -> ([u8; 32], usize) {
    let mut buf = [0u8; 32];
    if word.len() > buf.len() {
        return (buf, 0);
    }
    for (d, s) in buf.iter_mut().zip(word) {
        *d = s.to_ascii_uppercase();
    }
    (buf, word.len())
}

/// `atom`: returns the bytes (always ASCII).
pub(crate) fn atom(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while1(is_atom_char).parse(i)
}

/// `atom` as `&str`.
pub(crate) fn atom_str(i: &[u8]) -> PResult<'_, &str> {
    let (r, a) = atom(i)?;
    // atom chars are ASCII
    Ok((r, std::str::from_utf8(a).unwrap_or_default()))
}

pub(crate) fn sp(i: &[u8]) -> PResult<'_, ()> {
    match i.first() {
        Some(b' ') => Ok((&i[1..], ())),
        _ => fail(i),
    }
}

pub(crate) fn byte(c: u8) -> impl Fn(&[u8]) -> PResult<'_, ()> {
    move |i: &[u8]| match i.first() {
        Some(&b) if b == c => Ok((&i[1..], ())),
        _ => fail(i),
    }
}

/// Case-insensitive keyword (ASCII).
pub(crate) fn kw<'a>(k: &'static str) -> impl Fn(&'a [u8]) -> PResult<'a, ()> {
    move |i: &'a [u8]| {
        let k = k.as_bytes();
        if i.len() >= k.len() && i[..k.len()].eq_ignore_ascii_case(k) {
            Ok((&i[k.len()..], ()))
        } else {
            fail(i)
        }
    }
}

/// `CRLF` (a bare LF is accepted too, like most servers do).
pub(crate) fn crlf(i: &[u8]) -> PResult<'_, ()> {
    match i {
        [b'\r', b'\n', rest @ ..] => Ok((rest, ())),
        [b'\n', rest @ ..] => Ok((rest, ())),
        _ => fail(i),
    }
}

/// `number`: 1*DIGIT fitting u32.
pub(crate) fn number(i: &[u8]) -> PResult<'_, u32> {
    let (r, n) = number64(i)?;
    match u32::try_from(n) {
        Ok(v) => Ok((r, v)),
        Err(_) => fail(i),
    }
}

/// `nz-number`.
pub(crate) fn nz_number(i: &[u8]) -> PResult<'_, u32> {
    let (r, n) = number(i)?;
    if n == 0 { fail(i) } else { Ok((r, n)) }
}

/// `number64`: 1*DIGIT up to 2^63-1.
pub(crate) fn number64(i: &[u8]) -> PResult<'_, u64> {
    let mut n: u64 = 0;
    let mut len = 0;
    for &b in i {
        if !b.is_ascii_digit() {
            break;
        }
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add((b - b'0') as u64))
        {
            Some(v) if v <= i64::MAX as u64 => v,
            _ => return fail(i),
        };
        len += 1;
    }
    if len == 0 {
        fail(i)
    } else {
        Ok((&i[len..], n))
    }
}

/// `quoted`: the unescaped content, borrowed when there are no escapes. 8-bit content must be
/// valid UTF-8 (IMAP4rev2 `QUOTED-CHAR`); CR, LF and NUL are never allowed.
pub(crate) fn quoted(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    quoted_checked(i, true)
}

/// `quoted` whose 8-bit content is not checked as UTF-8: for SEARCH strings in a declared
/// non-UTF-8 `CHARSET`, which the caller decodes.
pub(crate) fn quoted_8bit(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    quoted_checked(i, false)
}

fn quoted_checked(i: &[u8], utf8_only: bool) -> PResult<'_, Cow<'_, [u8]>> {
    if i.first() != Some(&b'"') {
        return fail(i);
    }
    let body = &i[1..];
    let mut owned: Option<Vec<u8>> = None;
    let mut k = 0;
    let mut start = 0;
    let mut eight_bit = false;
    while k < body.len() {
        match body[k] {
            b'"' => {
                let content: Cow<'_, [u8]> = match owned {
                    Some(mut v) => {
                        v.extend_from_slice(&body[start..k]);
                        Cow::Owned(v)
                    }
                    None => Cow::Borrowed(&body[..k]),
                };
                if utf8_only && eight_bit && std::str::from_utf8(&content).is_err() {
                    return fail(i);
                }
                return Ok((&body[k + 1..], content));
            }
            b'\\' => {
                match body.get(k + 1) {
                    Some(&c @ (b'"' | b'\\')) => {
                        let v = owned.get_or_insert_with(Vec::new);
                        v.extend_from_slice(&body[start..k]);
                        v.push(c);
                        k += 2;
                        start = k;
                    }
                    _ => return fail(i),
                }
                continue;
            }
            b'\r' | b'\n' | 0 => return fail(i),
            b if b >= 0x80 => eight_bit = true,
            _ => {}
        }
        k += 1;
    }
    fail(i)
}

/// A literal header `{n}`, `{n+}` or `{n-}` followed by CRLF: returns the length.
pub(crate) fn literal_header(i: &[u8]) -> PResult<'_, (u64, LiteralKind)> {
    let (i, _) = byte(b'{')(i)?;
    let (i, n) = number64(i)?;
    let (i, kind) = match i.first() {
        Some(b'+') => (&i[1..], LiteralKind::NonSyncPlus),
        Some(b'-') => (&i[1..], LiteralKind::NonSyncMinus),
        _ => (i, LiteralKind::Sync),
    };
    let (i, _) = byte(b'}')(i)?;
    let (i, _) = crlf(i)?;
    Ok((i, (n, kind)))
}

/// The flavour of a literal (RFC 7888).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiteralKind {
    /// `{n}`: the client waits for a continuation request.
    Sync,
    /// `{n+}`: LITERAL+, any size.
    NonSyncPlus,
    /// `{n-}`: LITERAL-, at most 4096 bytes.
    NonSyncMinus,
}

/// `literal`: the data bytes.
pub(crate) fn literal(i: &[u8]) -> PResult<'_, &[u8]> {
    let (r, (n, _)) = literal_header(i)?;
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if r.len() < n {
        return fail(i);
    }
    Ok((&r[n..], &r[..n]))
}

/// `string = quoted / literal`.
pub(crate) fn string(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    match i.first() {
        Some(b'"') => quoted(i),
        Some(b'{') => literal(i).map(|(r, l)| (r, Cow::Borrowed(l))),
        _ => fail(i),
    }
}

/// `astring = 1*ASTRING-CHAR / string`.
pub(crate) fn astring(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    match i.first() {
        Some(b'"') | Some(b'{') => string(i),
        _ => take_while1(is_astring_char)
            .parse(i)
            .map(|(r, a)| (r, Cow::Borrowed(a))),
    }
}

/// `nstring = string / nil`.
pub(crate) fn nstring(i: &[u8]) -> PResult<'_, Option<Cow<'_, [u8]>>> {
    if let Ok((r, _)) = kw("NIL")(i) {
        return Ok((r, None));
    }
    string(i).map(|(r, s)| (r, Some(s)))
}

/// A string that must be UTF-8, as an owned `String`.
pub(crate) fn utf8<'a>(
    i: &'a [u8],
    c: Cow<'_, [u8]>,
) -> Result<String, nom::Err<nom::error::Error<&'a [u8]>>> {
    match c {
        Cow::Borrowed(b) => std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| nom::Err::Error(nom::error::Error::new(i, ErrorKind::Verify))),
        Cow::Owned(v) => String::from_utf8(v)
            .map_err(|_| nom::Err::Error(nom::error::Error::new(i, ErrorKind::Verify))),
    }
}

/// `astring` as a UTF-8 `String`.
pub(crate) fn astring_utf8(i: &[u8]) -> PResult<'_, String> {
    let (r, s) = astring(i)?;
    Ok((r, utf8(i, s)?))
}

/// `string` as UTF-8.
pub(crate) fn string_utf8(i: &[u8]) -> PResult<'_, String> {
    let (r, s) = string(i)?;
    Ok((r, utf8(i, s)?))
}

/// `nstring` as UTF-8.
pub(crate) fn nstring_utf8(i: &[u8]) -> PResult<'_, Option<String>> {
    let (r, s) = nstring(i)?;
    match s {
        None => Ok((r, None)),
        Some(s) => Ok((r, Some(utf8(i, s)?))),
    }
}

// ---------------------------------------------------------------- writers

/// Writes wire syntax. `utf8` is set once the client enabled UTF8=ACCEPT or IMAP4rev2 (8-bit
/// text allowed in quoted strings, mailbox names sent as UTF-8).
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
    /// Whether UTF-8 may be written in quoted strings and mailbox names.
    pub utf8: bool,
    /// Client side: write literals as `{n+}` (LITERAL+) instead of `{n}`.
    pub literal_plus: bool,
    /// Client side: offsets in `buf` after which the client must wait for a continuation request.
    pub sync_points: Vec<usize>,
}

impl Writer {
    /// A writer with the given UTF-8 mode.
    pub fn new(utf8: bool) -> Self {
        Writer {
            utf8,
            ..Default::default()
        }
    }
    #[inline]
    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }
    #[inline]
    pub(crate) fn num(&mut self, n: u64) {
        let mut tmp = [0u8; 20];
        let mut k = tmp.len();
        let mut n = n;
        loop {
            k -= 1;
            tmp[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.buf.extend_from_slice(&tmp[k..]);
    }

    /// Writes a literal (`{n}` CRLF data, or `{n+}` on a LITERAL+ client).
    pub fn literal(&mut self, data: &[u8]) {
        self.byte(b'{');
        self.num(data.len() as u64);
        if self.literal_plus {
            self.byte(b'+');
        }
        self.raw(b"}\r\n");
        if !self.literal_plus {
            self.sync_points.push(self.buf.len());
        }
        self.raw(data);
    }

    /// Writes `data` as a quoted string if it can be, else as a literal: CR, LF, NUL, more than
    /// 1024 bytes, or 8-bit data (unless in UTF-8 mode and valid UTF-8) force a literal.
    pub fn string(&mut self, data: &[u8]) {
        if self.quotable(data) {
            self.byte(b'"');
            for &b in data {
                if b == b'"' || b == b'\\' {
                    self.byte(b'\\');
                }
                self.byte(b);
            }
            self.byte(b'"');
        } else {
            self.literal(data);
        }
    }

    fn quotable(&self, data: &[u8]) -> bool {
        if data.len() > 1024 {
            return false;
        }
        let mut eight = false;
        for &b in data {
            match b {
                0 | b'\r' | b'\n' => return false,
                0x80.. => eight = true,
                _ => {}
            }
        }
        !eight || (self.utf8 && std::str::from_utf8(data).is_ok())
    }

    /// Writes an astring: an atom when possible, else [`Writer::string`].
    pub fn astring(&mut self, data: &[u8]) {
        if !data.is_empty() && data.iter().all(|&b| is_astring_char(b)) {
            self.raw(data);
        } else {
            self.string(data);
        }
    }

    /// Writes an nstring.
    pub fn nstring(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => self.string(d),
            None => self.raw(b"NIL"),
        }
    }

    /// Writes data that is always sent as a literal (message content), or NIL.
    pub fn nliteral(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => self.literal(d),
            None => self.raw(b"NIL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_unescapes() {
        let (r, q) = quoted(b"\"a\\\"b\\\\c\" rest").unwrap();
        assert_eq!(&*q, b"a\"b\\c");
        assert_eq!(r, b" rest");
        assert!(quoted(b"\"a\rb\"").is_err());
        assert!(quoted(b"\"\xff\"").is_err());
        assert_eq!(
            &*quoted("\"收件箱\"".as_bytes()).unwrap().1,
            "收件箱".as_bytes()
        );
    }

    #[test]
    fn literal_kinds() {
        assert_eq!(literal(b"{3}\r\nabcX").unwrap(), (&b"X"[..], &b"abc"[..]));
        assert_eq!(literal(b"{3+}\r\nabc").unwrap().1, b"abc");
        assert!(literal(b"{3}\r\nab").is_err());
    }

    #[test]
    fn writer_chooses_quoted_or_literal() {
        let mut w = Writer::new(false);
        w.string(b"a\"b");
        w.byte(b' ');
        w.string(b"a\r\nb");
        w.byte(b' ');
        w.string("中".as_bytes());
        assert_eq!(w.buf, b"\"a\\\"b\" {4}\r\na\r\nb {3}\r\n\xe4\xb8\xad");
        let mut w = Writer::new(true);
        w.string("中".as_bytes());
        assert_eq!(w.buf, "\"中\"".as_bytes());
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"4294967295 ").unwrap().1, u32::MAX);
        assert!(number(b"4294967296").is_err());
        assert!(nz_number(b"0").is_err());
        assert!(number64(b"99999999999999999999").is_err());
    }
}
