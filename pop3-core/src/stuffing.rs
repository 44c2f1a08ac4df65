//! Multi-line response encoding (RFC 1939 section 3): byte-stuffing, CRLF normalisation and
//! the TOP cut, streaming over chunks of any size.
//!
//! The encoder locates LFs a block at a time; runs of bytes that need no change are queued as
//! zero-copy slices of the host's [`Bytes`] when they are large, and copied otherwise.

use bytes::Bytes;
use memchr::memchr;

use crate::output::Output;

/// Clean runs at least this long are queued without copying. Shorter runs (between two
/// insertions) are copied, so that a host writing [`crate::Server::transmit`] one slice at a
/// time does not make a system call per line; [`crate::Server::transmit_vectored`] takes
/// many slices at once.
const ZERO_COPY_MIN: usize = 1024;

/// Octets tested at once for an LF.
const BLOCK: usize = 16;

/// LF positions are collected for this many octets at a time, then handled.
const SUB_WINDOW: usize = 1024;

/// Writes to `pos` the offsets of the LFs in `s[from..to]` (at most [`SUB_WINDOW`] octets)
/// that may need work, and returns how many: with `all`, every LF (TOP counts lines);
/// otherwise at least every LF not preceded by CR or followed by `.`.
///
/// A tight loop on its own, so that it stays in registers. Each 16-octet block is tested with
/// branch-free compares against its neighbours shifted by one octet (the compiler vectorises
/// them); only blocks that hold such an LF are walked, without branches. Clean CRLF text is
/// thus never visited line by line.
fn find_lfs(
    s: &[u8],
    from: usize,
    to: usize,
    all: bool,
    pos: &mut [usize; SUB_WINDOW + BLOCK],
) -> usize {
    let mut n = 0;
    let mut i = from;
    if i == 0 {
        // No previous octet in this chunk: on_lf looks at the encoder's state.
        pos[0] = 0;
        n += usize::from(s[0] == b'\n');
        i = 1;
    }
    let all = u8::from(all);
    while i + BLOCK <= to && i + BLOCK < s.len() {
        let (Ok(prev), Ok(cur), Ok(next)) = (
            <&[u8; BLOCK]>::try_from(&s[i - 1..i - 1 + BLOCK]),
            <&[u8; BLOCK]>::try_from(&s[i..i + BLOCK]),
            <&[u8; BLOCK]>::try_from(&s[i + 1..i + 1 + BLOCK]),
        ) else {
            break;
        };
        let mut flag = 0u8;
        for k in 0..BLOCK {
            flag |= u8::from(cur[k] == b'\n')
                & (all | u8::from(prev[k] != b'\r') | u8::from(next[k] == b'.'));
        }
        if flag != 0 {
            for (k, &b) in cur.iter().enumerate() {
                // n <= octets scanned so far < SUB_WINDOW + BLOCK; kept only for an LF.
                pos[n] = i + k;
                n += usize::from(b == b'\n');
            }
        }
        i += BLOCK;
    }
    while i < to {
        pos[n] = i;
        n += usize::from(s[i] == b'\n');
        i += 1;
    }
    n
}

/// Scan position within one chunk.
struct Cursor {
    /// First octet not yet emitted.
    run: usize,
    /// Start of the current line (in this chunk).
    line_start: usize,
}

#[derive(Debug, Clone, Copy)]
struct TopCut {
    in_header: bool,
    body_lines_left: u32,
}

/// Streaming encoder for one message body.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    at_line_start: bool,
    /// The last source byte seen was CR (meaningful when not at a line start).
    prev_cr: bool,
    /// Octets of the current line seen in earlier chunks.
    line_len: u64,
    top: Option<TopCut>,
    /// The TOP cut has been reached: further input is ignored.
    done: bool,
}

impl Encoder {
    pub(crate) fn new(top: Option<u32>) -> Self {
        Encoder {
            at_line_start: true,
            prev_cr: false,
            line_len: 0,
            top: top.map(|n| TopCut {
                in_header: true,
                body_lines_left: n,
            }),
            done: false,
        }
    }

    fn emit(out: &mut Output, src: &Bytes, from: usize, to: usize) {
        if to - from >= ZERO_COPY_MIN {
            out.push_bytes(src.slice(from..to));
        } else if to > from {
            out.extend(&src[from..to]);
        }
    }

