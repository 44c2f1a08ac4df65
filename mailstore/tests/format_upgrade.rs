//! Upgrades from older on-disk formats to the current one.
//!
//! `tests/data/format1/mailstore.redb` was written by the format-1 engine (commit 4affa31,
//! the last commit before format 2) with [`write_fixture`]; `tests/data/format1/dump.txt` is
//! [`dump`] of that store as the format-1 code answered it. `tests/data/format2/` is the same
//! written by the format-2 engine (commit 1b4d884, the last commit before format 3). The
//! tests open a copy of each file with this build (which upgrades it in place) and check
//! that every answer is the same.
//!
//! Regenerate (only from a checkout of that format): `MAILSTORE_WRITE_FIXTURE=dir cargo test
//! -p mailstore --all-features --test format_upgrade -- --ignored write_fixture_here`.
use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;
use mailstore::{
    AccountId, Flag, FlagOp, Flags, Keyword, MailDirection, MailLogRecord, MailboxName, ModSeq,
    Quota, RedbStore, Rights, SearchKey, SpecialUse, Store, Uid,
};

mod common;

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

fn mbn(s: &str) -> MailboxName {
    MailboxName::new(s).unwrap()
}

const ACCOUNTS: [&str; 3] = [
    "zhang.san@example.edu.cn",
    "li.si@example.edu.cn",
    "archivist@example.gov.cn",
];

fn msg(n: u32, subject: &str) -> Bytes {
    Bytes::from(format!(
        "From: Sender {n} <s{n}@example.org>\r\nTo: r@example.edu.cn\r\nSubject: {subject}\r\nMessage-ID: <fixture-{n}@example.org>\r\nDate: Mon, 09 Jan 2023 10:15:00 +0800\r\n\r\nbody {n}\r\n"
    ))
}

/// Writes the fixture store (run with the format-1 code).
async fn write_fixture(dir: &Path) {
    let s = RedbStore::open(dir).unwrap();
    let folders = [
        (MailboxName::inbox(), None),
        (mbn("草稿箱"), Some(SpecialUse::Drafts)),
        (mbn("已发送"), Some(SpecialUse::Sent)),
        (mbn("已删除"), Some(SpecialUse::Trash)),
    ];
    for a in ACCOUNTS {
        s.create_account(&acct(a), &folders).await.unwrap();
    }
    let (zs, ls, ar) = (acct(ACCOUNTS[0]), acct(ACCOUNTS[1]), acct(ACCOUNTS[2]));
    s.set_quota(
        &zs,
        Quota {
            max_bytes: Some(10_000_000),
            max_messages: Some(1000),
        },
    )
    .await
    .unwrap();
    s.create_mailbox(&zs, &mbn("工作/2024"), None)
        .await
        .unwrap();
    let inbox = s.mailbox_id(&zs, &MailboxName::inbox()).await.unwrap();
    let work = s.mailbox_id(&zs, &mbn("工作/2024")).await.unwrap();
    let kw = Flags::empty().with(Flag::Keyword(Keyword::new("$Forwarded").unwrap()));
    for n in 1..=12 {
        let flags = if n % 3 == 0 {
            kw.clone()
        } else {
            Flags::empty()
        };
        s.append(
            inbox,
            msg(n, &format!("期末考试安排 {n}")),
            flags,
            1_700_000_000 + i64::from(n),
        )
        .await
        .unwrap();
    }
    // Corpus messages (GBK, MIME trees) and a body shared with another account.
    s.append(
        inbox,
        Bytes::from_static(mailstore::conformance::corpus::GBK),
        Flags::empty(),
        1,
    )
    .await
    .unwrap();
    s.append(
        inbox,
        Bytes::from_static(mailstore::conformance::corpus::NESTED),
        Flags::empty(),
        2,
    )
    .await
    .unwrap();
    let lsin = s.mailbox_id(&ls, &MailboxName::inbox()).await.unwrap();
    s.append(lsin, msg(1, "期末考试安排 1"), Flags::empty(), 5)
        .await
        .unwrap();
    s.append(
        lsin,
        Bytes::from_static(mailstore::conformance::corpus::ATTACH_2047),
        Flags::empty(),
        6,
    )
    .await
    .unwrap();
    // Flags, read receipts, modseqs.
    let seen = Flags::empty().with(Flag::Seen);
    let uids: Vec<Uid> = [1, 2, 5, 13].into_iter().filter_map(Uid::new).collect();
    s.store_flags(inbox, &uids, FlagOp::Add, &seen, None)
        .await
        .unwrap();
    s.store_flags(lsin, &[Uid::MIN], FlagOp::Add, &seen, None)
        .await
        .unwrap();
    // Copy, move, expunge (vanished UIDs).
    s.copy(inbox, &[Uid::new(3).unwrap(), Uid::new(4).unwrap()], work)
        .await
        .unwrap();
    s.move_messages(inbox, &[Uid::new(6).unwrap()], work)
        .await
        .unwrap();
    let del = Flags::empty().with(Flag::Deleted);
    s.store_flags(inbox, &[Uid::new(7).unwrap()], FlagOp::Add, &del, None)
        .await
        .unwrap();
    s.expunge(inbox, None).await.unwrap();
    // Archive mode: expunged and deleted-mailbox messages are archived.
    s.set_archive_mode(&ar, true).await.unwrap();
    let arin = s.mailbox_id(&ar, &MailboxName::inbox()).await.unwrap();
    s.append(arin, msg(1, "期末考试安排 1"), del.clone(), 7)
        .await
        .unwrap();
    s.append(arin, msg(50, "会议纪要"), Flags::empty(), 8)
        .await
        .unwrap();
    s.expunge(arin, None).await.unwrap();
    let old = s.create_mailbox(&ar, &mbn("旧邮件"), None).await.unwrap();
    s.append(old, msg(51, "旧通知"), seen.clone(), 9)
        .await
        .unwrap();
    s.delete_mailbox(&ar, &mbn("旧邮件")).await.unwrap();
    // Sharing.
    s.set_rights(&zs, &mbn("工作/2024"), &ls, Rights::parse("lrs").unwrap())
        .await
        .unwrap();
    s.set_rights(
        &ar,
        &MailboxName::inbox(),
        &zs,
        Rights::parse("lrswipkxte").unwrap(),
    )
    .await
    .unwrap();
    s.set_subscribed(&zs, &mbn("已删除"), false).await.unwrap();
    // Mail log.
    for (t, who) in [(100, &zs), (200, &ls), (300, &zs), (400, &ar)] {
        s.log_mail(MailLogRecord {
            time: t,
            account: who.clone(),
            direction: if t == 300 {
                MailDirection::Sent
            } else {
                MailDirection::Received
            },
            from: "x@example.org".into(),
            to: vec![who.to_string()],
            subject: format!("关于 {t}"),
            message_id: format!("{t}@x"),
            status: "delivered".into(),
        })
        .await
        .unwrap();
    }
}

