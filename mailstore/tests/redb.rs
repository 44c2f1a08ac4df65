//! The conformance suite on the redb backend, plus reopen, corrupt and newer-format tests.
use std::sync::Arc;

mod common;

use mailstore::{RedbStore, Store, StoreError, conformance};

fn make() -> Arc<dyn Store> {
    Arc::new(RedbStore::open(common::scratch_dir("mailstore-redb")).expect("open"))
}

#[tokio::test]
async fn conformance_suite() {
    conformance::run_all(&make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency() {
    conformance::concurrent_appends_and_flags(make(), 32, 8).await;
}

#[test]
fn model_based() {
    conformance::model_proptest(&make, 12);
}

#[tokio::test]
async fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    conformance::reopen_keeps_everything(&move || {
        Arc::new(RedbStore::open(&path).expect("reopen")) as Arc<dyn Store>
    })
    .await;
}

#[test]
fn second_open_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _a = RedbStore::open(dir.path()).unwrap();
    match RedbStore::open(dir.path()) {
        Err(StoreError::AlreadyOpen(_)) => {}
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("opened twice"),
    }
}

#[test]
fn corrupt_file_gives_clear_error() {
    for garbage in [
        vec![0u8; 0],
        b"this is not a database".to_vec(),
        vec![0xffu8; 8192],
        (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(mailstore::REDB_FILE), &garbage).unwrap();
        match RedbStore::open(dir.path()) {
            Err(e @ StoreError::Corrupt { .. }) => {
                assert!(e.to_string().contains("corrupt"), "{e}");
            }
            Err(e) => panic!("{} bytes: wrong error {e}", garbage.len()),
            Ok(_) if garbage.is_empty() => {} // an empty file is a new store
            Ok(_) => panic!("{} bytes of garbage opened as a store", garbage.len()),
        }
    }
}

#[tokio::test]
async fn damaged_store_gives_clear_error() {
    // A valid redb file whose contents break the store's invariants. Accounts are loaded on
    // first use, so the damage is reported then (open reads only the format and counters).
    let dir = tempfile::tempdir().unwrap();
    let a = mailstore::AccountId::new("x@example.org").unwrap();
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_account(&a, &[]).await.unwrap();
    }
    for (table, value) in [("mailboxes", &b"{not json"[..]), ("accounts", &b"\xff"[..])] {
        {
            let db = redb::Database::open(dir.path().join(mailstore::REDB_FILE)).unwrap();
            let tx = db.begin_write().unwrap();
            {
                let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(table);
                let mut t = tx.open_table(def).unwrap();
                let key = if table == "mailboxes" {
                    let mut k = b"x@example.org\0".to_vec();
                    k.extend_from_slice(&1u64.to_be_bytes());
                    k
                } else {
                    b"x@example.org".to_vec()
                };
                t.insert(key.as_slice(), value).unwrap();
            }
            tx.commit().unwrap();
        }
        let s = RedbStore::open(dir.path()).unwrap();
        match s.list_mailboxes(&a).await {
            Err(e @ StoreError::Corrupt { .. }) => {
                let want = if table == "mailboxes" {
                    "mailbox 1"
                } else {
                    "account x@example.org"
                };
                assert!(e.to_string().contains(want), "{e}");
            }
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("damaged {table} record loaded"),
        }
    }
    // Damaged counters are found at open.
    {
        let db = redb::Database::open(dir.path().join(mailstore::REDB_FILE)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("meta");
            let mut t = tx.open_table(def).unwrap();
            t.insert(&b"counters"[..], &b"[1,2"[..]).unwrap();
        }
        tx.commit().unwrap();
    }
    match RedbStore::open(dir.path()) {
        Err(e @ StoreError::Corrupt { .. }) => assert!(e.to_string().contains("counters"), "{e}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("damaged store opened"),
    }
}

