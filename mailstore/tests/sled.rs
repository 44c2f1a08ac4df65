//! The conformance suite on the sled backend (feature `sled`).
use std::sync::Arc;

mod common;

use mailstore::{SledStore, Store, conformance};

fn make() -> Arc<dyn Store> {
    Arc::new(SledStore::open(common::scratch_dir("mailstore-sled")).expect("open"))
}

#[tokio::test]
async fn conformance_suite() {
    conformance::run_all(&make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency() {
    conformance::concurrent_appends_and_flags(make(), 16, 8).await;
}

#[test]
fn model_based() {
    conformance::model_proptest(&make, 6);
}

#[tokio::test]
async fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    conformance::reopen_keeps_everything(&move || {
        Arc::new(SledStore::open(&path).expect("reopen")) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test]
async fn newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    {
        let db = sled::open(dir.path()).unwrap();
        let t = db.open_tree("meta").unwrap();
        t.insert(
            b"format",
            &(mailstore::FORMAT_VERSION + 7).to_le_bytes()[..],
        )
        .unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(dir.path()) {
        Err(mailstore::StoreError::NewerFormat { found, .. }) => {
            assert_eq!(found, mailstore::FORMAT_VERSION + 7)
        }
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("newer format opened"),
    }
}

#[test]
fn second_open_and_garbage_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let _a = SledStore::open(dir.path()).unwrap();
    match SledStore::open(dir.path()) {
        Err(mailstore::StoreError::AlreadyOpen(_)) => {}
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("opened twice"),
    }
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("conf"), b"\xff\xfe not a sled config").unwrap();
    std::fs::write(bad.path().join("db"), vec![0x5au8; 4096]).unwrap();
    match SledStore::open(bad.path()) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(_) => panic!("garbage opened as a store"),
    }
}
