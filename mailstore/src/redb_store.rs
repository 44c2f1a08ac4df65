//! [`RedbStore`]: the durable embedded default, one directory holding one redb file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

use crate::engine::backend::{Ack, Backend, Batch, Mutation, Table, Visitor};
use crate::engine::commit::{Apply, GroupCommitter};
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

fn apply_groups(db: &Database, groups: &[&[Mutation]]) -> Result<()> {
    let txn = db.begin_write().map_err(backend_err)?;
    {
        let mut tables: Vec<Option<redb::Table<'_, &'static [u8], &'static [u8]>>> =
            (0..Table::ALL.len()).map(|_| None).collect();
        for muts in groups {
            for m in muts.iter() {
                let slot = &mut tables[m.table.index()];
                if slot.is_none() {
                    *slot = Some(txn.open_table(def(m.table)).map_err(backend_err)?);
                }
                if let Some(t) = slot.as_mut() {
                    match &m.value {
                        Some(v) => {
                            t.insert(m.key.as_slice(), v.as_ref())
                                .map_err(backend_err)?;
                        }
                        None => {
                            t.remove(m.key.as_slice()).map_err(backend_err)?;
                        }
                    }
                }
            }
        }
    }
    txn.commit().map_err(backend_err)
}

impl Apply for RedbApply {
    fn apply(&mut self, groups: &[&[Mutation]]) -> Result<()> {
        apply_groups(&self.db, groups)
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

    fn scan(&self, table: Table, f: &mut Visitor<'_>) -> Result<()> {
        let r = self.db.begin_read().map_err(backend_err)?;
        let t = r.open_table(def(table)).map_err(backend_err)?;
        for item in t.iter().map_err(backend_err)? {
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
        apply_groups(&self.db, &[&muts])
    }
}

/// The durable default store: one directory with one redb database.
///
/// * Every write is committed with redb's default `Immediate` durability (fsync) before the
///   call returns.
/// * Group commit: a dedicated writer thread drains all pending operations, applies them
///   in one write transaction and commits once, so N concurrent writers share one fsync.
/// * Bodies are stored once per distinct content (SHA-256), reference-counted, and deleted
///   with their last reference. The index of everything but bodies and body text is kept in
///   memory and rebuilt at open.
/// * No tokio runtime flavour is assumed and no tokio task is spawned; the writer is a
///   `std` thread that stops when the store is dropped, after committing what was queued.
///
/// Reads of bodies are synchronous redb reads (memory-mapped pages, no fsync).
pub struct RedbStore {
    engine: Engine,
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
