//! Reading replies (client side): nom parses each reply line, the parser joins multi-line
//! replies (RFC 5321 section 4.2.1).

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_while_m_n},
    combinator::{eof, rest},
};

use crate::reply::{EnhancedCode, Reply};

/// One reply line: code, whether more lines follow, text.
fn reply_line(i: &[u8]) -> IResult<&[u8], (u16, bool, &[u8])> {
    let (i, code) = take_while_m_n(3, 3, |b: u8| b.is_ascii_digit()).parse(i)?;
    let (i, sep) = alt((tag(&b" "[..]), tag(&b"-"[..]), eof)).parse(i)?;
    let (i, text) = rest(i)?;
    let code = u16::from(code[0] - b'0') * 100
        + u16::from(code[1] - b'0') * 10
        + u16::from(code[2] - b'0');
    Ok((i, (code, sep == b"-", text)))
}

/// Why reply input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Not `ddd[ -]text`, or a code outside 200..=599.
    #[error("malformed reply line")]
    Malformed,
    /// A continuation line with a different code.
    #[error("reply code changed inside a multi-line reply")]
    CodeMismatch,
    /// More lines than the limit.
    #[error("reply has too many lines")]
    TooManyLines,
}

/// Collects reply lines into [`Reply`] values.
#[derive(Debug, Default, Clone)]
pub struct ReplyParser {
    code: Option<u16>,
    enhanced: Option<EnhancedCode>,
    lines: Vec<String>,
}

/// Most lines in one reply (an EHLO reply has about 15).
pub const MAX_REPLY_LINES: usize = 256;

impl ReplyParser {
    /// A parser between replies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one line (without CRLF). Returns the reply when this was its last line.
    pub fn line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let (_, (code, more, text)) = reply_line(line).map_err(|_| ReplyError::Malformed)?;
        // textstring = 1*(%d09 / %d32-126), plus UTF-8 (RFC 5321, RFC 6531).
        if !(200..600).contains(&code) || text.iter().any(|&b| (b < 32 && b != 9) || b == 127) {
            return Err(ReplyError::Malformed);
        }
        if let Some(c) = self.code
            && c != code
        {
            return Err(ReplyError::CodeMismatch);
        }
        if self.lines.len() >= MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines);
        }
        let text = String::from_utf8_lossy(text);
        let mut text: &str = &text;
        if self.code.is_none() {
            self.code = Some(code);
            if let Some((e, r)) = EnhancedCode::parse_prefix(text)
                && u16::from(e.class) == code / 100
            {
                self.enhanced = Some(e);
                text = r;
            }
        } else if let Some(e) = self.enhanced
            && let Some((e2, r)) = EnhancedCode::parse_prefix(text)
            && e2 == e
        {
            text = r;
        }
        self.lines.push(text.to_owned());
        if more {
            return Ok(None);
        }
        let lines = std::mem::take(&mut self.lines);
        let enhanced = self.enhanced.take();
        self.code = None;
        Ok(Some(Reply::from_parts(code, enhanced, lines)))
    }
}

/// Parses a complete reply (one or more CRLF-terminated lines) from `input`. Returns the reply
/// and the number of bytes used, `Ok(None)` if incomplete.
pub fn parse_reply(input: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut p = ReplyParser::new();
    let mut pos = 0;
    while let Some(i) = memchr::memchr(b'\n', &input[pos..]) {
        let end = pos + i;
        let line = &input[pos..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = end + 1;
        if let Some(r) = p.line(line)? {
            return Ok(Some((r, pos)));
        }
    }
    Ok(None)
}
