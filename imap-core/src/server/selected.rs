//! The selected mailbox as the client sees it: the UID <-> message-number map and the
//! updates (new messages, expunges, flag changes) waiting until RFC 9051 allows sending them.

use crate::syntax::{FlagFetch, Mailbox, Ranges, SequenceSet};

/// Why a message-number set was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadSet;

#[derive(Debug)]
pub(crate) struct Selected {
    pub mailbox: Mailbox,
    pub read_only: bool,
    /// UIDs of the messages the client knows, ascending; index + 1 is the message number.
    pub uids: Vec<u32>,
    /// Messages the host reported but the client has not been told about yet.
    pub new_uids: Vec<u32>,
    /// Expunged messages not yet announced (still in `uids`).
    pub expunged: Vec<u32>,
    /// Flag changes not yet announced.
    pub flag_updates: Vec<(u32, Vec<FlagFetch>, Option<u64>)>,
}

impl Selected {
    pub fn new(mailbox: Mailbox, read_only: bool, uids: Vec<u32>) -> Self {
        Selected {
            mailbox,
            read_only,
            uids,
            new_uids: Vec::new(),
            expunged: Vec::new(),
            flag_updates: Vec::new(),
        }
    }

    /// Message number of a UID the client knows.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|k| k as u32 + 1)
    }

    pub fn max_uid(&self) -> u32 {
        self.uids.last().copied().unwrap_or(0)
    }

    /// The newest UID the host has reported (known or not yet announced).
    pub fn last_reported_uid(&self) -> u32 {
        self.new_uids
            .last()
            .copied()
            .unwrap_or_else(|| self.max_uid())
    }

    /// UIDs of a message-number set. Numbers past the end are a BAD (except `*`).
    pub fn resolve_seq(&self, set: &Ranges) -> Result<Vec<u32>, BadSet> {
        let n = self.uids.len() as u32;
        if set.max_value() > n {
            return Err(BadSet);
        }
        Ok(set
            .expand(n)
            .into_iter()
            .map(|s| self.uids[s as usize - 1])
            .collect())
    }

    /// UIDs in a UID set that exist in the client's view, ascending.
    pub fn resolve_uid(&self, set: &Ranges) -> Vec<u32> {
        let max = self.max_uid();
        let mut bounds: Vec<(u32, u32)> = set.ranges().iter().map(|r| r.bounds(max)).collect();
        bounds.sort_unstable();
        let mut out: Vec<u32> = Vec::new();
        for (lo, hi) in bounds {
            let start = self.uids.partition_point(|&u| u < lo);
            for &u in &self.uids[start..] {
                if u > hi {
                    break;
                }
                if out.last().is_none_or(|&l| l < u) {
                    out.push(u);
                }
            }
        }
        out
    }

    /// Resolves a client set (`$` is the saved result, filtered to existing UIDs).
    pub fn resolve(
        &self,
        set: &SequenceSet,
        uid: bool,
        saved: &Option<Vec<u32>>,
    ) -> Result<Vec<u32>, BadSet> {
        match set {
            SequenceSet::Saved => {
                let s = saved.as_ref().ok_or(BadSet)?;
                Ok(s.iter()
                    .copied()
                    .filter(|&u| self.seq_of(u).is_some())
                    .collect())
            }
            SequenceSet::Ranges(r) if uid => Ok(self.resolve_uid(r)),
            SequenceSet::Ranges(r) => self.resolve_seq(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Ranges;

    fn r(s: &str) -> Ranges {
        let mut v = Vec::new();
        for part in s.split(',') {
            v.push(part);
        }
        let line = format!("a FETCH {s} FLAGS\r\n");
        match crate::syntax::parse_command(line.as_bytes(), false)
            .unwrap()
            .body
        {
            crate::syntax::CommandBody::Fetch {
                set: SequenceSet::Ranges(r),
                ..
            } => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn resolves() {
        let s = Selected::new(Mailbox::new("INBOX").unwrap(), false, vec![3, 7, 9, 20]);
        assert_eq!(s.resolve_seq(&r("2:*")).unwrap(), vec![7, 9, 20]);
        assert!(s.resolve_seq(&r("5")).is_err());
        assert_eq!(s.resolve_uid(&r("8:*")), vec![9, 20]);
        assert_eq!(s.resolve_uid(&r("100:*")), vec![20]);
        assert_eq!(s.resolve_uid(&r("4:6,1:3")), vec![3]);
        assert_eq!(s.seq_of(9), Some(3));
    }
}
