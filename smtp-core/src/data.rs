//! DATA transparency (RFC 5321 section 4.5.2): dot-unstuffing with end-of-data detection for the
//! server, dot-stuffing for the client.
//!
//! The end of data is exactly `<CRLF>.<CRLF>`, where the first CRLF ends the previous line (or
//! is the CRLF of the DATA command). `<LF>.<LF>`, `<CR>.<CR>`, `<LF>.<CRLF>` and any other
//! variant are never an end of data, so SMTP smuggling is impossible. Bare CR and bare LF are
//! either passed through and flagged (the server then rejects the message) or normalised to CRLF.

mod dispatch;

#[doc(hidden)]
pub use dispatch::Simd;

use bytes::{Buf, Bytes, BytesMut};

/// What to do with a bare CR or bare LF inside DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLinePolicy {
    /// Refuse the whole message (550 5.6.11 at the end of data). The default.
    #[default]
    Reject,
    /// Replace each bare CR and bare LF with CRLF.
    Normalize,
}

/// Smallest input buffer [`append_input`] allocates.
pub const INPUT_BLOCK: usize = 64 * 1024;

/// Appends `bytes` to an input buffer whose front is handed out as [`Bytes`] slices.
///
/// When the buffer is full it moves to a fresh allocation (copying only the undecided tail,
/// at most a partial line) instead of growing the old one: the old allocation is freed when
/// the host drops the slices it got, so memory stays bounded by what the host holds plus one
/// block, and a long message never triggers large reallocations.
pub fn append_input(buf: &mut BytesMut, bytes: &[u8]) {
    if buf.capacity() - buf.len() < bytes.len() {
        let mut fresh = BytesMut::with_capacity((buf.len() + bytes.len()).max(INPUT_BLOCK));
        fresh.extend_from_slice(buf);
        *buf = fresh;
    }
    buf.extend_from_slice(bytes);
}

/// Like [`append_input`] for a buffer the caller owns (e.g. the one a socket read filled): when
/// nothing is pending in `buf` it is taken over as it is, without a copy, so decoded data and
/// command lines become slices of it. Otherwise its bytes are appended (a copy).
pub fn append_owned(buf: &mut BytesMut, bytes: BytesMut) {
    if buf.is_empty() {
        if !bytes.is_empty() {
            *buf = bytes;
        }
    } else {
        append_input(buf, &bytes);
    }
}

/// Result of one [`DotUnstuffer::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeStatus {
    /// All complete input was decoded; feed more.
    NeedMore,
    /// The end-of-data line was consumed; what follows in the buffer is the next command.
    End,
}

/// Streaming dot-unstuffer and end-of-data detector (server side).
///
/// Decoded data is handed out as [`Bytes`] slices of the input buffer (no copy).
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    line_start: bool,
    policy: BareLinePolicy,
    bare: bool,
    simd: Simd,
}

enum Scan {
    /// `b[..n]` is plain data and the rest cannot be decided yet.
    Partial(usize),
    /// `b[..n]` is plain data ending in CRLF; `n` is the start of a line that needs a look.
    LineStart(usize),
    /// `b[n]` is a bare LF.
    BareLf(usize),
    /// `b[n]` is a bare CR.
    BareCr(usize),
}

/// 1 when byte `c`, preceded by `p`, needs attention: an LF not after a CR, a byte other
/// than LF after a CR, or a dot that starts a line.
#[inline(always)]
fn flag(p: u8, c: u8) -> u8 {
    let lf = u8::from(c == b'\n');
    let cr_before = u8::from(p == b'\r');
    let dot_at_start = u8::from(p == b'\n') & u8::from(c == b'.');
    (lf ^ cr_before) | dot_at_start
}

/// Returns true when none of the 64 bytes `w[1..65]` needs attention (see [`flag`]; a CR in
/// the last byte is checked with the next block). `w[0]` is the byte before the block.
/// Branch-free, so the compiler vectorises it (SSE2 by default; AVX2 and AVX-512 in the copies
/// of the decoder that [`dispatch`] compiles for them).
#[inline(always)]
fn block_plain(w: &[u8]) -> bool {
    let (prev, cur) = (&w[..64], &w[1..65]);
    let mut bad = 0u8;
    for (&p, &c) in prev.iter().zip(cur) {
        bad |= flag(p, c);
    }
    bad == 0
}

