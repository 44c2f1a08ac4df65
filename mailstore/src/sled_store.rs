//! `SledStore` (feature `sled`): the same engine on sled 0.34, flushed before each write returns.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

use crate::engine::backend::{
    Ack, Backend, Batch, IndexVisitor, KvTxn, Mutation, Table, Visitor, apply_all,
};
use crate::engine::commit::{Apply, GroupCommitter, Rounds};
use crate::engine::{Engine, StoreConfig};
use crate::error::{Result, StoreError};

fn backend_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A sled transaction over every tree. Errors are kept aside and the transaction aborted.
struct SledTxn<'t> {
    trees: &'t [TransactionalTree],
}

fn sled_err(e: UnabortableTransactionError) -> StoreError {
    StoreError::Backend(format!("sled transaction failed: {e:?}"))
}

impl KvTxn for SledTxn<'_> {
    fn get(&mut self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.trees[t.index()]
            .get(key)
            .map_err(sled_err)?
            .map(|v| v.to_vec()))
    }

    fn put(&mut self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.trees[t.index()].insert(key, value).map_err(sled_err)?;
        Ok(())
    }

    fn del(&mut self, t: Table, key: &[u8]) -> Result<()> {
        self.trees[t.index()].remove(key).map_err(sled_err)?;
        Ok(())
    }
}

fn apply_groups(db: &sled::Db, trees: &[sled::Tree], groups: &[&[Mutation]]) -> Result<()> {
    trees
        .transaction(|tt: &Vec<TransactionalTree>| {
            let mut t = SledTxn { trees: tt };
            apply_all(&mut t, groups).map_err(ConflictableTransactionError::Abort)
        })
        .map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => {
                StoreError::Backend(format!("sled transaction failed: {e}"))
            }
        })?;
    db.flush().map_err(backend_err)?;
    Ok(())
}

struct SledApply {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

impl Apply for SledApply {
    fn apply(&mut self, rounds: &mut dyn Rounds) -> Result<()> {
        // One round: a sled transaction may run its closure again on a conflict, so it
        // gets a fixed set of operations; later arrivals wait for the next flush.
        apply_groups(&self.db, &self.trees, &rounds.next())
    }
}

struct SledBackend {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    path: PathBuf,
    committer: GroupCommitter,
}

impl Backend for SledBackend {
    fn submit(&self, batch: Batch) -> Ack {
        self.committer.submit(batch)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.trees[table.index()]
            .get(key)
            .map_err(backend_err)?
            .map(|v| Bytes::copy_from_slice(&v)))
    }

    fn get_each(&self, table: Table, keys: &[&[u8]], f: &mut IndexVisitor<'_>) -> Result<()> {
        for (i, k) in keys.iter().enumerate() {
            if let Some(v) = self.trees[table.index()].get(k).map_err(backend_err)? {
                f(i, &v)?;
            }
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
        let tree = &self.trees[table.index()];
        let iter = match end {
            Some(end) => tree.range(start..end),
            None => tree.range(start..),
        };
        for item in iter {
            let (k, v) = item.map_err(backend_err)?;
            f(&k, &v)?;
        }
        Ok(())
    }

    fn location(&self) -> PathBuf {
        self.path.clone()
    }

    fn failed(&self) -> bool {
        self.committer.failed()
    }

    fn write_now(&self, muts: Vec<Mutation>) -> Result<()> {
        apply_groups(&self.db, &self.trees, &[&muts])
    }
}

/// How long [`SledStore::open`] waits for a lock that a just-dropped handle still holds.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The store on sled 0.34 (feature `sled`).
///
/// Every write runs as one sled transaction over the store's trees and is followed by
/// `Db::flush()` before the call returns, so an acknowledged write is on disk. Writes are
/// grouped like [`RedbStore`](crate::RedbStore)'s. See the crate README for what sled does
/// and does not guarantee; prefer `RedbStore`.
pub struct SledStore {
    pub(crate) engine: Engine,
}

impl SledStore {
    /// Opens (creating if needed) the sled store in directory `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore> {
        SledStore::open_with(dir, StoreConfig::default())
    }

    /// [`open`](Self::open) with settings.
    pub fn open_with(dir: impl AsRef<Path>, config: StoreConfig) -> Result<SledStore> {
        let path = dir.as_ref().to_owned();
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.clone(),
            detail,
        };
        // sled releases its file lock from background threads shortly after the last
        // handle is dropped, so a reopen right after a drop can find it still held: retry
        // for a moment before reporting the store as open elsewhere.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let opened = loop {
            let opened = std::panic::catch_unwind(|| sled::Config::new().path(&path).open());
            match &opened {
                Ok(Err(sled::Error::Io(e)))
                    if e.to_string().contains("lock") && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                _ => break opened,
            }
        };
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(sled::Error::Io(e))) if e.to_string().contains("lock") => {
                return Err(StoreError::AlreadyOpen(path));
            }
            Ok(Err(sled::Error::Io(e))) => {
                return Err(StoreError::Backend(format!(
                    "cannot open {}: {e}",
                    path.display()
                )));
            }
            Ok(Err(e)) => return Err(corrupt(e.to_string())),
            Err(_) => return Err(corrupt("sled failed reading the directory".into())),
        };
        let mut trees = Vec::with_capacity(Table::ALL.len());
        for t in Table::ALL {
            trees.push(db.open_tree(t.name()).map_err(|e| corrupt(e.to_string()))?);
        }
        let committer = GroupCommitter::spawn(
            "sled",
            Box::new(SledApply {
                db: db.clone(),
                trees: trees.clone(),
            }),
        )?;
        let backend = SledBackend {
            db,
            trees,
            path: path.clone(),
            committer,
        };
        let engine = Engine::open(Box::new(backend), config)?;
        Ok(SledStore { engine })
    }
}

crate::delegate::delegate_store!(SledStore);