#[tokio::test]
async fn damaged_reference_record_gives_clear_error() {
    // A refs record (hash -> count ++ body id ++ search record) cut short: reads of that
    // body say which record is damaged; nothing panics, and a write that needs the record
    // fails instead of guessing a count (which could free a body still in use).
    use mailstore::{AccountId, Flags, MailboxName, SearchKey, Uid};
    let dir = tempfile::tempdir().unwrap();
    let a = AccountId::new("refs@example.org").unwrap();
    let raw = bytes::Bytes::from_static(b"Subject: damaged\r\n\r\nbody\r\n");
    let inbox;
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_account(&a, &[]).await.unwrap();
        inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
        s.append(inbox, raw.clone(), Flags::empty(), 0)
            .await
            .unwrap();
    }
    {
        let db = redb::Database::open(dir.path().join(mailstore::REDB_FILE)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("refs");
            let mut t = tx.open_table(def).unwrap();
            let key = {
                use redb::ReadableTable;
                let first = t.first().unwrap().unwrap();
                first.0.value().to_vec()
            };
            t.insert(key.as_slice(), &[0u8, 0, 0, 0, 0, 0, 0, 1, 0, 0][..])
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let s = RedbStore::open(dir.path()).unwrap();
    let corrupt = |r: Result<(), StoreError>| match r {
        Err(e @ StoreError::Corrupt { .. }) => assert!(e.to_string().contains("record"), "{e}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(()) => panic!("damaged record read"),
    };
    corrupt(s.read_message(inbox, Uid::MIN).await.map(drop));
    corrupt(s.message(inbox, Uid::MIN).await.map(drop));
    corrupt(
        s.search(inbox, &SearchKey::Subject("damaged".into()))
            .await
            .map(drop),
    );
    // The index itself (UIDs, flags) does not depend on the record.
    assert_eq!(s.select(inbox).await.unwrap().messages.len(), 1);
    // Appending the same body needs the count: the write fails, nothing is guessed.
    assert!(
        s.append(inbox, raw.clone(), Flags::empty(), 0)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    {
        let db = redb::Database::open(dir.path().join(mailstore::REDB_FILE)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("meta");
            let mut t = tx.open_table(def).unwrap();
            t.insert(
                &b"format"[..],
                &(mailstore::FORMAT_VERSION + 1).to_le_bytes()[..],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    match RedbStore::open(dir.path()) {
        Err(StoreError::NewerFormat {
            found, supported, ..
        }) => {
            assert_eq!(
                (found, supported),
                (mailstore::FORMAT_VERSION + 1, mailstore::FORMAT_VERSION)
            );
        }
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("newer format opened"),
    }
}

#[tokio::test]
async fn bodies_are_stored_once_and_freed_on_disk() {
    use mailstore::{AccountId, Flag, FlagOp, Flags, MailboxName};
    use redb::{ReadableDatabase, ReadableTableMetadata};
    let dir = tempfile::tempdir().unwrap();
    let count = |dir: &std::path::Path| {
        let db = redb::Database::open(dir.join(mailstore::REDB_FILE)).unwrap();
        let r = db.begin_read().unwrap();
        let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("bodies");
        r.open_table(def).unwrap().len().unwrap()
    };
    let raw: bytes::Bytes = "Subject: bulk\r\n\r\none document, many recipients\r\n".into();
    let mut boxes = Vec::new();
    {
        let s = RedbStore::open(dir.path()).unwrap();
        for i in 0..4 {
            let a = AccountId::new(&format!("r{i}@court.gov.cn")).unwrap();
            s.create_account(&a, &[]).await.unwrap();
            let inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
            s.append(inbox, raw.clone(), Flags::empty(), 0)
                .await
                .unwrap();
            boxes.push(inbox);
        }
    }
    assert_eq!(count(dir.path()), 1);
    {
        let s = RedbStore::open(dir.path()).unwrap();
        let del = Flags::empty().with(Flag::Deleted);
        for b in &boxes[..3] {
            s.store_flags(*b, &[mailstore::Uid::MIN], FlagOp::Add, &del, None)
                .await
                .unwrap();
            s.expunge(*b, None).await.unwrap();
        }
    }
    assert_eq!(count(dir.path()), 1, "still referenced once");
    {
        let s = RedbStore::open(dir.path()).unwrap();
        assert_eq!(
            s.read_message(boxes[3], mailstore::Uid::MIN).await.unwrap(),
            raw
        );
        let del = Flags::empty().with(Flag::Deleted);
        s.store_flags(boxes[3], &[mailstore::Uid::MIN], FlagOp::Add, &del, None)
            .await
            .unwrap();
        s.expunge(boxes[3], None).await.unwrap();
    }
    assert_eq!(count(dir.path()), 0, "freed with the last copy");
}

/// Keys of a table of a closed store.
fn table_keys(dir: &std::path::Path, table: &str) -> Vec<Vec<u8>> {
    common::redb_table(dir, table)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test]
async fn body_ids_ascend_and_are_never_reused() {
    // Format 3 keys a body's record by a sequential id; freeing the newest body and
    // reopening must not hand its id out again (a stale id must never name other mail).
    use mailstore::{AccountId, Flag, FlagOp, Flags, MailboxName, Uid};
    let dir = tempfile::tempdir().unwrap();
    let msg = |n: u32| bytes::Bytes::from(format!("Subject: {n}\r\n\r\nbody {n}\r\n"));
    let id = |n: u64| n.to_be_bytes().to_vec();
    let inbox;
    {
        let s = RedbStore::open(dir.path()).unwrap();
        let a = AccountId::new("ids@example.edu.cn").unwrap();
        s.create_account(&a, &[]).await.unwrap();
        inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
        for n in 1..=3 {
            s.append(inbox, msg(n), Flags::empty(), 0).await.unwrap();
        }
        // A duplicate takes no id.
        s.append(inbox, msg(2), Flags::empty(), 0).await.unwrap();
        let del = Flags::empty().with(Flag::Deleted);
        s.store_flags(inbox, &[Uid::new(3).unwrap()], FlagOp::Add, &del, None)
            .await
            .unwrap();
        s.expunge(inbox, None).await.unwrap();
    }
    assert_eq!(table_keys(dir.path(), "bodies"), vec![id(1), id(2)]);
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.append(inbox, msg(4), Flags::empty(), 0).await.unwrap();
        assert_eq!(
            s.read_message(inbox, Uid::new(5).unwrap()).await.unwrap(),
            msg(4)
        );
        assert_eq!(
            s.read_message(inbox, Uid::new(4).unwrap()).await.unwrap(),
            msg(2)
        );
    }
    assert_eq!(table_keys(dir.path(), "bodies"), vec![id(1), id(2), id(4)]);
}

#[tokio::test]
async fn deleted_account_stays_deleted_after_reopen() {
    use mailstore::{AccountId, Flags, MailboxName};
    let dir = tempfile::tempdir().unwrap();
    let a = AccountId::new("gone@example.org").unwrap();
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_account(&a, &conformance::default_folders())
            .await
            .unwrap();
        let inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
        s.append(inbox, conformance::sample(1, "x"), Flags::empty(), 0)
            .await
            .unwrap();
        s.delete_account(&a).await.unwrap();
    }
    let s = RedbStore::open(dir.path()).unwrap();
    assert!(!s.account_exists(&a).await.unwrap());
    s.create_account(&a, &[]).await.unwrap();
    let inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
    assert!(s.select(inbox).await.unwrap().messages.is_empty());
    assert_eq!(s.list_mailboxes(&a).await.unwrap().len(), 1);
}

/// The suite with at most one account in memory: calls on other accounts evict and reload
/// from the redb file.
#[tokio::test]
async fn conformance_suite_with_one_loaded_account() {
    let make = || {
        let config = mailstore::StoreConfig {
            max_loaded_accounts: 1,
            ..mailstore::StoreConfig::default()
        };
        Arc::new(
            RedbStore::open_with(common::scratch_dir("mailstore-redb-lru"), config).expect("open"),
        ) as Arc<dyn Store>
    };
    conformance::run_all(&make).await;
}
