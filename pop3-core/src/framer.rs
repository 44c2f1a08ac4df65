//! [`Framer`]: the first parsing stage. Finds command lines in the input stream and enforces
//! the line-length limit; an oversize line is skipped through its end and reported once.

use memchr::memchr;

/// A line was longer than the limit; it has been discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLong;

#[derive(Debug, Default)]
pub(crate) struct Framer {
    buf: Vec<u8>,
    /// Start of unprocessed input.
    pos: usize,
    /// Bytes after `pos` already searched for LF without success.
    scanned: usize,
    /// Inside an oversize line: drop everything up to the next LF.
    discarding: bool,
}

impl Framer {
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        if self.discarding && self.pos == self.buf.len() {
            match memchr(b'\n', data) {
                // Keep the LF so that `next` reports the oversize line in order.
                Some(i) => data = &data[i..],
                None => return,
            }
        }
        self.buf.extend_from_slice(data);
    }

    /// Unprocessed octets.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when unprocessed input starts with `prefix` (ASCII case-insensitive).
    pub(crate) fn starts_with_ci(&self, prefix: &[u8]) -> bool {
        let data = &self.buf[self.pos..];
        data.len() >= prefix.len() && data[..prefix.len()].eq_ignore_ascii_case(prefix)
    }

    /// Releases a large buffer when nothing is buffered.
    pub(crate) fn shrink_if_idle(&mut self) {
        if self.pos == self.buf.len() && self.buf.capacity() > 4096 {
            self.buf = Vec::new();
            self.pos = 0;
            self.scanned = 0;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.scanned = 0;
        self.discarding = false;
    }

    pub(crate) fn slice(&self, r: std::ops::Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    /// The next complete line (without CRLF or LF), as a range for [`Framer::slice`] that is
    /// valid until the next call; `Err(TooLong)` for a line of more than `limit` octets
    /// including its terminator; `None` when no complete line is buffered.
    pub(crate) fn next(&mut self, limit: usize) -> Option<Result<std::ops::Range<usize>, TooLong>> {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let data = &self.buf[self.pos..];
        let found = memchr(b'\n', &data[self.scanned..]).map(|i| i + self.scanned);
        if self.discarding {
            return match found {
                Some(i) => {
                    self.pos += i + 1;
                    self.scanned = 0;
                    self.discarding = false;
                    Some(Err(TooLong))
                }
                None => {
                    self.buf.truncate(self.pos);
                    self.scanned = 0;
                    None
                }
            };
        }
        match found {
            None => {
                if data.len() >= limit {
                    self.buf.truncate(self.pos);
                    self.scanned = 0;
                    self.discarding = true;
                } else {
                    self.scanned = data.len();
                }
                None
            }
            Some(i) => {
                let start = self.pos;
                self.pos += i + 1;
                self.scanned = 0;
                if i + 1 > limit {
                    return Some(Err(TooLong));
                }
                let end = if i > 0 && self.buf[start + i - 1] == b'\r' {
                    start + i - 1
                } else {
                    start + i
                };
                Some(Ok(start..end))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: usize, chunk: usize) -> Vec<Result<Vec<u8>, TooLong>> {
        let mut f = Framer::default();
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            f.push(c);
            while let Some(r) = f.next(limit) {
                out.push(r.map(|r| f.slice(r).to_vec()));
            }
        }
        out
    }

    #[test]
    fn splits_lines_and_limits_length() {
        let input = b"STAT\r\nLIST\nxxxxxxxxxxxxxxxxxxxx\r\nNOOP\r\n123456789\r\nQUIT";
        for chunk in 1..=input.len() {
            assert_eq!(
                lines(input, 11, chunk),
                vec![
                    Ok(b"STAT".to_vec()),
                    Ok(b"LIST".to_vec()),
                    Err(TooLong),
                    Ok(b"NOOP".to_vec()),
                    Ok(b"123456789".to_vec()),
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn exact_limit_is_accepted() {
        assert_eq!(lines(b"abc\r\n", 5, 1), vec![Ok(b"abc".to_vec())]);
        assert_eq!(lines(b"abcd\r\n", 5, 1), vec![Err(TooLong)]);
        assert_eq!(lines(b"abcd\r\n", 5, 6), vec![Err(TooLong)]);
    }
}
