//! [`Output`]: the ordered queue of bytes waiting to be written to the client.
//!
//! Small responses are appended to a contiguous tail buffer; message bodies that need no
//! change are queued as zero-copy [`Bytes`] slices of the host's buffer.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

/// Below this size a clean run of body bytes is copied rather than queued as its own segment,
/// so that the host never gets a stream of tiny writes.
const MIN_SEGMENT: usize = 512;

#[derive(Debug, Default)]
pub(crate) struct Output {
    queue: VecDeque<Bytes>,
    tail: BytesMut,
}

impl Output {
    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
    }

    pub(crate) fn push_byte(&mut self, b: u8) {
        self.tail.extend_from_slice(&[b]);
    }

    /// Queues `b` without copying it, unless it is small.
    pub(crate) fn push_bytes(&mut self, b: Bytes) {
        if b.len() < MIN_SEGMENT {
            self.tail.extend_from_slice(&b);
            return;
        }
        if !self.tail.is_empty() {
            self.queue.push_back(self.tail.split().freeze());
        }
        self.queue.push_back(b);
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.tail.is_empty()
    }

    /// Total queued octets.
    pub(crate) fn len(&self) -> usize {
        self.queue.iter().map(Bytes::len).sum::<usize>() + self.tail.len()
    }

    pub(crate) fn front(&self) -> &[u8] {
        match self.queue.front() {
            Some(b) => b,
            None => &self.tail,
        }
    }

    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.queue
            .iter()
            .map(|b| &b[..])
            .chain(std::iter::once(&self.tail[..]))
            .filter(|c| !c.is_empty())
    }

    /// Fills `bufs` with the first queued slices; returns how many were filled.
    pub(crate) fn fill_vectored<'a>(&'a self, bufs: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in bufs.iter_mut().zip(self.chunks()) {
            *slot = std::io::IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Releases a large buffer once everything has been written, so that an idle session
    /// stays small after a big RETR.
    pub(crate) fn shrink_if_idle(&mut self) {
        if self.queue.is_empty() && self.tail.is_empty() && self.tail.capacity() > 16 * 1024 {
            self.tail = BytesMut::new();
        }
    }

    /// Drops `n` written octets from the front (clamped to what is queued).
    pub(crate) fn consume(&mut self, mut n: usize) {
        while n > 0 {
            if let Some(front) = self.queue.front_mut() {
                let k = n.min(front.len());
                front.advance(k);
                n -= k;
                if front.is_empty() {
                    self.queue.pop_front();
                }
            } else {
                let k = n.min(self.tail.len());
                self.tail.advance(k);
                if self.tail.is_empty() {
                    // Reuse the allocation from the start.
                    self.tail.clear();
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_consumes_across_segments() {
        let mut o = Output::default();
        o.extend(b"+OK\r\n");
        o.push_bytes(Bytes::from(vec![b'a'; 1000]));
        o.extend(b".\r\n");
        assert_eq!(o.len(), 5 + 1000 + 3);
        assert_eq!(o.front(), b"+OK\r\n");
        let all: Vec<u8> = o.chunks().flatten().copied().collect();
        assert_eq!(&all[..5], b"+OK\r\n");
        assert_eq!(&all[1005..], b".\r\n");
        o.consume(7);
        assert_eq!(o.front().len(), 998);
        o.consume(10_000);
        assert!(o.is_empty());
    }
}