    /// Encodes `src`, the next chunk of the message, into `out`.
    ///
    /// LFs are located a sub-window at a time by [`find_lfs`] and then handled one by one.
    /// (Dense LFs, one per 70-80 octets in mail, make a `memchr` call per line slower.)
    pub(crate) fn encode(&mut self, src: &Bytes, out: &mut Output) {
        let s = &src[..];
        if self.done || s.is_empty() {
            return;
        }
        let mut cur = Cursor {
            run: 0,
            line_start: 0,
        };
        if self.at_line_start && s[0] == b'.' {
            out.push_byte(b'.');
        }
        let mut positions = [0usize; SUB_WINDOW + BLOCK];
        let all = self.top.is_some();
        let mut base = 0;
        while base < s.len() {
            let end = (base + SUB_WINDOW).min(s.len());
            let n = find_lfs(s, base, end, all, &mut positions);
            for &p in &positions[..n] {
                if self.on_lf(src, p, &mut cur, out) {
                    return;
                }
            }
            base = end;
        }
        let last = s[s.len() - 1];
        self.at_line_start = last == b'\n';
        self.prev_cr = last == b'\r';
        if all && !self.at_line_start {
            // Every LF was visited, so line_start is exact.
            self.line_len += (s.len() - cur.line_start) as u64;
        }
        Self::emit(out, src, cur.run, s.len());
    }

    /// Handles the LF at `lf`: CR insertion, the TOP cut, stuffing of the next line.
    /// Returns true when the TOP cut has been reached.
    #[inline(always)]
    fn on_lf(&mut self, src: &Bytes, lf: usize, cur: &mut Cursor, out: &mut Output) -> bool {
        let s = &src[..];
        let has_cr = if lf > 0 {
            s[lf - 1] == b'\r'
        } else {
            self.prev_cr
        };
        if !has_cr {
            Self::emit(out, src, cur.run, lf);
            out.push_byte(b'\r');
            cur.run = lf;
        }
        if let Some(top) = &mut self.top {
            let len = self.line_len + (lf - cur.line_start) as u64;
            let stop = if top.in_header {
                let empty = len == 0 || (len == 1 && has_cr);
                top.in_header = !empty;
                empty && top.body_lines_left == 0
            } else {
                top.body_lines_left -= 1;
                top.body_lines_left == 0
            };
            self.line_len = 0;
            if stop {
                Self::emit(out, src, cur.run, lf + 1);
                self.done = true;
                return true;
            }
        }
        cur.line_start = lf + 1;
        if s.get(cur.line_start) == Some(&b'.') {
            Self::emit(out, src, cur.run, cur.line_start);
            out.push_byte(b'.');
            cur.run = cur.line_start;
        }
        false
    }

    /// Ends the message: completes a last line without CRLF and adds the terminating `.`.
    pub(crate) fn finish(&mut self, out: &mut Output) {
        if !self.done && !self.at_line_start {
            out.extend(if self.prev_cr { b"\n" } else { b"\r\n" });
        }
        out.extend(b".\r\n");
        self.done = true;
    }
}

/// Encodes a whole message as the body of a multi-line response: CRLF line endings,
/// byte-stuffed, cut after the header and `top` body lines if `top` is `Some`, and terminated
/// by `.` CRLF. (The server streams the same encoding without copying; this is a convenience.)
pub fn stuff(message: &[u8], top: Option<u32>) -> Vec<u8> {
    let mut out = Output::default();
    let mut enc = Encoder::new(top);
    enc.encode(&Bytes::copy_from_slice(message), &mut out);
    enc.finish(&mut out);
    out.chunks().flatten().copied().collect()
}

