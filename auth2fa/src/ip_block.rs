//! Brute-force blocking by client IP address (REQUIREMENTS C4), with bounded memory.
//!
//! * `threshold` consecutive failures (default 10) from one address block it for `block_secs`
//!   (default one hour); during the block even the right credentials fail; a success resets
//!   the count. Counters idle for `forget_after_secs` start again from zero.
//! * The same wrong secret repeated (a phone still holding an old password) counts once: each
//!   counter remembers short fingerprints of the last four distinct wrong secrets.
//! * IPv6 clients are counted per /64 (configurable), since one host owns a whole /64.
//! * Blocks always expire and record their reason; allow-listed networks are never counted
//!   or blocked; administrators can list, add and lift blocks.
//! * Memory is bounded: at most `max_counters` counters and `max_blocks` blocks; when full,
//!   the counter that failed least recently (and the oldest block) is evicted, expired ones
//!   first, so millions of attacking addresses cost a fixed amount of memory.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::network::{Network, canonical, mask};
use crate::time::Timestamp;

/// Blocking rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockPolicy {
    /// Consecutive distinct failures that block an address (default 10).
    pub threshold: u32,
    /// How long a block lasts, in seconds (default 3600).
    pub block_secs: u64,
    /// A counter idle this long restarts from zero (default 3600).
    pub forget_after_secs: u64,
    /// Most failure counters kept (default 200,000).
    pub max_counters: usize,
    /// Most blocks kept (default 100,000).
    pub max_blocks: usize,
    /// IPv6 addresses are counted and blocked per prefix of this length (default 64).
    pub ipv6_prefix: u8,
    /// Networks never counted nor blocked (e.g. the web front end, monitoring).
    pub allow: Vec<Network>,
}

impl Default for BlockPolicy {
    fn default() -> Self {
        BlockPolicy {
            threshold: 10,
            block_secs: 3600,
            forget_after_secs: 3600,
            max_counters: 200_000,
            max_blocks: 100_000,
            ipv6_prefix: 64,
            allow: Vec::new(),
        }
    }
}

/// Why an address is blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockReason {
    /// Too many failed logins.
    TooManyFailures {
        /// Failures counted.
        failures: u32,
        /// The login tried last (at most 64 characters).
        last_login: String,
    },
    /// Blocked by an administrator.
    Manual {
        /// Who.
        by: String,
        /// Why.
        note: String,
    },
}

/// A block, as listed for administrators and as persisted through
/// [`AuthStore::put_block`](crate::AuthStore::put_block).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// The blocked address (a /32, a /64 for IPv6, or a wider manual block).
    pub network: Network,
    /// When it started.
    pub since: Timestamp,
    /// When it ends.
    pub until: Timestamp,
    /// Why.
    pub reason: BlockReason,
}

/// Eviction queues may hold stale entries up to a quarter over the cap before compaction.
fn slack(cap: usize) -> usize {
    let cap = cap.max(1);
    cap.saturating_add(cap / 4).saturating_add(16)
}

#[derive(Clone, Debug)]
struct Counter {
    failures: u32,
    last: Timestamp,
    recent: [u32; 4],
    seq: u64,
}

#[derive(Clone, Debug)]
struct Block {
    since: Timestamp,
    until: Timestamp,
    reason: BlockReason,
    seq: u64,
}

/// The table of failure counters and blocks. Not thread-safe by itself: the service keeps it
/// behind a mutex.
#[derive(Debug)]
pub struct BlockTable {
    policy: BlockPolicy,
    counters: HashMap<IpAddr, Counter>,
    counter_order: VecDeque<(IpAddr, u64)>,
    blocks: HashMap<IpAddr, Block>,
    block_order: VecDeque<(IpAddr, u64)>,
    wide_blocks: Vec<(Network, Block)>,
    expired: Vec<Network>,
    seq: u64,
}

