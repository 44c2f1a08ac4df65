//! Lazy loading: open loads nothing, first use loads once, eviction is invisible to callers
//! and never drops an account with a live subscriber.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;

use crate::{
    AccountId, Flag, FlagOp, Flags, MailboxName, MemoryStore, ModSeq, RedbStore, Rights, SearchKey,
    Store, StoreConfig, Uid,
};

fn acct(i: usize) -> AccountId {
    AccountId::new(&format!("user{i}@example.edu.cn")).unwrap()
}

fn msg(n: usize) -> Bytes {
    Bytes::from(format!(
        "From: s{n}@example.org\r\nSubject: 通知 {n}\r\nMessage-ID: <{n}@lazy>\r\n\r\nbody {n}\r\n"
    ))
}

fn capped(n: usize) -> StoreConfig {
    StoreConfig {
        max_loaded_accounts: n,
        ..StoreConfig::default()
    }
}

/// Fills account `i`: messages, flags, a subfolder, an expunge (vanished), archive, a grant.
async fn fill(s: &dyn Store, i: usize) {
    let a = acct(i);
    s.create_account(&a, &[]).await.unwrap();
    let inbox = s.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
    let work = s
        .create_mailbox(&a, &MailboxName::new("工作").unwrap(), None)
        .await
        .unwrap();
    for n in 0..6 {
        s.append(inbox, msg(i * 100 + n), Flags::empty(), n as i64)
            .await
            .unwrap();
    }
    let seen = Flags::empty().with(Flag::Seen);
    s.store_flags(inbox, &[Uid::MIN], FlagOp::Add, &seen, None)
        .await
        .unwrap();
    s.copy(inbox, &[Uid::new(2).unwrap()], work).await.unwrap();
    s.set_archive_mode(&a, true).await.unwrap();
    let del = Flags::empty().with(Flag::Deleted);
    s.store_flags(inbox, &[Uid::new(3).unwrap()], FlagOp::Add, &del, None)
        .await
        .unwrap();
    s.expunge(inbox, None).await.unwrap();
    if i > 0 {
        s.set_rights(
            &a,
            &MailboxName::inbox(),
            &acct(0),
            Rights::parse("lr").unwrap(),
        )
        .await
        .unwrap();
    }
}

async fn dump(s: &dyn Store, i: usize) -> String {
    let a = acct(i);
    let mut out = String::new();
    writeln!(out, "{:?}", s.quota(&a).await.unwrap()).unwrap();
    for mb in s.list_mailboxes(&a).await.unwrap() {
        writeln!(out, "{mb:?}").unwrap();
        let sel = s.select(mb.id).await.unwrap();
        writeln!(out, "{sel:?}").unwrap();
        writeln!(
            out,
            "{:?}",
            s.changes_since(mb.id, ModSeq(0)).await.unwrap()
        )
        .unwrap();
        let uids: Vec<Uid> = sel.messages.iter().map(|m| m.uid).collect();
        writeln!(out, "{:?}", s.messages(mb.id, &uids).await.unwrap()).unwrap();
        let q = SearchKey::Subject("通知".into());
        writeln!(out, "{:?}", s.search(mb.id, &q).await.unwrap()).unwrap();
    }
    writeln!(out, "{:?}", s.list_archived(&a).await.unwrap()).unwrap();
    writeln!(out, "{:?}", s.shared_with(&a).await.unwrap()).unwrap();
    out
}

#[tokio::test]
async fn eviction_then_reload_gives_identical_answers() {
    let s = MemoryStore::with_config(capped(2));
    for i in 0..6 {
        fill(&s, i).await;
    }
    let mut first = Vec::new();
    for i in 0..6 {
        first.push(dump(&s, i).await);
    }
    let (loaded, loads) = s.engine.load_stats();
    assert!(loaded <= 2, "{loaded} accounts loaded with a cap of 2");
    // Reading them again, in another order, reloads evicted accounts from disk.
    for i in (0..6).rev() {
        assert_eq!(dump(&s, i).await, first[i], "account {i} after reload");
    }
    assert!(s.engine.load_stats().1 > loads, "accounts were reloaded");
    // Writes after a reload continue where the evicted index left off.
    let inbox = s.mailbox_id(&acct(1), &MailboxName::inbox()).await.unwrap();
    let next = s.select(inbox).await.unwrap().uid_next;
    for i in 2..6 {
        dump(&s, i).await;
    }
    let a = s.append(inbox, msg(9999), Flags::empty(), 0).await.unwrap();
    assert_eq!(a.uid, next);
}

