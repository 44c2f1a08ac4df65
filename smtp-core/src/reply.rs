//! SMTP replies: a code, an optional enhanced status code (RFC 3463) and text lines.

use std::fmt;

/// An enhanced status code `class.subject.detail` (RFC 3463), for example `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// Subject, 0..=999.
    pub subject: u16,
    /// Detail, 0..=999.
    pub detail: u16,
}

impl EnhancedCode {
    /// Builds a code; returns `None` unless class is 2, 4 or 5 and subject/detail are below 1000.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<Self> {
        if (class == 2 || class == 4 || class == 5) && subject < 1000 && detail < 1000 {
            Some(EnhancedCode {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    /// Parses `class.subject.detail` at the start of `text`; returns the code and the rest of
    /// the text after one optional space.
    pub fn parse_prefix(text: &str) -> Option<(Self, &str)> {
        let end = text.find(' ').unwrap_or(text.len());
        let mut parts = text[..end].split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some()
            || class.len() != 1
            || subject.is_empty()
            || subject.len() > 3
            || detail.is_empty()
            || detail.len() > 3
            || !subject.bytes().all(|b| b.is_ascii_digit())
            || !detail.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let code = EnhancedCode::new(
            class.parse().ok()?,
            subject.parse().ok()?,
            detail.parse().ok()?,
        )?;
        let rest = &text[end..];
        Some((code, rest.strip_prefix(' ').unwrap_or(rest)))
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Shorthand for a known-valid enhanced code in this crate.
pub(crate) const fn ec(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
    Some(EnhancedCode {
        class,
        subject,
        detail,
    })
}

/// An SMTP reply: three-digit code, optional enhanced status code, one or more text lines.
///
/// Text may contain line breaks: each line becomes one line of a multi-line reply. Control
/// characters are removed when the reply is written, so a reply can never inject a second reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced: Option<EnhancedCode>,
    lines: Vec<String>,
}

impl Reply {
    /// A reply; an enhanced status code at the start of `text` whose class matches the code
    /// (`"5.1.1 No such user"` with 550) is recognised as such.
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Reply::build(code, None, text.into())
    }

    /// A reply with an enhanced status code.
    pub fn with_enhanced(code: u16, enhanced: EnhancedCode, text: impl Into<String>) -> Self {
        Reply::build(code, Some(enhanced), text.into())
    }

    /// A reply from its parts as read from the wire (lines without code or enhanced code).
    pub fn from_parts(code: u16, enhanced: Option<EnhancedCode>, lines: Vec<String>) -> Self {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        Reply {
            code,
            enhanced,
            lines,
        }
    }

    pub(crate) fn build(code: u16, mut enhanced: Option<EnhancedCode>, mut text: String) -> Self {
        if enhanced.is_none()
            && let Some((e, rest)) = EnhancedCode::parse_prefix(&text)
            && u16::from(e.class) == code / 100
        {
            enhanced = Some(e);
            text = rest.to_owned();
        }
        let lines: Vec<String> = if text.contains(['\r', '\n']) {
            text.split('\n')
                .map(|l| l.trim_end_matches('\r').to_owned())
                .collect()
        } else {
            vec![text]
        };
        Reply::from_parts(code, enhanced, lines)
    }

    pub(crate) fn st(code: u16, enhanced: Option<EnhancedCode>, text: &str) -> Self {
        Reply {
            code,
            enhanced,
            lines: vec![text.to_owned()],
        }
    }

    /// The three-digit code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, if any.
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The text lines (without code and enhanced code).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// All text lines joined with a space.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// 2xx.
    pub fn is_positive_completion(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx.
    pub fn is_positive_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4xx.
    pub fn is_transient_failure(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx.
    pub fn is_permanent_failure(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// 4xx or 5xx.
    pub fn is_failure(&self) -> bool {
        (400..600).contains(&self.code)
    }

    /// Whether the code is a syntactically valid SMTP reply code (200..=599).
    pub fn is_valid_code(&self) -> bool {
        (200..600).contains(&self.code)
    }

    /// Writes the reply in wire format, CRLF-terminated, appending to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let n = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            let code = self.code.min(999);
            out.push(b'0' + (code / 100) as u8);
            out.push(b'0' + (code / 10 % 10) as u8);
            out.push(b'0' + (code % 10) as u8);
            out.push(if i + 1 == n { b' ' } else { b'-' });
            if let Some(e) = self.enhanced {
                out.extend_from_slice(e.to_string().as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            for &b in line.as_bytes() {
                if (b >= 0x20 && b != 0x7f) || b == b'\t' {
                    out.push(b);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The reply in wire format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
