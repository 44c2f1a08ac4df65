//! Mailbox names: [`Mailbox`], the modified UTF-7 codec (RFC 3501 5.1.3), UTF-8 names once
//! UTF8=ACCEPT is enabled (RFC 6855), and LIST wildcard matching.

use std::fmt;

use super::literal::{PResult, Writer, astring, fail, is_list_char, string};
use crate::error::Error;

/// A mailbox name, decoded to Unicode. `INBOX` is case-insensitive and always stored as `INBOX`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox(String);

impl Mailbox {
    /// A mailbox from its Unicode name (`"收件箱"`, `"INBOX"`). Names with CR, LF or NUL are refused.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() || name.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(Error::InvalidValue("mailbox name"));
        }
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok(Mailbox("INBOX".into()));
        }
        Ok(Mailbox(name))
    }

    /// The empty name: the hierarchy root, as in the answer to `LIST "" ""`. Never produced by
    /// the command parser.
    pub fn root() -> Self {
        Mailbox(String::new())
    }

    /// The Unicode name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `INBOX`.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// Writes the name as an astring: UTF-8 in UTF-8 mode, else modified UTF-7 (in which only
    /// printable ASCII other than `&` stands for itself; a control character is encoded).
    pub(crate) fn write(&self, w: &mut Writer) {
        if w.utf8
            || self
                .0
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'&')
        {
            w.astring(self.0.as_bytes());
        } else {
            let enc = encode_utf7(&self.0);
            w.astring(enc.as_bytes());
        }
    }

    /// Decodes a name as sent on the wire.
    pub fn from_wire(bytes: &[u8], utf8_mode: bool) -> Result<Self, Error> {
        let s =
            std::str::from_utf8(bytes).map_err(|_| Error::Parse("mailbox name is not UTF-8"))?;
        if utf8_mode || !s.is_ascii() {
            // RFC 6855 (or a client sending raw UTF-8, which is unambiguous).
            Mailbox::new(s)
        } else if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'&') {
            // Plain printable ASCII is its own modified UTF-7 encoding.
            Mailbox::new(s)
        } else {
            Mailbox::new(decode_utf7(s)?)
        }
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a Unicode name in modified UTF-7.
pub fn encode_utf7(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    let flush = |out: &mut String, pending: &mut Vec<u16>| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            let chars = match chunk.len() {
                1 => 2,
                2 => 3,
                _ => 4,
            };
            for k in 0..chars {
                out.push(B64[((n >> (18 - 6 * k)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

/// Decodes modified UTF-7, strictly: bad base64, non-zero padding bits, an unterminated shift,
/// or a shift that encodes printable ASCII is an error.
pub fn decode_utf7(s: &str) -> Result<String, Error> {
    let err = || Error::Parse("invalid modified UTF-7 mailbox name");
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut k = 0;
    while k < b.len() {
        let c = b[k];
        if !(0x20..0x7f).contains(&c) {
            return Err(err());
        }
        if c != b'&' {
            out.push(c as char);
            k += 1;
            continue;
        }
        let end = b[k + 1..].iter().position(|&x| x == b'-').ok_or_else(err)? + k + 1;
        let enc = &b[k + 1..end];
        k = end + 1;
        if enc.is_empty() {
            out.push('&');
            continue;
        }
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut units: Vec<u16> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        for &e in enc {
            let v = B64.iter().position(|&x| x == e).ok_or_else(err)? as u32;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                bytes.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        if nbits >= 6 || bits != 0 || !bytes.len().is_multiple_of(2) {
            return Err(err());
        }
        for p in bytes.chunks(2) {
            units.push(u16::from_be_bytes([p[0], p[1]]));
        }
        for ch in char::decode_utf16(units.iter().copied()) {
            let ch = ch.map_err(|_| err())?;
            if (' '..='~').contains(&ch) {
                return Err(err());
            }
            out.push(ch);
        }
    }
    Ok(out)
}

/// `mailbox` (astring), decoded.
pub(crate) fn mailbox(i: &[u8], utf8_mode: bool) -> PResult<'_, Mailbox> {
    let (r, raw) = astring(i)?;
    match Mailbox::from_wire(&raw, utf8_mode) {
        Ok(m) => Ok((r, m)),
        Err(_) => fail(i),
    }
}

/// `list-mailbox = 1*list-char / string`, decoded like a mailbox name (may be empty).
pub(crate) fn list_mailbox(i: &[u8], utf8_mode: bool) -> PResult<'_, String> {
    let (r, raw) = match i.first() {
        Some(b'"') | Some(b'{') => string(i)?,
        _ => {
            let n = i.iter().take_while(|&&b| is_list_char(b)).count();
            if n == 0 {
                return fail(i);
            }
            (&i[n..], std::borrow::Cow::Borrowed(&i[..n]))
        }
    };
    let s = match std::str::from_utf8(&raw) {
        Ok(s) => s,
        Err(_) => return fail(i),
    };
    if utf8_mode || !s.is_ascii() {
        Ok((r, s.to_owned()))
    } else {
        match decode_utf7(s) {
            Ok(d) => Ok((r, d)),
            Err(_) => fail(i),
        }
    }
}

/// LIST pattern matching (RFC 9051 6.3.9): `*` matches anything, `%` anything but the
/// hierarchy delimiter. The reference is prefixed to the pattern. `INBOX` matches
/// case-insensitively.
pub fn list_matches(reference: &str, pattern: &str, name: &str, delimiter: Option<char>) -> bool {
    let full: String = format!("{reference}{pattern}");
    let p: Vec<char> = full.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if wild(&p, &n, delimiter) {
        return true;
    }
    // INBOX is case-insensitive: also try with the pattern's INBOX prefix normalised.
    if full.len() >= 5 && full[..5].eq_ignore_ascii_case("INBOX") && full.is_char_boundary(5) {
        let alt: Vec<char> = format!("INBOX{}", &full[5..]).chars().collect();
        return wild(&alt, &n, delimiter);
    }
    false
}

fn wild(p: &[char], n: &[char], d: Option<char>) -> bool {
    // Iterative matcher with backtracking over the last star; `%` handled recursively
    // (patterns are short).
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|k| wild(&p[1..], &n[k..], d)),
        Some('%') => {
            let mut k = 0;
            loop {
                if wild(&p[1..], &n[k..], d) {
                    return true;
                }
                if k == n.len() || Some(n[k]) == d {
                    return false;
                }
                k += 1;
            }
        }
        Some(&c) => n.first() == Some(&c) && wild(&p[1..], &n[1..], d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf7_known_values() {
        assert_eq!(encode_utf7("收件箱"), "&ZTZO9nux-");
        assert_eq!(decode_utf7("&ZTZO9nux-").unwrap(), "收件箱");
        assert_eq!(encode_utf7("R&D"), "R&-D");
        assert_eq!(decode_utf7("R&-D").unwrap(), "R&D");
        assert_eq!(
            decode_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(),
            "~peter/mail/台北/日本語"
        );
        assert!(decode_utf7("&Jjo!").is_err());
        assert!(decode_utf7("&AGE-").is_err()); // encodes 'a'
        assert!(decode_utf7("R&D").is_err());
    }

    #[test]
    fn inbox_normalised() {
        assert!(Mailbox::new("inBox").unwrap().is_inbox());
        assert!(Mailbox::new("").is_err());
    }

    #[test]
    fn wildcards() {
        assert!(list_matches("", "*", "a/b", Some('/')));
        assert!(list_matches("", "%", "a", Some('/')));
        assert!(!list_matches("", "%", "a/b", Some('/')));
        assert!(list_matches("a/", "%", "a/b", Some('/')));
        assert!(list_matches("", "inbox", "INBOX", Some('/')));
        assert!(list_matches("", "已%", "已发送", Some('/')));
    }
}
