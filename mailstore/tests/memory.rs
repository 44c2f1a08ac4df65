//! The conformance suite on the in-memory backend.
use std::sync::Arc;

use mailstore::{MemoryStore, Store, StoreConfig, conformance};

fn make() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn conformance_suite() {
    conformance::run_all(&make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency() {
    conformance::concurrent_appends_and_flags(make(), 16, 20).await;
}

#[test]
fn model_based() {
    conformance::model_proptest(&make, 64);
}

#[tokio::test]
async fn oversize_message_is_refused_and_nothing_stored() {
    use mailstore::{AccountId, Flags, MailboxName, StoreError};
    let store = MemoryStore::with_config(StoreConfig {
        max_message_size: 100,
        ..StoreConfig::default()
    });
    let me = AccountId::new("big@example.org").unwrap();
    store.create_account(&me, &[]).await.unwrap();
    let inbox = store.mailbox_id(&me, &MailboxName::inbox()).await.unwrap();
    let big = bytes::Bytes::from(vec![b'a'; 101]);
    match store.append(inbox, big, Flags::empty(), 0).await {
        Err(
            e @ StoreError::MessageTooLarge {
                size: 101,
                limit: 100,
            },
        ) => {
            assert!(e.to_string().contains("101"), "{e}")
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    let s = store.status(inbox).await.unwrap();
    assert_eq!(
        (s.messages, s.uid_next.get()),
        (0, 1),
        "nothing stored, no UID used"
    );
    let ok = bytes::Bytes::from(vec![b'a'; 100]);
    assert_eq!(
        store
            .append(inbox, ok, Flags::empty(), 0)
            .await
            .unwrap()
            .uid
            .get(),
        1
    );
}

#[tokio::test]
async fn a_slow_subscriber_is_told_it_lagged() {
    use mailstore::{AccountId, FlagOp, Flags, MailboxEvent, MailboxName};
    let store = MemoryStore::new();
    let me = AccountId::new("slow@example.org").unwrap();
    store.create_account(&me, &[]).await.unwrap();
    let inbox = store.mailbox_id(&me, &MailboxName::inbox()).await.unwrap();
    let mut sub = store.subscribe(inbox).await.unwrap();
    let m = store
        .append(inbox, "Subject: x\r\n\r\nx\r\n".into(), Flags::empty(), 0)
        .await
        .unwrap();
    let f = Flags::empty().with(mailstore::Flag::Flagged);
    for i in 0..5000 {
        let op = if i % 2 == 0 {
            FlagOp::Add
        } else {
            FlagOp::Remove
        };
        store
            .store_flags(inbox, &[m.uid], op, &f, None)
            .await
            .unwrap();
    }
    match sub.recv().await {
        Some(MailboxEvent::Lagged(n)) => assert!(n > 0),
        other => panic!("expected Lagged, got {other:?}"),
    }
    // After the lag notice the subscriber continues with the retained events.
    assert!(matches!(
        sub.recv().await,
        Some(MailboxEvent::FlagsChanged { .. })
    ));
}

/// The whole suite again with at most one account in memory: every call on another account
/// evicts and reloads from the backend, which must be invisible.
#[tokio::test]
async fn conformance_suite_with_one_loaded_account() {
    let make = || {
        Arc::new(MemoryStore::with_config(StoreConfig {
            max_loaded_accounts: 1,
            ..StoreConfig::default()
        })) as Arc<dyn Store>
    };
    conformance::run_all(&make).await;
}

#[test]
fn model_based_with_one_loaded_account() {
    let make = || {
        Arc::new(MemoryStore::with_config(StoreConfig {
            max_loaded_accounts: 1,
            ..StoreConfig::default()
        })) as Arc<dyn Store>
    };
    conformance::model_proptest(&make, 24);
}
