//! mailstore benchmarks (criterion, harness = false).
//!
//! * `append/redb_1_writer` vs `append/redb_32_writers`: durable appends per second; group
//!   commit should make 32 concurrent writers >= 10x one writer (one fsync per batch).
//! * `append/raw_redb_messages_per_commit/{1,32}`: the same disk's ceiling, redb alone
//!   storing each body under a sequential id plus one random 32-byte key, 1 vs 32 per commit.
//! * `select_100k`: read every UID and flag set of a 100,000-message mailbox (target <= 50 ms),
//!   next to a baseline that only clones a prebuilt `Vec<(u32, Flags)>` of the same size.
//! * `search_subject_100k`: subject substring search over 100,000 messages (target <= 300 ms),
//!   next to a baseline scanning a prebuilt `Vec<String>` of lowercase subjects.
//! * `open_100k`: reopen the 100,000-message redb store (index rebuilt from disk).
//! * `cold_100k/open_then_select` (target <= 300 ms): open the 100,000-message store and
//!   SELECT the mailbox, timed without dropping the previous handle; prints the resident
//!   memory the open handle adds, per message.
//! * `cold_100k/open_then_search_subject` (target <= 300 ms): open the 100,000-message store
//!   and run the first subject search (nothing cached), timed without the drop.
//! * `open_1000_accounts/open` (target well under 100 ms): open a store of 1,000 accounts
//!   (default folders, 20 messages each), timed without the drop.
//!
//! Run: `cargo bench -p benches --bench mailstore -- --warm-up-time 1 --measurement-time 3`
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use mailstore::{AccountId, Flag, Flags, MailboxId, MailboxName, RedbStore, SearchKey, Store};

const BIG: usize = 100_000;

fn message(n: usize) -> Bytes {
    let topic = [
        "期末考试安排",
        "讲座预告",
        "Maintenance window",
        "会议纪要",
        "成绩单",
    ][n % 5];
    Bytes::from(format!(
        "From: Sender {n} <s{n}@example.edu.cn>\r\nTo: r@example.edu.cn\r\nSubject: {topic} #{n}\r\nMessage-ID: <{n}@bench>\r\nDate: Mon, 09 Jan 2023 10:15:00 +0800\r\n\r\nbody {n}\r\n"
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn new_store(dir: &std::path::Path) -> (Arc<dyn Store>, MailboxId) {
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir).expect("open"));
    let me = AccountId::new("bench@example.edu.cn").expect("account");
    store.create_account(&me, &[]).await.expect("account");
    let inbox = store
        .mailbox_id(&me, &MailboxName::inbox())
        .await
        .expect("inbox");
    (store, inbox)
}

/// Appends `total` messages using `writers` concurrent tasks.
async fn append_load(
    store: &Arc<dyn Store>,
    inbox: MailboxId,
    writers: usize,
    total: usize,
    base: usize,
) {
    let mut set = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = store.clone();
        set.spawn(async move {
            let mut i = w;
            while i < total {
                store
                    .append(inbox, message(base + i), Flags::empty(), 0)
                    .await
                    .expect("append");
                i += writers;
            }
        });
    }
    while set.join_next().await.is_some() {}
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, inbox) = rt.block_on(new_store(dir.path()));
    let mut g = c.benchmark_group("append");
    g.sample_size(10);
    let mut base = 0usize;
    for writers in [1usize, 32] {
        // Each writer appends 16 messages in a row per iteration (64 for one writer), so
        // the 32-writer figure is a sustained rate, not the ramp-up and drain of a burst.
        let per_iter = (16 * writers).max(64);
        g.throughput(Throughput::Elements(per_iter as u64));
        g.bench_with_input(
            BenchmarkId::new("redb_writers", writers),
            &writers,
            |b, &writers| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        rt.block_on(append_load(&store, inbox, writers, per_iter, base));
                        base += per_iter;
                    }
                    start.elapsed()
                })
            },
        );
    }
    g.finish();
}

struct Big {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    inbox: MailboxId,
}

fn build_big(rt: &tokio::runtime::Runtime) -> Big {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, inbox) = rt.block_on(new_store(dir.path()));
    let t = Instant::now();
    rt.block_on(append_load(&store, inbox, 256, BIG, 0));
    // Flag every third message so flag sets are not all empty.
    let uids: Vec<mailstore::Uid> = (1..=BIG as u32)
        .step_by(3)
        .filter_map(mailstore::Uid::new)
        .collect();
    rt.block_on(store.store_flags(
        inbox,
        &uids,
        mailstore::FlagOp::Add,
        &Flags::empty().with(Flag::Seen),
        None,
    ))
    .expect("flags");
    eprintln!("built {BIG}-message redb mailbox in {:?}", t.elapsed());
    Big {
        _dir: dir,
        store,
        inbox,
    }
}

