//! Sequence sets (`1:4,7,9:*`, `$`), for message sequence numbers and UIDs alike.

use std::num::NonZeroU32;

use super::literal::{PResult, Writer, fail, nz_number};
use crate::error::Error;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A concrete, non-zero number.
    Value(NonZeroU32),
    /// `*`
    Star,
}

impl SeqNum {
    /// The value, with `*` standing for `max`.
    pub fn resolve(self, max: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v.get(),
            SeqNum::Star => max,
        }
    }
}

/// `a:b` (in either order) or a single number (`start == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqNum,
    /// Second end as written (equal to `start` for a single number).
    pub end: SeqNum,
}

impl SeqRange {
    /// The inclusive bounds, low first, with `*` standing for `max`.
    pub fn bounds(&self, max: u32) -> (u32, u32) {
        let a = self.start.resolve(max);
        let b = self.end.resolve(max);
        if a <= b { (a, b) } else { (b, a) }
    }
}

/// A non-empty list of ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ranges(Vec<SeqRange>);

impl Ranges {
    /// Builds a set from ranges; `None` if empty.
    pub fn new(ranges: Vec<SeqRange>) -> Option<Self> {
        if ranges.is_empty() {
            None
        } else {
            Some(Ranges(ranges))
        }
    }

    /// A compact set from ascending numbers (`1,2,3,5` -> `1:3,5`); `None` if empty or a 0 is
    /// present.
    pub fn from_sorted(nums: &[u32]) -> Option<Self> {
        let mut out: Vec<SeqRange> = Vec::new();
        let mut k = 0;
        while k < nums.len() {
            let a = NonZeroU32::new(nums[k])?;
            let mut j = k;
            while j + 1 < nums.len()
                && nums[j + 1] == nums[j].wrapping_add(1)
                && nums[j] != u32::MAX
            {
                j += 1;
            }
            let b = NonZeroU32::new(nums[j])?;
            out.push(SeqRange {
                start: SeqNum::Value(a),
                end: SeqNum::Value(b),
            });
            k = j + 1;
        }
        Ranges::new(out)
    }

    /// A single number.
    pub fn single(n: u32) -> Result<Self, Error> {
        let v = NonZeroU32::new(n).ok_or(Error::InvalidValue("0 in a sequence set"))?;
        Ok(Ranges(vec![SeqRange {
            start: SeqNum::Value(v),
            end: SeqNum::Value(v),
        }]))
    }

    /// The ranges.
    pub fn ranges(&self) -> &[SeqRange] {
        &self.0
    }

    /// Whether `n` is in the set, `*` standing for `max`.
    pub fn contains(&self, n: u32, max: u32) -> bool {
        self.0.iter().any(|r| {
            let (a, b) = r.bounds(max);
            a <= n && n <= b
        })
    }

    /// The largest concrete number written (ignoring `*`).
    pub fn max_value(&self) -> u32 {
        self.0
            .iter()
            .flat_map(|r| [r.start, r.end])
            .filter_map(|s| match s {
                SeqNum::Value(v) => Some(v.get()),
                SeqNum::Star => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Every number in the set that is `<= max`, ascending and without duplicates.
    pub fn expand(&self, max: u32) -> Vec<u32> {
        let mut b: Vec<(u32, u32)> = self.0.iter().map(|r| r.bounds(max)).collect();
        b.sort_unstable();
        let mut out = Vec::new();
        let mut next = 1u32;
        for (lo, hi) in b {
            let lo = lo.max(next);
            let hi = hi.min(max);
            if lo > hi {
                continue;
            }
            out.extend(lo..=hi);
            next = hi.saturating_add(1);
            if hi == u32::MAX {
                break;
            }
        }
        out
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        for (k, r) in self.0.iter().enumerate() {
            if k > 0 {
                w.byte(b',');
            }
            write_num(w, r.start);
            if r.start != r.end {
                w.byte(b':');
                write_num(w, r.end);
            }
        }
    }
}

fn write_num(w: &mut Writer, n: SeqNum) {
    match n {
        SeqNum::Value(v) => w.num(v.get() as u64),
        SeqNum::Star => w.byte(b'*'),
    }
}

/// A `sequence-set` as sent by a client: ranges, or `$` (the saved search result, RFC 5182).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Explicit ranges.
    Ranges(Ranges),
    /// `$`
    Saved,
}

impl SequenceSet {
    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            SequenceSet::Ranges(r) => r.write(w),
            SequenceSet::Saved => w.byte(b'$'),
        }
    }
}

impl From<Ranges> for SequenceSet {
    fn from(r: Ranges) -> Self {
        SequenceSet::Ranges(r)
    }
}

fn seq_num(i: &[u8]) -> PResult<'_, SeqNum> {
    if i.first() == Some(&b'*') {
        return Ok((&i[1..], SeqNum::Star));
    }
    let (r, n) = nz_number(i)?;
    Ok((
        r,
        SeqNum::Value(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)),
    ))
}

/// `sequence-set` without `$`.
pub(crate) fn ranges(i: &[u8]) -> PResult<'_, Ranges> {
    let mut out = Vec::new();
    let mut i = i;
    loop {
        let (r, a) = seq_num(i)?;
        let (r, b) = if r.first() == Some(&b':') {
            seq_num(&r[1..])?
        } else {
            (r, a)
        };
        out.push(SeqRange { start: a, end: b });
        if r.first() == Some(&b',') {
            i = &r[1..];
        } else {
            return Ok((r, Ranges(out)));
        }
    }
}

/// `sequence-set` (or `$`).
pub(crate) fn sequence_set(i: &[u8]) -> PResult<'_, SequenceSet> {
    if i.first() == Some(&b'$') {
        return Ok((&i[1..], SequenceSet::Saved));
    }
    if i.is_empty() {
        return fail(i);
    }
    ranges(i).map(|(r, s)| (r, SequenceSet::Ranges(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_expand() {
        let (_, s) = ranges(b"5:3,1,9:*").unwrap();
        assert_eq!(s.expand(10), vec![1, 3, 4, 5, 9, 10]);
        assert!(s.contains(4, 10));
        assert!(!s.contains(2, 10));
        assert_eq!(s.max_value(), 9);
        assert!(ranges(b"0").is_err());
        let (_, s) = ranges(b"*:1").unwrap();
        assert_eq!(s.expand(3), vec![1, 2, 3]);
    }

    #[test]
    fn compact() {
        let r = Ranges::from_sorted(&[1, 2, 3, 5, 7, 8]).unwrap();
        let mut w = Writer::new(false);
        r.write(&mut w);
        assert_eq!(w.buf, b"1:3,5,7:8");
        assert!(Ranges::from_sorted(&[]).is_none());
    }
}