/// Everything the store answers about the fixture, as text.
async fn dump(s: &dyn Store) -> String {
    let mut out = String::new();
    for a in ACCOUNTS {
        let a = acct(a);
        writeln!(
            out,
            "account {a} exists={}",
            s.account_exists(&a).await.unwrap()
        )
        .unwrap();
        writeln!(out, "  quota {:?}", s.quota(&a).await.unwrap()).unwrap();
        for mb in s.list_mailboxes(&a).await.unwrap() {
            writeln!(out, "  mailbox {mb:?}").unwrap();
            writeln!(out, "    acl {:?}", s.acl(&a, &mb.name).await.unwrap()).unwrap();
            let sel = s.select(mb.id).await.unwrap();
            writeln!(out, "    select {sel:?}").unwrap();
            writeln!(out, "    status {:?}", s.status(mb.id).await.unwrap()).unwrap();
            writeln!(
                out,
                "    changes {:?}",
                s.changes_since(mb.id, ModSeq(0)).await.unwrap()
            )
            .unwrap();
            let uids: Vec<Uid> = sel.messages.iter().map(|m| m.uid).collect();
            for m in s.messages(mb.id, &uids).await.unwrap() {
                writeln!(out, "    message {m:?}").unwrap();
                let raw = s.read_message(mb.id, m.uid).await.unwrap();
                writeln!(
                    out,
                    "      raw {} bytes {:?}",
                    raw.len(),
                    &raw[..raw.len().min(40)]
                )
                .unwrap();
            }
            let hits = s
                .search(mb.id, &SearchKey::Subject("考试".into()))
                .await
                .unwrap();
            writeln!(out, "    search {hits:?}").unwrap();
            let hits = s
                .search(mb.id, &SearchKey::Body("body".into()))
                .await
                .unwrap();
            writeln!(out, "    search body {hits:?}").unwrap();
        }
        writeln!(out, "  shared_with {:?}", s.shared_with(&a).await.unwrap()).unwrap();
        writeln!(out, "  archived {:?}", s.list_archived(&a).await.unwrap()).unwrap();
        writeln!(
            out,
            "  log {:?}",
            s.mail_log(&a, 0, i64::MAX).await.unwrap()
        )
        .unwrap();
    }
    for n in [1, 2, 5, 51] {
        let id = format!("fixture-{n}@example.org");
        let mut r = s.read_receipts(&id).await.unwrap();
        r.sort_by(|a, b| a.account.cmp(&b.account));
        writeln!(out, "receipts {id}: {r:?}").unwrap();
    }
    out
}

