//! [`RedbStore`]: the durable embedded default, one directory holding one redb file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

use crate::engine::backend::{
    Ack, Backend, Batch, IndexVisitor, KvTxn, Mutation, Table, Visitor, apply_all,
};
use crate::engine::commit::{Apply, GroupCommitter, Rounds};
use crate::engine::{Engine, StoreConfig};
use crate::error::{Result, StoreError};

/// File name of the database inside the store directory.
pub const REDB_FILE: &str = "mailstore.redb";

fn def(t: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(t.name())
}

fn backend_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

struct RedbApply {
    db: Arc<Database>,
}

type RedbTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// A redb write transaction with its tables opened on first use.
struct RedbTxn<'t> {
    txn: &'t redb::WriteTransaction,
    tables: Vec<Option<RedbTable<'t>>>,
}

impl<'t> RedbTxn<'t> {
    fn table(&mut self, t: Table) -> Result<&mut RedbTable<'t>> {
        let slot = &mut self.tables[t.index()];
        if slot.is_none() {
            *slot = Some(self.txn.open_table(def(t)).map_err(backend_err)?);
        }
        slot.as_mut()
            .ok_or_else(|| StoreError::Backend("table not open".into()))
    }
}

impl KvTxn for RedbTxn<'_> {
    fn get(&mut self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .table(t)?
            .get(key)
            .map_err(backend_err)?
            .map(|v| v.value().to_vec()))
    }

    fn put(&mut self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.table(t)?.insert(key, value).map_err(backend_err)?;
        Ok(())
    }

    fn del(&mut self, t: Table, key: &[u8]) -> Result<()> {
        self.table(t)?.remove(key).map_err(backend_err)?;
        Ok(())
    }
}

/// Applies every round in one write transaction, then commits it.
fn apply_rounds(db: &Database, rounds: &mut dyn Rounds) -> Result<()> {
    let txn = db.begin_write().map_err(backend_err)?;
    {
        let mut t = RedbTxn {
            txn: &txn,
            tables: (0..Table::ALL.len()).map(|_| None).collect(),
        };
        loop {
            let groups = rounds.next();
            if groups.is_empty() {
                break;
            }
            apply_all(&mut t, &groups)?;
        }
    }
    txn.commit().map_err(backend_err)
}

/// One round of given mutations.
struct Once<'a>(Option<&'a [Mutation]>);

impl Rounds for Once<'_> {
    fn next(&mut self) -> Vec<&[Mutation]> {
        self.0.take().into_iter().collect()
    }
}

impl Apply for RedbApply {
    fn apply(&mut self, rounds: &mut dyn Rounds) -> Result<()> {
        apply_rounds(&self.db, rounds)
    }
}

struct RedbBackend {
    db: Arc<Database>,
    path: PathBuf,
    committer: GroupCommitter,
}

