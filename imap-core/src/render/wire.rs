//! IMAP wire syntax for the values rendered here: `string`, `nstring`, `NIL`.
//!
//! A string goes out quoted when every byte is 7-bit and neither CR, LF nor NUL (`"` and `\`
//! are escaped), and as a synchronizing literal `{n}\r\n...` otherwise, so 8-bit data (UTF-8 or
//! raw GBK) and line breaks are never quoted. NUL cannot appear in a `literal` (RFC 9051
//! `CHAR8`), so NUL bytes are dropped.

/// Appends an IMAP `string`.
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.contains(&0) {
        let cleaned: Vec<u8> = s.iter().copied().filter(|&b| b != 0).collect();
        return string(out, &cleaned);
    }
    if s.iter().all(|&b| b < 0x80 && b != b'\r' && b != b'\n') {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.push(b'{');
        out.extend_from_slice(s.len().to_string().as_bytes());
        out.extend_from_slice(b"}\r\n");
        out.extend_from_slice(s);
    }
}

/// Appends an IMAP `nstring`: `NIL` for `None`.
pub(crate) fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        string(&mut v, s);
        v
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(w(b"abc"), b"\"abc\"");
        assert_eq!(w(b""), b"\"\"");
        assert_eq!(w(b"a\"b\\c"), b"\"a\\\"b\\\\c\"");
        assert_eq!(w(b"a\r\nb"), b"{4}\r\na\r\nb");
        assert_eq!(w("中".as_bytes()), b"{3}\r\n\xe4\xb8\xad");
        assert_eq!(w(b"\xd6\xd0"), b"{2}\r\n\xd6\xd0");
        assert_eq!(w(b"a\0b"), b"\"ab\"");
        let mut v = Vec::new();
        nstring(&mut v, None);
        assert_eq!(v, b"NIL");
    }
}