impl BlockTable {
    /// An empty table.
    pub fn new(policy: BlockPolicy) -> Self {
        BlockTable {
            policy,
            counters: HashMap::new(),
            counter_order: VecDeque::new(),
            blocks: HashMap::new(),
            block_order: VecDeque::new(),
            wide_blocks: Vec::new(),
            expired: Vec::new(),
            seq: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &BlockPolicy {
        &self.policy
    }

    fn key(&self, ip: IpAddr) -> IpAddr {
        match canonical(ip) {
            v4 @ IpAddr::V4(_) => v4,
            v6 => mask(v6, self.policy.ipv6_prefix),
        }
    }

    fn key_network(&self, key: IpAddr) -> Network {
        match key {
            IpAddr::V4(_) => Network::new(key, 32),
            IpAddr::V6(_) => Network::new(key, self.policy.ipv6_prefix),
        }
    }

    /// Whether `ip` is in an allow-listed network.
    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        self.policy.allow.iter().any(|n| n.contains(ip))
    }

    /// If `ip` is blocked at `now`, until when. Expired blocks are dropped on the way.
    pub fn blocked_until(&mut self, ip: IpAddr, now: Timestamp) -> Option<Timestamp> {
        if self.is_allowed(ip) {
            return None;
        }
        let key = self.key(ip);
        let mut until = None;
        if let Some(b) = self.blocks.get(&key) {
            if b.until > now {
                until = Some(b.until);
            } else {
                self.blocks.remove(&key);
                self.expired.push(self.key_network(key));
            }
        }
        let expired = &mut self.expired;
        self.wide_blocks.retain(|(n, b)| {
            let live = b.until > now;
            if !live {
                expired.push(*n);
            }
            live
        });
        // Bounded even if the caller never drains it (the store prunes on listing anyway).
        self.expired.truncate(slack(self.policy.max_blocks));
        for (n, b) in &self.wide_blocks {
            if n.contains(ip) {
                until = Some(until.map_or(b.until, |u: Timestamp| u.max(b.until)));
            }
        }
        until
    }

    /// Records a failed login from `ip`; `fingerprint` identifies the wrong secret (keyed hash)
    /// so that repeating it counts once. Returns the end of the block if this failure started
    /// one.
    pub fn record_failure(
        &mut self,
        ip: IpAddr,
        fingerprint: u32,
        login: &str,
        now: Timestamp,
    ) -> Option<Timestamp> {
        self.record_failure_block(ip, fingerprint, login, now)
            .map(|b| b.until)
    }

    /// As [`record_failure`](Self::record_failure), but returns the whole block this failure
    /// started (at most once per block: a blocked address is refused before it is counted),
    /// for the caller to persist.
    pub fn record_failure_block(
        &mut self,
        ip: IpAddr,
        fingerprint: u32,
        login: &str,
        now: Timestamp,
    ) -> Option<BlockInfo> {
        if self.is_allowed(ip) || self.policy.threshold == 0 {
            return None;
        }
        let key = self.key(ip);
        self.seq += 1;
        let seq = self.seq;
        let forget = self.policy.forget_after_secs;
        let counter = match self.counters.get_mut(&key) {
            Some(c) => {
                if now.since(c.last) >= forget {
                    c.failures = 0;
                    c.recent = [0; 4];
                }
                // Least recently failing goes first: re-queue with a new sequence number (the
                // old queue entry becomes stale and is skipped).
                c.seq = seq;
                self.counter_order.push_back((key, seq));
                c
            }
            None => {
                self.evict_counters(now);
                self.counter_order.push_back((key, seq));
                self.counters.entry(key).or_insert(Counter {
                    failures: 0,
                    last: now,
                    recent: [0; 4],
                    seq,
                })
            }
        };
        counter.last = now;
        if self.counter_order.len() > slack(self.policy.max_counters) {
            let counters = &self.counters;
            self.counter_order
                .retain(|(k, s)| counters.get(k).is_some_and(|c| c.seq == *s));
        }
        let counter = self.counters.get_mut(&key)?;
        // 0 marks an empty slot; map a zero fingerprint to 1.
        let fp = fingerprint.max(1);
        if counter.recent.contains(&fp) {
            return None;
        }
        counter.recent.rotate_right(1);
        counter.recent[0] = fp;
        counter.failures += 1;
        if counter.failures < self.policy.threshold {
            return None;
        }
        let failures = counter.failures;
        self.counters.remove(&key);
        let until = now.plus(self.policy.block_secs);
        let reason = BlockReason::TooManyFailures {
            failures,
            last_login: login.chars().take(64).collect(),
        };
        self.insert_block(key, now, until, reason.clone());
        Some(BlockInfo {
            network: self.key_network(key),
            since: now,
            until,
            reason,
        })
    }

    fn insert_block(&mut self, key: IpAddr, now: Timestamp, until: Timestamp, reason: BlockReason) {
        self.seq += 1;
        let seq = self.seq;
        if !self.blocks.contains_key(&key) {
            while self.blocks.len() >= self.policy.max_blocks.max(1) {
                let Some((k, s)) = self.block_order.pop_front() else {
                    break;
                };
                if self.blocks.get(&k).is_some_and(|b| b.seq == s) {
                    self.blocks.remove(&k);
                }
            }
        }
        self.block_order.push_back((key, seq));
        self.blocks.insert(
            key,
            Block {
                since: now,
                until,
                reason,
                seq,
            },
        );
        if self.block_order.len() > slack(self.policy.max_blocks) {
            let blocks = &self.blocks;
            self.block_order
                .retain(|(k, s)| blocks.get(k).is_some_and(|b| b.seq == *s));
        }
    }

    fn evict_counters(&mut self, now: Timestamp) {
        let forget = self.policy.forget_after_secs;
        // Drop stale entries at the front, then the oldest live ones while full.
        while let Some(&(k, s)) = self.counter_order.front() {
            let live = self.counters.get(&k).filter(|c| c.seq == s);
            match live {
                None => {
                    self.counter_order.pop_front();
                }
                Some(c) if now.since(c.last) >= forget => {
                    self.counters.remove(&k);
                    self.counter_order.pop_front();
                }
                Some(_) if self.counters.len() >= self.policy.max_counters.max(1) => {
                    self.counters.remove(&k);
                    self.counter_order.pop_front();
                }
                Some(_) => break,
            }
        }
        if self.counter_order.len() > slack(self.policy.max_counters) {
            let counters = &self.counters;
            self.counter_order
                .retain(|(k, s)| counters.get(k).is_some_and(|c| c.seq == *s));
        }
    }

    /// Records a successful login from `ip`: its failure count restarts from zero.
    pub fn record_success(&mut self, ip: IpAddr) {
        let key = self.key(ip);
        self.counters.remove(&key);
    }

    /// Blocks a network by hand until `until`.
    pub fn block(
        &mut self,
        network: Network,
        now: Timestamp,
        until: Timestamp,
        reason: BlockReason,
    ) {
        let single = match network.addr() {
            IpAddr::V4(_) => network.prefix() == 32,
            IpAddr::V6(_) => network.prefix() >= self.policy.ipv6_prefix,
        };
        if single {
            let key = self.key(network.addr());
            self.insert_block(key, now, until, reason);
        } else {
            self.wide_blocks.retain(|(n, _)| *n != network);
            self.wide_blocks.push((
                network,
                Block {
                    since: now,
                    until,
                    reason,
                    seq: 0,
                },
            ));
        }
    }

    /// Lifts every block covering `ip` and clears its counter; whether anything was lifted.
    pub fn lift(&mut self, ip: IpAddr) -> bool {
        !self.lift_networks(ip).is_empty()
    }

    /// Lifts every block covering `ip` and clears its counter; the networks whose blocks
    /// were lifted.
    pub fn lift_networks(&mut self, ip: IpAddr) -> Vec<Network> {
        let key = self.key(ip);
        self.counters.remove(&key);
        let mut lifted = Vec::new();
        if self.blocks.remove(&key).is_some() {
            lifted.push(self.key_network(key));
        }
        self.wide_blocks.retain(|(n, _)| {
            let covers = n.contains(ip);
            if covers {
                lifted.push(*n);
            }
            !covers
        });
        lifted
    }

    /// The network `ip` is counted and blocked as (its /32, or its IPv6 prefix).
    pub fn network_of(&self, ip: IpAddr) -> Network {
        self.key_network(self.key(ip))
    }

    /// Restores persisted blocks (at start-up), soonest-ending first so that, past
    /// `max_blocks`, the blocks ending last are the ones kept. Expired blocks are dropped
    /// on their next lookup, as any other.
    pub fn restore(&mut self, mut blocks: Vec<BlockInfo>) {
        blocks.sort_by_key(|b| b.until);
        for b in blocks {
            self.block(b.network, b.since, b.until, b.reason);
        }
    }

    /// The networks whose blocks were dropped as expired since the last call, for the
    /// caller to remove from its store.
    pub fn take_expired(&mut self) -> Vec<Network> {
        std::mem::take(&mut self.expired)
    }

    /// Current blocks (expired ones are dropped), soonest-ending first.
    pub fn list(&mut self, now: Timestamp) -> Vec<BlockInfo> {
        let mut expired = std::mem::take(&mut self.expired);
        for (k, b) in &self.blocks {
            if b.until <= now {
                expired.push(self.key_network(*k));
            }
        }
        self.blocks.retain(|_, b| b.until > now);
        self.wide_blocks.retain(|(n, b)| {
            let live = b.until > now;
            if !live {
                expired.push(*n);
            }
            live
        });
        expired.truncate(slack(self.policy.max_blocks));
        self.expired = expired;
        let mut v: Vec<BlockInfo> = self
            .blocks
            .iter()
            .map(|(k, b)| BlockInfo {
                network: self.key_network(*k),
                since: b.since,
                until: b.until,
                reason: b.reason.clone(),
            })
            .chain(self.wide_blocks.iter().map(|(n, b)| BlockInfo {
                network: *n,
                since: b.since,
                until: b.until,
                reason: b.reason.clone(),
            }))
            .collect();
        v.sort_by_key(|b| (b.until, b.network.to_string()));
        v
    }

    /// Counters currently kept.
    pub fn counter_count(&self) -> usize {
        self.counters.len()
    }

    /// Blocks currently kept.
    pub fn block_count(&self) -> usize {
        self.blocks.len() + self.wide_blocks.len()
    }

    /// An estimate of the heap memory used by the tables, in bytes.
    pub fn approx_memory_bytes(&self) -> usize {
        use std::mem::size_of;
        // hashbrown: one control byte per bucket plus the (K, V) slot.
        self.counters.capacity() * (size_of::<(IpAddr, Counter)>() + 1)
            + self.blocks.capacity() * (size_of::<(IpAddr, Block)>() + 1)
            + self.counter_order.capacity() * size_of::<(IpAddr, u64)>()
            + self.block_order.capacity() * size_of::<(IpAddr, u64)>()
            + self
                .blocks
                .values()
                .map(|b| match &b.reason {
                    BlockReason::TooManyFailures { last_login, .. } => last_login.capacity(),
                    BlockReason::Manual { by, note } => by.capacity() + note.capacity(),
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ten_distinct_failures_block_for_an_hour() {
        let mut t = BlockTable::new(BlockPolicy::default());
        let a = ip("203.0.113.7");
        let now = Timestamp(1000);
        for i in 1..10 {
            assert_eq!(t.record_failure(a, i, "x@y.cn", now), None);
            assert_eq!(t.blocked_until(a, now), None);
        }
        assert_eq!(
            t.record_failure(a, 10, "x@y.cn", now),
            Some(Timestamp(4600))
        );
        assert_eq!(t.blocked_until(a, Timestamp(4599)), Some(Timestamp(4600)));
        assert_eq!(t.blocked_until(a, Timestamp(4600)), None, "blocks expire");
        assert_eq!(t.blocked_until(ip("203.0.113.8"), now), None);
    }

    #[test]
    fn repeated_wrong_secret_counts_once() {
        let mut t = BlockTable::new(BlockPolicy::default());
        let a = ip("198.51.100.1");
        for _ in 0..100 {
            assert_eq!(t.record_failure(a, 42, "x@y.cn", Timestamp(5)), None);
        }
        assert_eq!(t.blocked_until(a, Timestamp(5)), None);
    }

    #[test]
    fn success_resets_and_idle_counters_are_forgotten() {
        let mut t = BlockTable::new(BlockPolicy::default());
        let a = ip("198.51.100.2");
        for i in 1..10 {
            t.record_failure(a, i, "x", Timestamp(0));
        }
        t.record_success(a);
        for i in 11..20 {
            assert_eq!(t.record_failure(a, i, "x", Timestamp(1)), None);
        }
        // An hour later the nine failures are forgotten.
        for i in 21..30 {
            assert_eq!(t.record_failure(a, i, "x", Timestamp(3601)), None);
        }
        assert!(t.record_failure(a, 31, "x", Timestamp(3601)).is_some());
    }

    #[test]
    fn ipv6_counts_per_64_and_allow_list_is_never_blocked() {
        let mut p = BlockPolicy::default();
        p.allow.push(Network::parse("10.0.0.0/8").unwrap());
        let mut t = BlockTable::new(p);
        for i in 0..10u32 {
            let a = ip(&format!("2001:db8:1:2::{i:x}"));
            t.record_failure(a, i + 1, "x", Timestamp(0));
        }
        assert!(
            t.blocked_until(ip("2001:db8:1:2:ffff::1"), Timestamp(1))
                .is_some()
        );
        assert!(
            t.blocked_until(ip("2001:db8:1:3::1"), Timestamp(1))
                .is_none()
        );
        for i in 0..50 {
            assert_eq!(
                t.record_failure(ip("10.1.1.1"), i + 1, "x", Timestamp(0)),
                None
            );
        }
        assert_eq!(t.blocked_until(ip("10.1.1.1"), Timestamp(0)), None);
        let listed = t.list(Timestamp(1));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].network.to_string(), "2001:db8:1:2::/64");
        assert!(matches!(
            listed[0].reason,
            BlockReason::TooManyFailures { failures: 10, .. }
        ));
    }

    #[test]
    fn manual_blocks_and_lifting() {
        let mut t = BlockTable::new(BlockPolicy::default());
        let reason = BlockReason::Manual {
            by: "admin".into(),
            note: "spam run".into(),
        };
        t.block(
            Network::parse("192.0.2.0/24").unwrap(),
            Timestamp(0),
            Timestamp(100),
            reason.clone(),
        );
        t.block(
            Network::parse("198.51.100.9").unwrap(),
            Timestamp(0),
            Timestamp(50),
            reason,
        );
        assert_eq!(
            t.blocked_until(ip("192.0.2.77"), Timestamp(10)),
            Some(Timestamp(100))
        );
        assert_eq!(
            t.blocked_until(ip("198.51.100.9"), Timestamp(10)),
            Some(Timestamp(50))
        );
        assert_eq!(t.list(Timestamp(10)).len(), 2);
        assert!(t.lift(ip("192.0.2.77")));
        assert!(!t.lift(ip("192.0.2.77")));
        assert_eq!(t.blocked_until(ip("192.0.2.77"), Timestamp(10)), None);
        assert_eq!(
            t.list(Timestamp(60)).len(),
            0,
            "expired blocks are not listed"
        );
    }

    #[test]
    fn eviction_spares_recently_failing_addresses() {
        let p = BlockPolicy {
            max_counters: 3,
            threshold: 3,
            ..BlockPolicy::default()
        };
        let mut t = BlockTable::new(p);
        let (a, b, c, d) = (
            ip("192.0.2.1"),
            ip("192.0.2.2"),
            ip("192.0.2.3"),
            ip("192.0.2.4"),
        );
        t.record_failure(a, 1, "x", Timestamp(0));
        t.record_failure(b, 1, "x", Timestamp(1));
        t.record_failure(c, 1, "x", Timestamp(2));
        t.record_failure(a, 2, "x", Timestamp(3)); // a is now the most recent
        t.record_failure(d, 1, "x", Timestamp(4)); // evicts b, the least recent
        assert_eq!(t.counter_count(), 3);
        assert!(
            t.record_failure(a, 3, "x", Timestamp(5)).is_some(),
            "a kept its count"
        );
        assert_eq!(t.record_failure(b, 2, "x", Timestamp(5)), None);
        assert_eq!(
            t.record_failure(b, 3, "x", Timestamp(5)),
            None,
            "b started over"
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood() {
        let p = BlockPolicy {
            max_counters: 1000,
            max_blocks: 100,
            threshold: 2,
            ..BlockPolicy::default()
        };
        let mut t = BlockTable::new(p);
        for i in 0..50_000u32 {
            let a = IpAddr::from(i.to_be_bytes());
            t.record_failure(a, 1, "x", Timestamp(0));
            if i % 10 == 0 {
                t.record_failure(a, 2, "x", Timestamp(0));
            }
        }
        assert!(t.counter_count() <= 1000);
        assert!(t.block_count() <= 100);
        assert!(t.counter_order.len() <= slack(1000) + 1);
        assert!(t.block_order.len() <= slack(100) + 1);
        // The newest block survives eviction.
        assert!(
            t.blocked_until(IpAddr::from(49_990u32.to_be_bytes()), Timestamp(1))
                .is_some()
        );
    }
}