/// Index in `w[1..65]` of the first byte that needs attention, in a block that
/// [`block_plain`] found has one (63 if it has none).
#[inline(always)]
fn first_flag(w: &[u8]) -> usize {
    let mut flags = [0u8; 64];
    for (f, (&p, &c)) in flags.iter_mut().zip(w[..64].iter().zip(&w[1..65])) {
        *f = flag(p, c);
    }
    let (words, _) = flags.as_chunks::<8>();
    for (k, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word);
        if x != 0 {
            return k * 8 + x.trailing_zeros() as usize / 8;
        }
    }
    63
}

/// What the first flagged byte `b[q]` is, given that every byte before it needs no attention.
#[inline(always)]
fn classify(b: &[u8], q: usize) -> Scan {
    if b[q - 1] == b'\r' && b[q] != b'\n' {
        Scan::BareCr(q - 1)
    } else if b[q] == b'\n' {
        Scan::BareLf(q)
    } else {
        // A dot after a CRLF.
        Scan::LineStart(q)
    }
}

/// Finds the first place in `b` that needs attention. `b[0]` never starts a line (the decoder
/// looks at line starts before calling this).
#[inline(always)]
fn scan(b: &[u8]) -> Scan {
    let len = b.len();
    // When b[0] is neither CR nor LF it needs no look, and as the byte before the first block
    // it lets the block check start at once (no scalar search for the first line end).
    let mut p = usize::from(!matches!(b.first(), None | Some(b'\r' | b'\n')));
    loop {
        // Fast path: whole 64-byte blocks. b[p - 1] needs no look (checked, or b[0] above).
        if p >= 1 && p + 64 <= len {
            // Two blocks per check while there is room: one branch per 128 bytes.
            while p + 128 <= len
                && block_plain(&b[p - 1..p + 64]) & block_plain(&b[p + 63..p + 128])
            {
                p += 128;
            }
            while p + 64 <= len {
                let w = &b[p - 1..p + 64];
                if !block_plain(w) {
                    return classify(b, p + first_flag(w));
                }
                p += 64;
            }
            // Fewer than 64 bytes left, b[p - 1] was checked in the last block.
            match b[p - 1] {
                // b[p - 2] is CR: p starts a line.
                b'\n' if p == len || b[p] == b'.' => return Scan::LineStart(p),
                // Its LF (or not) is looked at below.
                b'\r' => p -= 1,
                _ => {}
            }
        }
        let j = match memchr::memchr2(b'\r', b'\n', &b[p..]) {
            None => return Scan::Partial(len),
            Some(k) => p + k,
        };
        if b[j] == b'\n' {
            return Scan::BareLf(j);
        }
        if j + 1 == len {
            return Scan::Partial(j);
        }
        if b[j + 1] != b'\n' {
            return Scan::BareCr(j);
        }
        let n = j + 2;
        if n == len || b[n] == b'.' {
            return Scan::LineStart(n);
        }
        p = n;
    }
}

impl DotUnstuffer {
    /// A decoder positioned right after the `DATA` command line.
    pub fn new(policy: BareLinePolicy) -> Self {
        DotUnstuffer {
            line_start: true,
            policy,
            bare: false,
            simd: Simd::Auto,
        }
    }

    /// Whether a bare CR or LF has been seen.
    pub fn saw_bare_line_ending(&self) -> bool {
        self.bare
    }

    /// Decodes as much of `input` as possible, consuming it from the front and calling `emit`
    /// with each decoded piece. Stops after the end-of-data line, or when the rest of the input
    /// cannot be decided without more bytes (at most `CRLF.CR` stays in `input`).
    ///
    /// On x86-64 CPUs with AVX2 or AVX-512 (checked at run time) this runs a copy of the
    /// decoder compiled for them, which scans 1.5 to 2 times as fast; the result is the same.
    pub fn decode(&mut self, input: &mut BytesMut, emit: &mut impl FnMut(Bytes)) -> DecodeStatus {
        dispatch::decode(self, input, emit)
    }

    /// Chooses which compiled copy of the decoder runs (default: the best the CPU supports).
    /// For tests and benchmarks that compare the copies; the output is identical.
    #[doc(hidden)]
    pub fn simd(mut self, simd: Simd) -> Self {
        self.simd = simd;
        self
    }