fn big_mailbox(c: &mut Criterion) {
    let rt = runtime();
    let big = build_big(&rt);
    let mut g = c.benchmark_group("mailbox_100k");
    g.sample_size(20);

    g.bench_function("select_all_uids_flags/mailstore", |b| {
        b.iter(|| {
            let s = rt.block_on(big.store.select(big.inbox)).expect("select");
            assert_eq!(s.messages.len(), BIG);
            s
        })
    });
    let prebuilt: Vec<(u32, Flags)> = rt
        .block_on(big.store.select(big.inbox))
        .expect("select")
        .messages
        .into_iter()
        .map(|m| (m.uid.get(), m.flags))
        .collect();
    g.bench_function("select_all_uids_flags/baseline_vec_clone", |b| {
        b.iter(|| prebuilt.clone())
    });

    let subjects: Vec<String> = (0..BIG)
        .map(|n| {
            String::from_utf8_lossy(&message(n))
                .lines()
                .nth(2)
                .unwrap_or("")
                .to_lowercase()
        })
        .collect();
    let needle = "讲座预告 #9999";
    let expected = subjects.iter().filter(|s| s.contains(needle)).count();
    assert!(expected > 0);
    let q = SearchKey::Subject(needle.into());
    g.bench_function("search_subject/mailstore", |b| {
        b.iter(|| {
            let hits = rt
                .block_on(big.store.search(big.inbox, &q))
                .expect("search");
            assert_eq!(hits.len(), expected);
            hits
        })
    });
    g.bench_function("search_subject/baseline_vec_contains", |b| {
        b.iter(|| subjects.iter().filter(|s| s.contains(needle)).count())
    });
    g.finish();

    // Reopen: rebuild the index of 100,000 messages from disk.
    let path = big._dir.path().to_owned();
    let Big { _dir, store, inbox } = big;
    drop(store);
    let mut g = c.benchmark_group("open_100k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("redb_open_and_select", |b| {
        b.iter(|| {
            let s = RedbStore::open(&path).expect("reopen");
            let sel = rt.block_on(s.select(inbox)).expect("select");
            assert_eq!(sel.messages.len(), BIG);
            sel.messages.len()
        })
    });
    g.finish();

    // Cold SELECT: open and select timed, the drop of the handle not.
    let mut g = c.benchmark_group("cold_100k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("open_then_select", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let s = RedbStore::open(&path).expect("reopen");
                let sel = rt.block_on(s.select(inbox)).expect("select");
                total += t.elapsed();
                assert_eq!(sel.messages.len(), BIG);
                drop(sel);
                drop(s);
            }
            total
        })
    });
    let q = SearchKey::Subject(needle.into());
    g.bench_function("open_then_search_subject", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let s = RedbStore::open(&path).expect("reopen");
                let hits = rt.block_on(s.search(inbox, &q)).expect("search");
                total += t.elapsed();
                assert_eq!(hits.len(), expected);
                drop(s);
            }
            total
        })
    });
    g.finish();
    // Memory: a fresh process opens the store, then SELECTs, then searches (in-process
    // figures would be blurred by the allocator keeping what earlier handles freed).
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env(
            RSS_CHILD,
            format!("{}|{}|{needle}", path.display(), inbox.0),
        )
        .output()
        .expect("rss child");
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if let [base, open, select, search, n] = v[..] {
        let per = |x: u64| x.saturating_sub(base) / n.max(1);
        eprintln!(
            "resident memory of a fresh process over {n} messages (RSS delta from before open, includes redb's cache): after open {} B/message, after SELECT {} B/message, after subject search {} B/message (RSS {} -> {} -> {} -> {} MiB)",
            per(open),
            per(select),
            per(search),
            base >> 20,
            open >> 20,
            select >> 20,
            search >> 20
        );
    } else {
        eprintln!(
            "rss child failed: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

const RSS_CHILD: &str = "MAILSTORE_BENCH_RSS_CHILD";

/// In the child process: prints RSS before open, after open, after SELECT, after a subject
/// search, and the message count.
fn rss_child(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let (Some(path), Some(id), Some(needle)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let id: u64 = id.parse().expect("mailbox id");
    let rt = runtime();
    let base = resident_bytes();
    let s = RedbStore::open(path).expect("open");
    let open = resident_bytes();
    let n = rt
        .block_on(s.select(MailboxId(id)))
        .expect("select")
        .messages
        .len();
    let select = resident_bytes();
    let q = SearchKey::Subject(needle.into());
    rt.block_on(s.search(MailboxId(id), &q)).expect("search");
    let search = resident_bytes();
    println!("{base} {open} {select} {search} {n}");
}

/// Resident set size of this process (Linux), 0 elsewhere.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

const ACCOUNTS: usize = 1_000;

/// The default folders a server creates for each account.
fn folders() -> Vec<(MailboxName, Option<mailstore::SpecialUse>)> {
    use mailstore::SpecialUse;
    [
        ("INBOX", None),
        ("草稿箱", Some(SpecialUse::Drafts)),
        ("已发送", Some(SpecialUse::Sent)),
        ("已删除", Some(SpecialUse::Trash)),
        ("垃圾邮件", Some(SpecialUse::Junk)),
    ]
    .into_iter()
    .map(|(n, su)| (MailboxName::new(n).expect("name"), su))
    .collect()
}
const PER_ACCOUNT: usize = 20;

fn many_accounts(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    {
        let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir.path()).expect("open"));
        rt.block_on(async {
            let mut tasks = Vec::new();
            for w in 0..64 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    for a in (w..ACCOUNTS).step_by(64) {
                        let me = AccountId::new(&format!("user{a}@example.edu.cn")).expect("id");
                        store
                            .create_account(&me, &folders())
                            .await
                            .expect("account");
                        let inbox = store
                            .mailbox_id(&me, &MailboxName::inbox())
                            .await
                            .expect("inbox");
                        for n in 0..PER_ACCOUNT {
                            store
                                .append(inbox, message(a * PER_ACCOUNT + n), Flags::empty(), 0)
                                .await
                                .expect("append");
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.expect("task");
            }
        });
    }
    eprintln!(
        "built a {ACCOUNTS}-account store ({} messages) in {:?}",
        ACCOUNTS * PER_ACCOUNT,
        t.elapsed()
    );
    let mut g = c.benchmark_group("open_1000_accounts");
    g.sample_size(10);
    g.bench_function("open", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let s = RedbStore::open(dir.path()).expect("reopen");
                total += t.elapsed();
                drop(s);
            }
            total
        })
    });
    g.finish();
}

