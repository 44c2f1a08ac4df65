//! The first parsing stage: where does a command (line plus literals) end?
//!
//! The server runs this logic incrementally (it must answer synchronizing literals with a
//! continuation request before their data arrives); [`frame_command`] is the same rule over a
//! buffer that already holds everything, for proxies, replay tools and benchmarks.

use crate::syntax::LiteralKind;

/// Result of [`frame_command`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A complete command of this many bytes (CRLF and literals included).
    Complete(usize),
    /// More input is needed.
    Incomplete,
    /// A line is longer than `max_line` or a literal larger than `max_literal`.
    TooLong,
}

/// Finds the end of the first command in `buf`.
pub fn frame_command(buf: &[u8], max_line: usize, max_literal: u64) -> Frame {
    let mut scan = 0;
    let mut line_len = 0;
    loop {
        let Some(pos) = memchr::memchr(b'\n', &buf[scan..]) else {
            return if line_len + buf.len() - scan > max_line {
                Frame::TooLong
            } else {
                Frame::Incomplete
            };
        };
        let lf = scan + pos;
        line_len += pos + 1;
        if line_len > max_line {
            return Frame::TooLong;
        }
        match literal_marker(&buf[scan..=lf]) {
            None => return Frame::Complete(lf + 1),
            Some((n, _)) if n > max_literal => return Frame::TooLong,
            Some((n, _)) => {
                let end = lf + 1 + n as usize;
                if end > buf.len() {
                    return Frame::Incomplete;
                }
                scan = end;
            }
        }
    }
}

/// How many complete commands `buf` holds, counting at most to `limit + 1`. Literal data is
/// skipped, so the lines of a pipelined APPEND message do not count as commands.
pub(crate) fn count_commands(buf: &[u8], limit: usize) -> usize {
    let (mut count, mut scan) = (0, 0);
    while count <= limit {
        let Some(pos) = memchr::memchr(b'\n', &buf[scan..]) else {
            break;
        };
        let lf = scan + pos;
        match literal_marker(&buf[scan..=lf]) {
            None => {
                count += 1;
                scan = lf + 1;
            }
            Some((n, _)) => match usize::try_from(n)
                .ok()
                .and_then(|n| (lf + 1).checked_add(n))
            {
                Some(end) if end <= buf.len() => scan = end,
                _ => break,
            },
        }
    }
    count
}

/// If the line (ending in LF) ends with a literal header `{n}`, `{n+}` or `{n-}`, its size and
/// kind.
pub(crate) fn literal_marker(line: &[u8]) -> Option<(u64, LiteralKind)> {
    let mut end = line.len().checked_sub(1)?; // LF
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    let body = &line[..end];
    if body.last() != Some(&b'}') {
        return None;
    }
    let open = memchr::memrchr(b'{', body)?;
    let inner = &body[open + 1..body.len() - 1];
    let (digits, kind) = match inner.last() {
        Some(b'+') => (&inner[..inner.len() - 1], LiteralKind::NonSyncPlus),
        Some(b'-') => (&inner[..inner.len() - 1], LiteralKind::NonSyncMinus),
        _ => (inner, LiteralKind::Sync),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let b = b"a LOGIN {3}\r\nabc {2+}\r\nde\r\nb NOOP\r\n";
        assert_eq!(frame_command(b, 100, 10), Frame::Complete(27));
        assert_eq!(frame_command(&b[..20], 100, 10), Frame::Incomplete);
        assert_eq!(frame_command(b, 100, 2), Frame::TooLong);
        assert_eq!(frame_command(b"a NOOP", 3, 2), Frame::TooLong);
        assert_eq!(
            literal_marker(b"a LOGIN {5}\r\n"),
            Some((5, LiteralKind::Sync))
        );
        assert_eq!(
            literal_marker(b"a LOGIN {5+}\n"),
            Some((5, LiteralKind::NonSyncPlus))
        );
        assert_eq!(
            literal_marker(b"a LOGIN {5-}\r\n"),
            Some((5, LiteralKind::NonSyncMinus))
        );
        assert_eq!(literal_marker(b"a LOGIN {}\r\n"), None);
        assert_eq!(literal_marker(b"a LOGIN x}\r\n"), None);
        assert_eq!(literal_marker(b"a {99999999999999999999}\r\n"), None);
    }

    #[test]
    fn counts_commands_not_literal_lines() {
        let b = b"a APPEND x {12+}\r\n1\r\n2\r\n3\r\n4\r\n\r\nb NOOP\r\nc NOOP\r\nd NO";
        assert_eq!(count_commands(b, 10), 3);
        assert_eq!(count_commands(b, 1), 2, "stops counting past the limit");
        assert_eq!(count_commands(b"a APPEND x {100+}\r\n1\r\n2\r\n", 10), 0);
        assert_eq!(count_commands(b"a NOOP\r\nb NOOP\nc", 10), 2);
        assert_eq!(count_commands(b"a {9999999999999999999}\r\nx\r\n", 10), 0);
    }
}