/// Decodes a multi-line response body (what follows the `+OK` line, through the terminating
/// `.` CRLF), as a client does. Returns `None` unless it is strictly well formed: every line
/// ends in CRLF, every line starting with `.` is stuffed, and `.` CRLF ends the input.
pub fn unstuff(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let lf = memchr(b'\n', rest)?;
        if lf == 0 || rest[lf - 1] != b'\r' {
            return None;
        }
        let line = &rest[..lf - 1];
        rest = &rest[lf + 1..];
        match line.first() {
            Some(b'.') if line.len() == 1 => return rest.is_empty().then_some(out),
            Some(b'.') if line[1] == b'.' => out.extend_from_slice(&line[1..]),
            Some(b'.') => return None,
            _ => out.extend_from_slice(line),
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: what a client should get back for `msg`, written the slow, obvious way.
    fn normalise(msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &b) in msg.iter().enumerate() {
            if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(b);
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            if out.ends_with(b"\r") {
                out.push(b'\n');
            } else {
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// Reference TOP: header lines, blank line, `n` body lines of the normalised message.
    fn top_reference(msg: &[u8], n: u32) -> Vec<u8> {
        let norm = normalise(msg);
        let mut out = Vec::new();
        let mut in_header = true;
        let mut left = n;
        for line in norm.split_inclusive(|&b| b == b'\n') {
            if in_header {
                out.extend_from_slice(line);
                if line == b"\r\n" {
                    in_header = false;
                    if left == 0 {
                        break;
                    }
                }
            } else {
                if left == 0 {
                    break;
                }
                out.extend_from_slice(line);
                left -= 1;
            }
        }
        out
    }

    fn encode_chunked(msg: &[u8], top: Option<u32>, chunk: usize) -> Vec<u8> {
        let mut out = Output::default();
        let mut enc = Encoder::new(top);
        let src = Bytes::copy_from_slice(msg);
        let mut i = 0;
        while i < src.len() {
            let j = (i + chunk).min(src.len());
            enc.encode(&src.slice(i..j), &mut out);
            i = j;
        }
        enc.finish(&mut out);
        out.chunks().flatten().copied().collect()
    }

    #[test]
    fn examples() {
        assert_eq!(stuff(b"", None), b".\r\n");
        assert_eq!(stuff(b"a\r\nb\r\n", None), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff(b"a\nb", None), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff(b".\r\n..x\n", None), b"..\r\n...x\r\n.\r\n");
        assert_eq!(stuff(b"abc\r", None), b"abc\r\n.\r\n");
        assert_eq!(stuff(b"a\rb\n", None), b"a\rb\r\n.\r\n");
        let m = b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        assert_eq!(stuff(m, Some(0)), b"Subject: x\r\nFrom: y\r\n\r\n.\r\n");
        assert_eq!(
            stuff(m, Some(2)),
            b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\n.\r\n"
        );
        assert_eq!(stuff(m, Some(99)), stuff(m, None));
        // No trailing CRLF, with and without TOP.
        assert_eq!(
            stuff(b"S: x\n\nbody", Some(5)),
            b"S: x\r\n\r\nbody\r\n.\r\n"
        );
        assert_eq!(stuff(b"S: x\n\nbody", Some(0)), b"S: x\r\n\r\n.\r\n");
        // A header with no body at all.
        assert_eq!(stuff(b"S: x", Some(0)), b"S: x\r\n.\r\n");
    }

    #[test]
    fn large_clean_runs_are_not_copied_but_stay_correct() {
        let mut msg = Vec::new();
        for i in 0..2000 {
            msg.extend_from_slice(format!("line {i} of a long message body\r\n").as_bytes());
        }
        msg.extend_from_slice(b".starts with a dot\n");
        let enc = stuff(&msg, None);
        assert_eq!(unstuff(&enc).unwrap(), normalise(&msg));
    }

    #[test]
    fn unstuff_rejects_malformed() {
        assert_eq!(unstuff(b"a\r\n"), None);
        assert_eq!(unstuff(b"a\n.\r\n"), None);
        assert_eq!(unstuff(b".a\r\n.\r\n"), None);
        assert_eq!(unstuff(b".\r\nx"), None);
        assert_eq!(unstuff(b".\r\n"), Some(vec![]));
    }

    fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
        // Bias towards the interesting octets.
        prop::collection::vec(
            prop_oneof![
                4 => any::<u8>(),
                3 => Just(b'\n'),
                2 => Just(b'\r'),
                3 => Just(b'.'),
                2 => Just(b'a'),
            ],
            0..600,
        )
    }

    proptest! {
        #[test]
        fn stuff_then_unstuff_is_normalised_identity(msg in message_bytes()) {
            let enc = stuff(&msg, None);
            prop_assert_eq!(unstuff(&enc), Some(normalise(&msg)));
        }

        #[test]
        fn crlf_messages_round_trip_exactly(lines in prop::collection::vec("[.a-z ]{0,20}", 0..40)) {
            let msg: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
            prop_assert_eq!(unstuff(&stuff(&msg, None)), Some(msg));
        }

        #[test]
        fn top_matches_reference(msg in message_bytes(), n in 0u32..8) {
            let enc = stuff(&msg, Some(n));
            prop_assert_eq!(unstuff(&enc), Some(top_reference(&msg, n)));
        }

        #[test]
        fn long_messages_cross_scan_windows(
            lines in prop::collection::vec(("[.]?[a-z]{0,30}", prop_oneof![Just("\r\n"), Just("\n"), Just("\r")]), 0..200),
            chunk in 1usize..3000,
            top in proptest::option::of(0u32..50),
        ) {
            let msg: Vec<u8> = lines.iter().flat_map(|(l, e)| format!("{l}{e}").into_bytes()).collect();
            prop_assert_eq!(unstuff(&stuff(&msg, None)), Some(normalise(&msg)));
            prop_assert_eq!(encode_chunked(&msg, top, chunk), stuff(&msg, top));
            if let Some(n) = top {
                prop_assert_eq!(unstuff(&stuff(&msg, top)), Some(top_reference(&msg, n)));
            }
        }

        #[test]
        fn chunking_does_not_change_output(msg in message_bytes(), chunk in 1usize..64, top in proptest::option::of(0u32..5)) {
            prop_assert_eq!(encode_chunked(&msg, top, chunk), stuff(&msg, top));
        }
    }
}