    /// The decoder, generic over the instruction set: inlined into each [`dispatch`] variant.
    #[inline(always)]
    fn decode_portable(
        &mut self,
        input: &mut BytesMut,
        emit: &mut impl FnMut(Bytes),
    ) -> DecodeStatus {
        loop {
            if self.line_start {
                match input.first() {
                    None => return DecodeStatus::NeedMore,
                    Some(b'.') => match input.get(1) {
                        None => return DecodeStatus::NeedMore,
                        Some(b'\r') => match input.get(2) {
                            None => return DecodeStatus::NeedMore,
                            Some(b'\n') => {
                                input.advance(3);
                                return DecodeStatus::End;
                            }
                            Some(_) => {
                                input.advance(1);
                                self.line_start = false;
                            }
                        },
                        Some(_) => {
                            input.advance(1);
                            self.line_start = false;
                        }
                    },
                    Some(_) => self.line_start = false,
                }
            }
            match scan(input) {
                Scan::Partial(n) => {
                    if n > 0 {
                        emit(input.split_to(n).freeze());
                    }
                    return DecodeStatus::NeedMore;
                }
                Scan::LineStart(n) => {
                    if input.get(n) == Some(&b'.') && input.get(n + 1).is_some_and(|&b| b != b'\r')
                    {
                        // A stuffed dot (not the end line): the line so far and the dot leave
                        // the buffer in one split, the dot is cut off the emitted piece.
                        let mut piece = input.split_to(n + 1);
                        piece.truncate(n);
                        emit(piece.freeze());
                    } else {
                        emit(input.split_to(n).freeze());
                        self.line_start = true;
                    }
                }
                Scan::BareLf(n) | Scan::BareCr(n) => {
                    self.bare = true;
                    match self.policy {
                        BareLinePolicy::Normalize => {
                            if n > 0 {
                                emit(input.split_to(n).freeze());
                            }
                            input.advance(1);
                            emit(Bytes::from_static(b"\r\n"));
                        }
                        BareLinePolicy::Reject => emit(input.split_to(n + 1).freeze()),
                    }
                    // A bare line ending never starts a line: a dot after it stays.
                    self.line_start = false;
                }
            }
        }
    }
}

/// The byte-at-a-time definition of what [`DotUnstuffer`] does, which its tests and the
/// `smtp_data` fuzz target check it against: returns the decoded data, how many input bytes
/// were consumed through the end-of-data line (`None`: no end line), and whether a bare CR or
/// LF was seen (with [`BareLinePolicy::Reject`], whose output this is).
#[doc(hidden)]
pub fn unstuff_reference(input: &[u8]) -> (Vec<u8>, Option<usize>, bool) {
    let (mut out, mut bare, mut line_start, mut i) = (Vec::new(), false, true, 0);
    while i < input.len() {
        if line_start && input[i..].starts_with(b".\r\n") {
            return (out, Some(i + 3), bare);
        }
        if line_start && input[i] == b'.' {
            i += 1;
            line_start = false;
            continue;
        }
        line_start = false;
        let c = input[i];
        out.push(c);
        if c == b'\r' && input.get(i + 1) == Some(&b'\n') {
            out.push(b'\n');
            i += 2;
            line_start = true;
        } else {
            bare |= c == b'\r' || c == b'\n';
            i += 1;
        }
    }
    (out, None, bare)
}

/// Streaming dot-stuffer (client side): doubles a dot at the start of every line, turns bare CR
/// and bare LF into CRLF, and writes the end-of-data line.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    line_start: bool,
    pending_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// A stuffer at the start of a message.
    pub fn new() -> Self {
        DotStuffer {
            line_start: true,
            pending_cr: false,
        }
    }

    /// Encodes `input`, appending to `out`.
    pub fn encode(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        if input.is_empty() {
            return;
        }
        out.reserve(input.len() + 8);
        if self.pending_cr {
            self.pending_cr = false;
            out.extend_from_slice(b"\r\n");
            self.line_start = true;
            if input.first() == Some(&b'\n') {
                input = &input[1..];
            }
        }
        while !input.is_empty() {
            if self.line_start && input[0] == b'.' {
                out.push(b'.');
            }
            self.line_start = false;
            match memchr::memchr2(b'\r', b'\n', input) {
                None => {
                    out.extend_from_slice(input);
                    return;
                }
                Some(j) => {
                    out.extend_from_slice(&input[..j]);
                    if input[j] == b'\r' {
                        if j + 1 == input.len() {
                            self.pending_cr = true;
                            return;
                        }
                        let skip = if input[j + 1] == b'\n' { 2 } else { 1 };
                        input = &input[j + skip..];
                    } else {
                        input = &input[j + 1..];
                    }
                    out.extend_from_slice(b"\r\n");
                    self.line_start = true;
                }
            }
        }
    }

    /// Ends the message: completes the last line if needed and writes `.CRLF`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            out.extend_from_slice(b"\r\n");
        } else if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.line_start = true;
    }
}