/// The ceiling group commit can reach on this disk: redb alone, one thread, storing each
/// message body under a sequential id plus one random 32-byte key (the least a store with
/// single-instance bodies writes), one message per commit vs 32 per commit.
fn redb_ceiling(c: &mut Criterion) {
    use redb::{Database, TableDefinition};
    const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
    const HASHES: TableDefinition<&[u8], u64> = TableDefinition::new("hashes");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::create(dir.path().join("ceiling.redb")).expect("redb");
    let mut g = c.benchmark_group("append");
    g.sample_size(10);
    let mut id = 0u64;
    for per_commit in [1usize, 32] {
        const PER_ITER: usize = 64;
        g.throughput(Throughput::Elements(PER_ITER as u64));
        g.bench_with_input(
            BenchmarkId::new("raw_redb_messages_per_commit", per_commit),
            &per_commit,
            |b, &per_commit| {
                b.iter(|| {
                    for _ in 0..PER_ITER / per_commit {
                        let txn = db.begin_write().expect("txn");
                        {
                            let mut bodies = txn.open_table(BODIES).expect("table");
                            let mut hashes = txn.open_table(HASHES).expect("table");
                            for _ in 0..per_commit {
                                id += 1;
                                let raw = message(id as usize);
                                bodies.insert(id, &raw[..]).expect("insert");
                                // A pseudo-random 32-byte key (splitmix64 of the id).
                                let mut key = [0u8; 32];
                                let mut x = id;
                                for chunk in key.chunks_mut(8) {
                                    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                                    let mut z = x;
                                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                                    chunk.copy_from_slice(&(z ^ (z >> 31)).to_be_bytes());
                                }
                                hashes.insert(&key[..], id).expect("insert");
                            }
                        }
                        txn.commit().expect("commit");
                    }
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, appends, redb_ceiling, big_mailbox, many_accounts);

fn main() {
    if let Ok(spec) = std::env::var(RSS_CHILD) {
        rss_child(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
