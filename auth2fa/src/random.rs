//! Random sources: ring's system generator for production, a seeded one for tests.

use std::sync::Mutex;

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::Error;

/// A source of secret random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's generator, through ring's `SystemRandom`.
#[derive(Debug)]
pub struct SystemRandomSource(SystemRandom);

impl Default for SystemRandomSource {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemRandomSource {
    /// The system generator.
    pub fn new() -> Self {
        SystemRandomSource(SystemRandom::new())
    }
}

impl RandomSource for SystemRandomSource {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        self.0.fill(buf).map_err(|_| Error::Random)
    }
}

/// A deterministic generator (SHA-256 in counter mode over a seed). **For tests only**: its
/// output is predictable by anyone who knows the seed.
#[derive(Debug)]
pub struct SeededRandom {
    seed: u64,
    counter: Mutex<u64>,
}

impl SeededRandom {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom {
            seed,
            counter: Mutex::new(0),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        let mut counter = self.counter.lock().map_err(|_| Error::Random)?;
        for chunk in buf.chunks_mut(32) {
            let mut input = [0u8; 16];
            input[..8].copy_from_slice(&self.seed.to_le_bytes());
            input[8..].copy_from_slice(&counter.to_le_bytes());
            *counter += 1;
            let d = digest::digest(&digest::SHA256, &input);
            chunk.copy_from_slice(&d.as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

/// Draws `n` symbols uniformly from `alphabet` (at most 256 symbols) by rejection sampling.
pub(crate) fn draw_symbols(
    random: &dyn RandomSource,
    alphabet: &[u8],
    n: usize,
) -> Result<String, Error> {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        random.fill(&mut buf)?;
        for &b in &buf {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (a, b, c) = (
            SeededRandom::new(1),
            SeededRandom::new(1),
            SeededRandom::new(2),
        );
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut x2 = [0u8; 40];
        a.fill(&mut x2).unwrap();
        assert_ne!(x, x2, "successive draws differ");
    }

    #[test]
    fn symbols_come_from_the_alphabet_and_cover_it() {
        let r = SeededRandom::new(9);
        let s = draw_symbols(&r, b"abc", 3000).unwrap();
        assert_eq!(s.len(), 3000);
        for ch in ['a', 'b', 'c'] {
            let n = s.chars().filter(|&c| c == ch).count();
            assert!((800..1200).contains(&n), "{ch}: {n}");
        }
        let sys = SystemRandomSource::new();
        let t = draw_symbols(&sys, b"xy", 10).unwrap();
        assert!(t.chars().all(|c| c == 'x' || c == 'y'));
    }
}
