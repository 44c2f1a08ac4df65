//! A bounded cache of decoded message metadata (envelope, MIME tree), keyed by body hash.
//! Metadata lives on disk as JSON; FETCH of the same messages again does not decode it again.

use std::collections::HashMap;
use std::sync::Arc;

use super::codec::Hash;
use crate::meta::MessageMeta;

pub(crate) struct MetaCache {
    map: HashMap<Hash, (Arc<MessageMeta>, u64)>,
    tick: u64,
    cap: usize,
}

impl MetaCache {
    pub(crate) fn new(cap: usize) -> MetaCache {
        MetaCache {
            map: HashMap::new(),
            tick: 0,
            cap,
        }
    }

    pub(crate) fn get(&mut self, h: &Hash) -> Option<Arc<MessageMeta>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(h).map(|(m, t)| {
            *t = tick;
            m.clone()
        })
    }

    pub(crate) fn insert(&mut self, h: Hash, meta: Arc<MessageMeta>) {
        if self.cap == 0 {
            return;
        }
        self.tick += 1;
        self.map.insert(h, (meta, self.tick));
        if self.map.len() > self.cap {
            // Drop the older half at once (amortized O(1) per insert).
            let mut ticks: Vec<u64> = self.map.values().map(|(_, t)| *t).collect();
            let mid = ticks.len() / 2;
            let (_, cut, _) = ticks.select_nth_unstable(mid);
            let cut = *cut;
            self.map.retain(|_, (_, t)| *t > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_keeps_recent_entries() {
        let mut c = MetaCache::new(10);
        for i in 0..100u8 {
            c.insert([i; 32], Arc::new(MessageMeta::default()));
            assert!(c.map.len() <= 10);
        }
        assert!(c.get(&[99; 32]).is_some());
        assert!(c.get(&[0; 32]).is_none());
    }
}
