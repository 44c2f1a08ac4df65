//! [`MemoryStore`]: everything in memory, for tests and examples.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::engine::backend::{Ack, Backend, Batch, Mutation, Table, Visitor};
use crate::engine::{Engine, StoreConfig};
use crate::error::Result;

struct MemBackend {
    tables: Mutex<Vec<BTreeMap<Vec<u8>, Bytes>>>,
}

impl MemBackend {
    fn apply(&self, muts: &[Mutation]) {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        for m in muts {
            let table = &mut t[m.table.index()];
            match &m.value {
                Some(v) => {
                    table.insert(m.key.clone(), v.clone());
                }
                None => {
                    table.remove(&m.key);
                }
            }
        }
    }
}

impl Backend for MemBackend {
    fn submit(&self, batch: Batch) -> Ack {
        let (tx, rx) = oneshot::channel();
        self.apply(&batch.muts);
        batch.publish();
        let _ = tx.send(Ok(()));
        rx
    }

    fn write_now(&self, muts: Vec<Mutation>) -> Result<()> {
        self.apply(&muts);
        Ok(())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(
            self.tables.lock().unwrap_or_else(|p| p.into_inner())[table.index()]
                .get(key)
                .cloned(),
        )
    }

    fn scan(&self, table: Table, f: &mut Visitor<'_>) -> Result<()> {
        let t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        for (k, v) in &t[table.index()] {
            f(k, v)?;
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
    engine: Engine,
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
        let st = s.engine.state_for_tests();
        let mem = s.engine.backend_table_len(Table::Blobs);
        (st, mem)
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
