//! Line framing for command mode: finds the next line, bounded by the configured limit.

/// What [`next_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// No complete line yet.
    Incomplete,
    /// Discarding an overlong line: drop this many bytes, the line has not ended yet.
    Skip(usize),
    /// A line longer than the limit: drop `consumed` bytes; `ended` if its LF was included.
    TooLong { consumed: usize, ended: bool },
    /// A line of `len` bytes (without CRLF / LF) taking `consumed` bytes.
    Line {
        len: usize,
        consumed: usize,
        bare_lf: bool,
    },
}

/// Finds the next line in `buf`. While `discarding`, the rest of an overlong line is skipped
/// (the line that ends it is returned as a `Line` for the caller to drop).
pub(crate) fn next_line(buf: &[u8], max: usize, discarding: bool) -> Frame {
    if discarding {
        return match memchr::memchr(b'\n', buf) {
            Some(i) => Frame::Line {
                len: i,
                consumed: i + 1,
                bare_lf: false,
            },
            None if buf.is_empty() => Frame::Incomplete,
            None => Frame::Skip(buf.len()),
        };
    }
    let limit = max.saturating_add(2);
    let window = &buf[..buf.len().min(limit)];
    match memchr::memchr(b'\n', window) {
        Some(i) => {
            let crlf = i > 0 && buf[i - 1] == b'\r';
            let len = if crlf { i - 1 } else { i };
            if len > max {
                Frame::TooLong {
                    consumed: i + 1,
                    ended: true,
                }
            } else {
                Frame::Line {
                    len,
                    consumed: i + 1,
                    bare_lf: !crlf,
                }
            }
        }
        None if buf.len() >= limit => Frame::TooLong {
            consumed: limit,
            ended: false,
        },
        None => Frame::Incomplete,
    }
}
