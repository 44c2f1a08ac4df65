//! Scratch directories for store tests under cargo's per-target temp dir. Each test process
//! uses `<kind>-<pid>/`, and removes directories left by earlier processes of the same kind.
//! Also reads a redb store's raw tables, for tests of the on-disk layout.
#![allow(dead_code)] // each test binary uses some of these
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

fn base(kind: &str) -> &'static PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let mine = format!("{kind}-{}", std::process::id());
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(&format!("{kind}-")) && name != mine {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = root.join(mine);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

/// A fresh, empty directory for one store.
pub fn scratch_dir(kind: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = base(kind).join(N.fetch_add(1, Ordering::SeqCst).to_string());
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Every entry of one table of the (closed) redb store in `dir`, in key order.
pub fn redb_table(dir: &std::path::Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    use redb::{ReadableDatabase, ReadableTable};
    let db = redb::Database::open(dir.join(mailstore::REDB_FILE)).unwrap();
    let r = db.begin_read().unwrap();
    let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(table);
    let t = r.open_table(def).unwrap();
    t.iter()
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.value().to_vec(), v.value().to_vec())
        })
        .collect()
}
