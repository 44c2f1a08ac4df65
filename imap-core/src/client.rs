//! The client side: encode commands, frame and parse responses. Tests, proxies and benches
//! share the server's types through it.

use crate::Error;
use crate::syntax::{Command, Response, Writer, parse_response};

/// A command on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The bytes, CRLF included.
    pub bytes: Vec<u8>,
    /// Offsets in `bytes` where the client must stop and wait for a `+` continuation request
    /// before sending the rest (synchronizing literals). Empty with LITERAL+.
    pub sync_points: Vec<usize>,
}

/// Encodes a command. With `literal_plus`, literals are `{n+}` and need no continuation.
/// `utf8`: mailbox names in UTF-8 (after `ENABLE UTF8=ACCEPT`), else modified UTF-7.
pub fn encode_command(cmd: &Command, literal_plus: bool, utf8: bool) -> Encoded {
    let mut w = Writer {
        utf8,
        literal_plus,
        ..Default::default()
    };
    cmd.write(&mut w);
    Encoded {
        bytes: w.buf,
        sync_points: w.sync_points,
    }
}

/// Collects bytes from the server and yields complete responses.
#[derive(Debug)]
pub struct ResponseReader {
    buf: Vec<u8>,
    scan: usize,
    need: Option<usize>,
    max_response: usize,
    /// Mailbox names are UTF-8 (after `ENABLE UTF8=ACCEPT` / `IMAP4rev2`).
    pub utf8: bool,
}

impl ResponseReader {
    /// A reader that refuses responses longer than `max_response` bytes.
    pub fn new(max_response: usize) -> Self {
        ResponseReader {
            buf: Vec::new(),
            scan: 0,
            need: None,
            max_response,
            utf8: false,
        }
    }

    /// Adds bytes read from the server.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete response, `None` if more input is needed, or an error (the offending
    /// response is dropped).
    pub fn next_response(&mut self) -> Option<Result<Response<'static>, Error>> {
        let end = self.frame()?;
        let frame: Vec<u8> = self.buf.drain(..end).collect();
        self.scan = 0;
        self.need = None;
        let frame = match frame {
            f if f.len() > self.max_response => {
                return Some(Err(Error::Parse("response too long")));
            }
            f => f,
        };
        Some(parse_response(&frame, self.utf8).map(Response::into_owned))
    }

    fn frame(&mut self) -> Option<usize> {
        loop {
            if let Some(n) = self.need {
                if self.buf.len() < n {
                    return None;
                }
                self.scan = n;
                self.need = None;
            }
            let pos = memchr::memchr(b'\n', &self.buf[self.scan..])?;
            let lf = self.scan + pos;
            match literal_size(&self.buf[self.scan..=lf]) {
                Some(n) => self.need = Some(lf + 1 + n),
                None => return Some(lf + 1),
            }
            if self
                .need
                .is_some_and(|n| n > self.max_response.saturating_mul(2))
            {
                // drop what we have: the response cannot be accepted anyway
                let n = self.need.take().unwrap_or(0);
                if self.buf.len() >= n {
                    return Some(n);
                }
                return None;
            }
        }
    }
}

fn literal_size(line: &[u8]) -> Option<usize> {
    let mut end = line.len().checked_sub(1)?;
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    let body = &line[..end];
    if body.last() != Some(&b'}') {
        return None;
    }
    let open = memchr::memrchr(b'{', body)?;
    let digits = &body[open + 1..body.len() - 1];
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Data;

    #[test]
    fn reads_split_responses_with_literals() {
        let wire = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\na OK done\r\n";
        for chunk in 1..wire.len() {
            let mut r = ResponseReader::new(1 << 20);
            let mut got = Vec::new();
            for part in wire.chunks(chunk) {
                r.feed(part);
                while let Some(resp) = r.next_response() {
                    got.push(resp.unwrap());
                }
            }
            assert_eq!(got.len(), 2);
            assert!(matches!(got[0], Response::Data(Data::Fetch { seq: 1, .. })));
        }
    }
}
