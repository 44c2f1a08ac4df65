//! Scratch directories for store tests under cargo's per-target temp dir. Each test process
//! uses `<kind>-<pid>/`, and removes directories left by earlier processes of the same kind.
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