impl Backend for RedbBackend {
    fn submit(&self, batch: Batch) -> Ack {
        self.committer.submit(batch)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        let r = self.db.begin_read().map_err(backend_err)?;
        let t = r.open_table(def(table)).map_err(backend_err)?;
        Ok(t.get(key)
            .map_err(backend_err)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    fn get_each(&self, table: Table, keys: &[&[u8]], f: &mut IndexVisitor<'_>) -> Result<()> {
        let r = self.db.begin_read().map_err(backend_err)?;
        let t = r.open_table(def(table)).map_err(backend_err)?;
        // Visit the keys in order, walking a range iterator between neighbours (many keys of
        // one table are mostly adjacent entries) and seeking anew after a long gap.
        const WALK: usize = 16;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_unstable_by_key(|i| keys[*i]);
        let mut iter: Option<redb::Range<'_, &'static [u8], &'static [u8]>> = None;
        // The entry the iterator stands on.
        type Guard<'a> = redb::AccessGuard<'a, &'static [u8]>;
        let mut cur: Option<(Guard<'_>, Guard<'_>)> = None;
        for i in order {
            let key = keys[i];
            let mut steps = 0;
            loop {
                if let Some((k, v)) = &cur {
                    match k.value().cmp(key) {
                        std::cmp::Ordering::Equal => {
                            f(i, v.value())?;
                            break;
                        }
                        std::cmp::Ordering::Greater => break,
                        std::cmp::Ordering::Less => {}
                    }
                }
                if iter.is_none() || steps == WALK {
                    iter = Some(t.range::<&[u8]>(key..).map_err(backend_err)?);
                }
                steps += 1;
                cur = match iter.as_mut().and_then(|it| it.next()) {
                    Some(item) => Some(item.map_err(backend_err)?),
                    None => None,
                };
                if cur.is_none() {
                    // Past the end: no later key exists; seek again for the next one.
                    iter = None;
                    break;
                }
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
        let r = self.db.begin_read().map_err(backend_err)?;
        let t = r.open_table(def(table)).map_err(backend_err)?;
        let iter = match end {
            Some(end) => t.range::<&[u8]>(start..end),
            None => t.range::<&[u8]>(start..),
        }
        .map_err(backend_err)?;
        for item in iter {
            let (k, v) = item.map_err(backend_err)?;
            f(k.value(), v.value())?;
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
        apply_rounds(&self.db, &mut Once(Some(&muts)))
    }
}

/// The durable default store: one directory with one redb database.
///
/// * Every write is committed with redb's default `Immediate` durability (fsync) before the
///   call returns.
/// * Group commit: a dedicated writer thread drains all pending operations, applies them
///   in one write transaction and commits once, so N concurrent writers share one fsync.
/// * Bodies are stored once per distinct content (SHA-256), reference-counted on disk, and
///   deleted with their last reference.
/// * Open reads only the format record and the counters; an account's index (UIDs, flags,
///   modseqs, sizes) is loaded on first use and evicted beyond
///   [`StoreConfig::max_loaded_accounts`]. Format-1 and format-2 stores are upgraded in place
///   at open.
/// * No tokio runtime flavour is assumed and no tokio task is spawned; the writer is a
///   `std` thread that stops when the store is dropped, after committing what was queued.
///
/// Reads of bodies are synchronous redb reads (memory-mapped pages, no fsync).
pub struct RedbStore {
    pub(crate) engine: Engine,
}

impl RedbStore {
    /// Opens (creating if needed) the store in directory `dir`.
    ///
    /// Errors: [`StoreError::Corrupt`] if the file is not a readable store,
    /// [`StoreError::NewerFormat`] if a newer version wrote it, [`StoreError::AlreadyOpen`]
    /// if another handle has it open.
    pub fn open(dir: impl AsRef<Path>) -> Result<RedbStore> {
        RedbStore::open_with(dir, StoreConfig::default())
    }

    /// [`open`](Self::open) with settings.
    pub fn open_with(dir: impl AsRef<Path>, config: StoreConfig) -> Result<RedbStore> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(REDB_FILE);
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.clone(),
            detail,
        };
        let db = match std::panic::catch_unwind(|| Database::create(&path)) {
            Ok(Ok(db)) => db,
            Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(StoreError::AlreadyOpen(path));
            }
            Ok(Err(DatabaseError::UpgradeRequired(v))) => {
                return Err(corrupt(format!("redb file format {v} needs an upgrade")));
            }
            Ok(Err(DatabaseError::Storage(redb::StorageError::Io(e))))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied
                        | std::io::ErrorKind::NotFound
                        | std::io::ErrorKind::StorageFull
                        | std::io::ErrorKind::ReadOnlyFilesystem
                        | std::io::ErrorKind::OutOfMemory
                ) =>
            {
                return Err(StoreError::Backend(format!(
                    "cannot open {}: {e}",
                    path.display()
                )));
            }
            Ok(Err(e)) => return Err(corrupt(e.to_string())),
            Err(_) => {
                return Err(corrupt(
                    "the database engine failed reading the file".into(),
                ));
            }
        };
        let db = Arc::new(db);
        // Make sure every table exists so reads never meet a missing table.
        {
            let txn = db.begin_write().map_err(|e| corrupt(e.to_string()))?;
            for t in Table::ALL {
                txn.open_table(def(t)).map_err(|e| corrupt(e.to_string()))?;
            }
            txn.commit().map_err(|e| corrupt(e.to_string()))?;
        }
        let committer = GroupCommitter::spawn("redb", Box::new(RedbApply { db: db.clone() }))?;
        let backend = RedbBackend {
            db,
            path: path.clone(),
            committer,
        };
        let engine = Engine::open(Box::new(backend), config).map_err(|e| match e {
            StoreError::Backend(d) => corrupt(d),
            other => other,
        })?;
        Ok(RedbStore { engine })
    }
}

crate::delegate::delegate_store!(RedbStore);
