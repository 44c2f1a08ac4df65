//! [`MemoryStore`]: everything in memory, for tests and examples.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::engine::backend::{
    Ack, Backend, Batch, IndexVisitor, KvTxn, Mutation, Table, Visitor, apply_all,
};
use crate::engine::{Engine, StoreConfig};
use crate::error::Result;

struct MemBackend {
    tables: Mutex<Vec<BTreeMap<Vec<u8>, Bytes>>>,
}

type Tables = Vec<BTreeMap<Vec<u8>, Bytes>>;

/// Applies in place, keeping the old values to roll back a failed batch.
struct MemTxn<'a> {
    tables: &'a mut Tables,
    undo: Vec<(Table, Vec<u8>, Option<Bytes>)>,
}

impl KvTxn for MemTxn<'_> {
    fn get(&mut self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tables[t.index()].get(key).map(|v| v.to_vec()))
    }

    fn put(&mut self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
        let old = self.tables[t.index()].insert(key.to_vec(), Bytes::copy_from_slice(value));
        self.undo.push((t, key.to_vec(), old));
        Ok(())
    }

    fn del(&mut self, t: Table, key: &[u8]) -> Result<()> {
        let old = self.tables[t.index()].remove(key);
        self.undo.push((t, key.to_vec(), old));
        Ok(())
    }
}

impl MemBackend {
    fn apply(&self, muts: &[Mutation]) -> Result<()> {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let mut txn = MemTxn {
            tables: &mut t,
            undo: Vec::new(),
        };
        let r = apply_all(&mut txn, &[muts]);
        if r.is_err() {
            // All or nothing, like a database transaction.
            let MemTxn { tables, undo } = txn;
            for (table, key, old) in undo.into_iter().rev() {
                match old {
                    Some(v) => tables[table.index()].insert(key, v),
                    None => tables[table.index()].remove(&key),
                };
            }
        }
        r
    }
}