#[tokio::test]
#[ignore = "writes a fixture; run only from a checkout of the format being preserved"]
async fn write_fixture_here() {
    let dir = std::path::PathBuf::from(std::env::var("MAILSTORE_WRITE_FIXTURE").unwrap());
    write_fixture(&dir).await;
    let s = RedbStore::open(&dir).unwrap();
    std::fs::write(dir.join("dump.txt"), dump(&s).await).unwrap();
}

fn fixture_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::copy(
        src.join(mailstore::REDB_FILE),
        dir.path().join(mailstore::REDB_FILE),
    )
    .unwrap();
    dir
}

fn expected_dump(name: &str) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .join("dump.txt");
    std::fs::read_to_string(src).unwrap()
}

fn read_table(dir: &Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    common::redb_table(dir, table)
}

fn format_on_disk(dir: &Path) -> u32 {
    let meta = read_table(dir, "meta");
    let v = &meta.iter().find(|(k, _)| k == b"format").unwrap().1;
    u32::from_le_bytes(v.as_slice().try_into().unwrap())
}

/// Key lengths of a table's entries, with how many have each.
fn key_lengths(dir: &Path, table: &str) -> std::collections::BTreeMap<usize, usize> {
    let mut m = std::collections::BTreeMap::new();
    for (k, _) in read_table(dir, table) {
        *m.entry(k.len()).or_default() += 1;
    }
    m
}

async fn upgraded_in_place_and_keeps_everything(name: &str, format: u32) {
    let dir = fixture_copy(name);
    assert_eq!(format_on_disk(dir.path()), format);
    let bodies = read_table(dir.path(), "blobs").len();
    assert!(bodies > 10, "the fixture has bodies");
    assert_eq!(
        key_lengths(dir.path(), "blobs")[&32],
        bodies,
        "keyed by hash"
    );
    {
        let s = RedbStore::open(dir.path()).unwrap();
        let got = dump(&s).await;
        let want = expected_dump(name);
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "line {} of the dump differs", i + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count());
    }
    assert_eq!(format_on_disk(dir.path()), mailstore::FORMAT_VERSION);
    // Format 3: one record per body keyed by its id (1..=bodies); nothing keyed by hash
    // is left in the old tables.
    let keys: Vec<Vec<u8>> = read_table(dir.path(), "bodies")
        .into_iter()
        .map(|e| e.0)
        .collect();
    let want: Vec<Vec<u8>> = (1..=bodies as u64)
        .map(|i| i.to_be_bytes().to_vec())
        .collect();
    assert_eq!(keys, want, "bodies keyed by body id");
    for t in ["blobs", "texts", "blobmeta"] {
        assert!(read_table(dir.path(), t).is_empty(), "{t} emptied");
    }
    let meta = read_table(dir.path(), "meta");
    let next = &meta.iter().find(|(k, _)| k == b"next_body").unwrap().1;
    assert_eq!(next, &(bodies as u64 + 1).to_be_bytes().to_vec());
    // Reopening the upgraded store (no upgrade this time) answers the same.
    let s = RedbStore::open(dir.path()).unwrap();
    assert_eq!(dump(&s).await, expected_dump(name));
}

#[tokio::test]
async fn format_1_store_is_upgraded_in_place_and_keeps_everything() {
    upgraded_in_place_and_keeps_everything("format1", 1).await;
}

#[tokio::test]
async fn format_2_store_is_upgraded_in_place_and_keeps_everything() {
    upgraded_in_place_and_keeps_everything("format2", 2).await;
}

