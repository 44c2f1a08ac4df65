//! Durability under `kill -9`: a child process appends in a loop (8 concurrent writers) and
//! prints each acknowledged message; the parent kills it mid-load, reopens the store and
//! checks that every acknowledged message is there exactly once and UIDs ascend. Runs on
//! redb and, with the `sled` feature, on sled (which must flush before an append returns).
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use mailstore::{AccountId, Flags, MailboxName, RedbStore, Store};

const CHILD_ENV: &str = "MAILSTORE_KILL9_CHILD_DIR";
const BACKEND_ENV: &str = "MAILSTORE_KILL9_BACKEND";

fn open(backend: &str, dir: &std::path::Path) -> Arc<dyn Store> {
    match backend {
        "redb" => Arc::new(RedbStore::open(dir).expect("open redb")),
        #[cfg(feature = "sled")]
        "sled" => Arc::new(mailstore::SledStore::open(dir).expect("open sled")),
        other => panic!("unknown backend {other}"),
    }
}

fn body(n: u64) -> bytes::Bytes {
    bytes::Bytes::from(format!(
        "From: load@example.org\r\nSubject: load {n}\r\nMessage-ID: <{n}@load>\r\n\r\nmarker={n}\r\n"
    ))
}

fn child(backend: &str, dir: &str, round: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = open(backend, std::path::Path::new(dir));
        let me = AccountId::new("load@example.org").unwrap();
        store.create_account(&me, &[]).await.unwrap();
        let inbox = store.mailbox_id(&me, &MailboxName::inbox()).await.unwrap();
        println!("READY");
        let mut tasks = Vec::new();
        for w in 0..8u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let n = round * 1_000_000_000_000 + w * 1_000_000_000 + i;
                    let r = store
                        .append(inbox, body(n), Flags::empty(), 0)
                        .await
                        .unwrap();
                    println!("ACK {n} {}", r.uid);
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

#[test]
fn acknowledged_appends_survive_kill_9() {
    survives_kill_9("redb", "acknowledged_appends_survive_kill_9");
}

#[cfg(feature = "sled")]
#[test]
fn acknowledged_appends_survive_kill_9_on_sled() {
    survives_kill_9("sled", "acknowledged_appends_survive_kill_9_on_sled");
}

fn survives_kill_9(backend: &str, test_name: &str) {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var("MAILSTORE_KILL9_ROUND")
            .unwrap()
            .parse()
            .unwrap();
        child(&std::env::var(BACKEND_ENV).unwrap(), &dir, round);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acked: BTreeMap<u64, u32> = BTreeMap::new();
    for round in 0..2usize {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env(BACKEND_ENV, backend)
            .env("MAILSTORE_KILL9_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let before = acked.len();
        let parse = |line: &str, acked: &mut BTreeMap<u64, u32>| {
            if let Some(rest) = line.strip_prefix("ACK ") {
                let mut it = rest.split(' ');
                let n: u64 = it.next().unwrap().parse().unwrap();
                let uid: u32 = it.next().unwrap().parse().unwrap();
                assert!(acked.insert(n, uid).is_none());
            }
        };
        // Let it get well into the load, then kill -9 in the middle of writes.
        for line in lines.by_ref() {
            let line = line.unwrap();
            parse(&line, &mut acked);
            if acked.len() - before >= 150 + round * 50 {
                break;
            }
        }
        proc.kill().unwrap(); // SIGKILL
        // Acknowledgements already written before the kill count too.
        for line in lines {
            match line {
                Ok(l) => parse(&l, &mut acked),
                Err(_) => break,
            }
        }
        let _ = proc.wait();
        assert!(
            acked.len() - before >= 150,
            "child acknowledged only {}",
            acked.len() - before
        );

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = open(backend, dir.path());
            let me = AccountId::new("load@example.org").unwrap();
            let inbox = store.mailbox_id(&me, &MailboxName::inbox()).await.unwrap();
            let sel = store.select(inbox).await.unwrap();
            let mut seen = HashSet::new();
            let mut by_n = BTreeMap::new();
            let mut prev = 0;
            for m in &sel.messages {
                assert!(m.uid.get() > prev, "UIDs ascend");
                prev = m.uid.get();
                let raw = store.read_message(inbox, m.uid).await.unwrap();
                let text = String::from_utf8(raw.to_vec()).unwrap();
                let n: u64 = text
                    .rsplit("marker=")
                    .next()
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                assert!(seen.insert(n), "message {n} stored twice");
                by_n.insert(n, m.uid.get());
            }
            for (n, uid) in &acked {
                assert_eq!(
                    by_n.get(n),
                    Some(uid),
                    "acknowledged message {n} (UID {uid}) lost"
                );
            }
            assert!(sel.uid_next.get() > prev);
            // The store keeps working after recovery.
            let r = store
                .append(inbox, body(u64::MAX), Flags::empty(), 0)
                .await
                .unwrap();
            assert!(r.uid.get() > prev);
        });
    }
}