impl Backend for MemBackend {
    fn submit(&self, batch: Batch) -> Ack {
        let (tx, rx) = oneshot::channel();
        match self.apply(&batch.muts) {
            Ok(()) => {
                batch.publish();
                let _ = tx.send(Ok(()));
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
        rx
    }

    fn write_now(&self, muts: Vec<Mutation>) -> Result<()> {
        self.apply(&muts)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(
            self.tables.lock().unwrap_or_else(|p| p.into_inner())[table.index()]
                .get(key)
                .cloned(),
        )
    }

    fn get_each(&self, table: Table, keys: &[&[u8]], f: &mut IndexVisitor<'_>) -> Result<()> {
        // Collected first: `f` may read the backend again.
        let found: Vec<(usize, Bytes)> = {
            let t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
            keys.iter()
                .enumerate()
                .filter_map(|(i, k)| Some((i, t[table.index()].get(*k)?.clone())))
                .collect()
        };
        for (i, v) in found {
            f(i, &v)?;
        }
        Ok(())
    }

    fn range(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        f: &mut Visitor<'_>,
    ) -> Result<()> {
        use std::ops::Bound;
        let hi = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        // Collected first: `f` may read the backend again.
        let entries: Vec<(Vec<u8>, Bytes)> = {
            let t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
            t[table.index()]
                .range::<[u8], _>((Bound::Included(start), hi))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        for (k, v) in entries {
            f(&k, &v)?;
        }
        Ok(())
    }

    fn location(&self) -> PathBuf {
        PathBuf::from("<memory>")
    }

    fn failed(&self) -> bool {
        false
    }
}

/// A store kept entirely in memory; nothing survives the value. Same semantics as the
/// durable backends (it runs the same engine), so it is a faithful stand-in for tests.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use mailstore::{AccountId, Flags, MailboxName, MemoryStore, Store};
/// let store = MemoryStore::new();
/// let me = AccountId::new("li@example.edu.cn").unwrap();
/// store.create_account(&me, &[]).await.unwrap();
/// let inbox = store.mailbox_id(&me, &MailboxName::inbox()).await.unwrap();
/// let a = store.append(inbox, "Subject: hi\r\n\r\nbody\r\n".into(), Flags::empty(), 0).await.unwrap();
/// assert_eq!(a.uid.get(), 1);
/// # });
/// ```
pub struct MemoryStore {
    pub(crate) engine: Engine,
}

impl MemoryStore {
    /// An empty store with default settings.
    pub fn new() -> MemoryStore {
        MemoryStore::with_config(StoreConfig::default())
    }

    /// An empty store with `config`.
    pub fn with_config(config: StoreConfig) -> MemoryStore {
        let backend = MemBackend {
            tables: Mutex::new(vec![BTreeMap::new(); Table::ALL.len()]),
        };
        // Loading an empty in-memory backend cannot fail; its one write completes at once.
        let engine = match Engine::open(Box::new(backend), config.clone()) {
            Ok(e) => e,
            Err(e) => unreachable!("empty memory store failed to open: {e}"),
        };
        MemoryStore { engine }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

crate::delegate::delegate_store!(MemoryStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, FlagOp, Flags, MailboxName, Store, Uid};

    fn blob_count(s: &MemoryStore) -> (usize, usize) {
        let refs = s.engine.backend_table_len(Table::Refs);
        let mem = s.engine.backend_table_len(Table::Bodies);
        (refs, mem)
    }

    #[tokio::test]
    async fn single_instance_bodies_are_refcounted_and_freed() {
        let s = MemoryStore::new();
        let raw: Bytes = "Subject: bulk\r\n\r\nsame document for everyone\r\n".into();
        let mut boxes = Vec::new();
        for i in 0..5 {
            let a = AccountId::new(&format!("u{i}@court.gov.cn")).unwrap();
            s.create_account(&a, &[]).await.unwrap();
            let inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
            s.append(inbox, raw.clone(), Flags::empty(), 0)
                .await
                .unwrap();
            boxes.push(inbox);
        }
        assert_eq!(blob_count(&s), (1, 1), "one body for five recipients");
        let other: Bytes = "Subject: x\r\n\r\nother\r\n".into();
        s.append(boxes[0], other, Flags::empty(), 0).await.unwrap();
        assert_eq!(blob_count(&s), (2, 2));
        let del = Flags::empty().with(crate::Flag::Deleted);
        for (i, b) in boxes.iter().enumerate() {
            s.store_flags(*b, &[Uid::MIN], FlagOp::Add, &del, None)
                .await
                .unwrap();
            s.expunge(*b, None).await.unwrap();
            let expect = if i < 4 { 2 } else { 1 };
            assert_eq!(blob_count(&s), (expect, expect), "after expunging copy {i}");
        }
    }

    #[tokio::test]
    async fn delete_account_frees_bodies_only_it_referenced() {
        let s = MemoryStore::new();
        let a = AccountId::new("a@court.gov.cn").unwrap();
        let b = AccountId::new("b@court.gov.cn").unwrap();
        for x in [&a, &b] {
            s.create_account(x, &[]).await.unwrap();
        }
        let ia = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
        let ib = s.mailbox_id(&b, &MailboxName::inbox()).await.unwrap();
        let shared: Bytes = "Subject: bulk\r\n\r\nfor both\r\n".into();
        s.append(ia, shared.clone(), Flags::empty(), 0)
            .await
            .unwrap();
        s.append(ib, shared, Flags::empty(), 0).await.unwrap();
        s.append(ia, "Subject: a only\r\n\r\nx\r\n".into(), Flags::empty(), 0)
            .await
            .unwrap();
        s.set_archive_mode(&a, true).await.unwrap();
        let del = Flags::empty().with(crate::Flag::Deleted);
        s.append(ia, "Subject: archived\r\n\r\ny\r\n".into(), del, 0)
            .await
            .unwrap();
        s.expunge(ia, None).await.unwrap();
        assert_eq!(blob_count(&s), (3, 3));
        s.delete_account(&a).await.unwrap();
        assert_eq!(blob_count(&s), (1, 1), "only the body b still holds");
        assert_eq!(s.engine.backend_table_len(Table::Archive), 0);
        assert_eq!(s.engine.backend_table_len(Table::Messages), 1);
        assert_eq!(s.engine.backend_table_len(Table::Accounts), 1);
    }
}