#[tokio::test]
async fn an_account_with_a_live_subscriber_is_not_evicted() {
    let s = MemoryStore::with_config(capped(1));
    for i in 0..4 {
        s.create_account(&acct(i), &[]).await.unwrap();
    }
    let inbox0 = s.mailbox_id(&acct(0), &MailboxName::inbox()).await.unwrap();
    let mut sub = s.subscribe(inbox0).await.unwrap();
    let loads = s.engine.load_stats().1;
    for i in 1..4 {
        s.list_mailboxes(&acct(i)).await.unwrap();
    }
    // Account 0 stayed (its reloads would show), the others replaced each other.
    assert_eq!(s.engine.load_stats(), (2, loads + 3));
    s.append(inbox0, msg(1), Flags::empty(), 0).await.unwrap();
    assert_eq!(
        s.engine.load_stats().1,
        loads + 3,
        "account 0 was not reloaded"
    );
    assert!(matches!(
        sub.recv().await,
        Some(crate::MailboxEvent::Appended { .. })
    ));
    // Once the subscriber is gone, account 0 may go.
    drop(sub);
    for i in 1..4 {
        s.list_mailboxes(&acct(i)).await.unwrap();
    }
    assert_eq!(s.engine.load_stats().0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_uses_load_an_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_account(&acct(0), &[]).await.unwrap();
        let inbox = s.mailbox_id(&acct(0), &MailboxName::inbox()).await.unwrap();
        for n in 0..300 {
            s.append(inbox, msg(n), Flags::empty(), 0).await.unwrap();
        }
        inbox
    };
    let s = Arc::new(RedbStore::open(dir.path()).unwrap());
    assert_eq!(s.engine.load_stats(), (0, 0));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            if t % 2 == 0 {
                s.select(inbox).await.unwrap().messages.len()
            } else {
                s.status(inbox).await.unwrap().messages as usize
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 300);
    }
    assert_eq!(s.engine.load_stats(), (1, 1), "loaded exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_accounts_open_without_loading_any() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s: Arc<dyn Store> = Arc::new(RedbStore::open(dir.path()).unwrap());
        let mut tasks = Vec::new();
        for w in 0..50 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for i in (w..1000).step_by(50) {
                    s.create_account(&acct(i), &[]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        s.set_rights(
            &acct(7),
            &MailboxName::inbox(),
            &acct(8),
            Rights::parse("lr").unwrap(),
        )
        .await
        .unwrap();
    }
    let s = RedbStore::open(dir.path()).unwrap();
    assert_eq!(s.engine.load_stats(), (0, 0));
    // Existence, "shared with me", receipts and the mail log need no account loaded.
    assert!(s.account_exists(&acct(999)).await.unwrap());
    assert!(!s.account_exists(&acct(1000)).await.unwrap());
    let shared = s.shared_with(&acct(8)).await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].owner, acct(7));
    assert!(s.read_receipts("x@y").await.unwrap().is_empty());
    assert!(s.mail_log(&acct(3), 0, i64::MAX).await.unwrap().is_empty());
    assert_eq!(s.engine.load_stats(), (0, 0));
    s.select(shared[0].id).await.unwrap();
    assert_eq!(s.engine.load_stats(), (1, 1));
    // A mailbox id of no account, and an unknown account, are clean errors.
    assert!(matches!(
        s.select(crate::MailboxId(1 << 40)).await,
        Err(crate::StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        s.list_mailboxes(&acct(5000)).await,
        Err(crate::StoreError::NoSuchAccount(_))
    ));
}