#[tokio::test]
async fn format_2_upgrade_derives_a_missing_text_or_metadata_record_again() {
    // The upgrade merges each body's three format-2 records; a body whose text or metadata
    // record is missing gets both derived again from the raw bytes (the answers match).
    let dir = fixture_copy("format2");
    {
        let db = redb::Database::open(dir.path().join(mailstore::REDB_FILE)).unwrap();
        let tx = db.begin_write().unwrap();
        for (table, nth) in [("texts", 0), ("blobmeta", 3)] {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(table);
            let mut t = tx.open_table(def).unwrap();
            let key = {
                use redb::ReadableTable;
                let e = t.iter().unwrap().nth(nth).unwrap().unwrap();
                e.0.value().to_vec()
            };
            t.remove(key.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let s = RedbStore::open(dir.path()).unwrap();
    assert_eq!(dump(&s).await, expected_dump("format2"));
}

#[tokio::test]
async fn format_2_body_without_content_fails_only_its_messages() {
    // A body whose raw bytes are gone (damage from before the upgrade) does not stop the
    // upgrade: the store opens, the messages of that body answer an error, the rest work.
    let dir = fixture_copy("format2");
    {
        let db = redb::Database::open(dir.path().join(mailstore::REDB_FILE)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("blobs");
            let mut t = tx.open_table(def).unwrap();
            let key = {
                use redb::ReadableTable;
                t.first().unwrap().unwrap().0.value().to_vec()
            };
            t.remove(key.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let s = RedbStore::open(dir.path()).expect("the upgrade skips the damaged body");
    let (mut ok, mut failed) = (0, 0);
    for a in ACCOUNTS {
        for mb in s.list_mailboxes(&acct(a)).await.unwrap() {
            for m in s.select(mb.id).await.unwrap().messages {
                match s.read_message(mb.id, m.uid).await {
                    Ok(_) => ok += 1,
                    Err(mailstore::StoreError::Corrupt { .. }) => failed += 1,
                    Err(e) => panic!("wrong error {e}"),
                }
            }
        }
    }
    assert!(failed >= 1, "the damaged body's messages fail");
    assert!(ok > 10, "the others read: {ok}");
    drop(s);
    for t in ["blobs", "texts", "blobmeta"] {
        assert!(read_table(dir.path(), t).is_empty(), "{t} emptied");
    }
}

#[tokio::test]
async fn upgraded_format_1_store_keeps_working() {
    upgraded_store_keeps_working("format1").await;
}

#[tokio::test]
async fn upgraded_format_2_store_keeps_working() {
    upgraded_store_keeps_working("format2").await;
}

async fn upgraded_store_keeps_working(name: &str) {
    // Single-instance refcounts were rebuilt: expunging every copy of a shared body frees it,
    // and counters continue (no UID, mailbox id, archive id or body id is reused).
    let dir = fixture_copy(name);
    let s = RedbStore::open(dir.path()).unwrap();
    let (zs, ls) = (acct(ACCOUNTS[0]), acct(ACCOUNTS[1]));
    let inbox = s.mailbox_id(&zs, &MailboxName::inbox()).await.unwrap();
    let before = s.select(inbox).await.unwrap();
    let a = s
        .append(inbox, msg(99, "新邮件"), Flags::empty(), 0)
        .await
        .unwrap();
    assert_eq!(a.uid, before.uid_next);
    let id = s
        .create_mailbox(&zs, &mbn("新建"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let all = s.list_mailboxes(&zs).await.unwrap();
    assert!(all.iter().filter(|m| m.id != id).all(|m| m.id < id));
    let lsin = s.mailbox_id(&ls, &MailboxName::inbox()).await.unwrap();
    let del = Flags::empty().with(Flag::Deleted);
    let ls_uids: Vec<Uid> = s
        .select(lsin)
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    s.store_flags(lsin, &ls_uids, FlagOp::Add, &del, None)
        .await
        .unwrap();
    s.expunge(lsin, None).await.unwrap();
    // zhang.san's copy of message 1 still reads (the body was shared with li.si).
    let raw = s.read_message(inbox, Uid::MIN).await.unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("body 1"));
    // Restore from the upgraded archive.
    let ar = acct(ACCOUNTS[2]);
    let arin = s.mailbox_id(&ar, &MailboxName::inbox()).await.unwrap();
    let archived = s.list_archived(&ar).await.unwrap();
    assert!(!archived.is_empty());
    let r = s.restore_archived(&ar, archived[0].id, arin).await.unwrap();
    let m = s.message(arin, r.uid).await.unwrap();
    assert_eq!(m.size, archived[0].size);
    assert_eq!(
        s.quota(&ar).await.unwrap().used_bytes,
        s.status(arin).await.unwrap().size
    );
    // The new body got the next id; freed bodies took their records with them.
    drop(s);
    let blobs = read_table(dir.path(), "bodies");
    let refs = read_table(dir.path(), "refs");
    assert_eq!(blobs.len(), refs.len());
    let ids: std::collections::BTreeSet<Vec<u8>> =
        refs.iter().map(|(_, v)| v[8..16].to_vec()).collect();
    assert_eq!(
        ids,
        blobs.iter().map(|(k, _)| k.clone()).collect(),
        "every refs record names a stored body and every body is referenced"
    );
    let newest = blobs.last().unwrap();
    assert!(String::from_utf8_lossy(&newest.1).contains("body 99"));
    let meta = read_table(dir.path(), "meta");
    let next = &meta.iter().find(|(k, _)| k == b"next_body").unwrap().1;
    assert_eq!(
        u64::from_be_bytes(next.as_slice().try_into().unwrap()),
        u64::from_be_bytes(newest.0.as_slice().try_into().unwrap()) + 1
    );
}
