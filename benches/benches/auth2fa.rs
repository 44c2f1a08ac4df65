//! auth2fa benchmarks, each next to its baseline in one run:
//! * app-password verification (HMAC-SHA256 + constant-time compare over 20 stored tags)
//!   next to argon2id verification of a primary password at OWASP parameters;
//! * a full `authenticate` (app password, with block bookkeeping, login log and last-use
//!   update) and a refused attempt from a blocked IP;
//! * the IP block table after 1,000,000 distinct attacking addresses: the capped table
//!   (default 200,000 counters) next to an uncapped one, with memory printed;
//! * a failed `authenticate` on `RedbStore` (wrong password, fast argon2 so the store shows):
//!   login log durable on every attempt (`with_log_batch(1)`, the old behaviour) next to the
//!   default batch (fsync every 128 entries or 1 s);
//! * one account's newest 20 login-log entries on `RedbStore` with 100,000 entries of which
//!   the account has 40: through the by-account index next to reading the log newest first
//!   and filtering until 20 are found (what `logins(Some(a))` did before the index).
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

use auth2fa::{
    AuthService, BlockPolicy, BlockTable, Config, FactorTarget, MemoryStore, NewAccount, Protocol,
    ProtocolSet, SeededRandom, ServerKey, Timestamp,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const USER: &str = "bench@example.edu.cn";
const PW: &str = "Tq9!vLm2#pRz";
const NOW: Timestamp = Timestamp(1_800_000_000);

fn service(config: Config) -> (AuthService<MemoryStore>, String) {
    let s = AuthService::new(MemoryStore::new(), ServerKey::from_bytes([9; 32]), config)
        .unwrap()
        .with_random(Arc::new(SeededRandom::new(5)));
    let mut n = NewAccount::new(USER, PW);
    n.must_change_password = false;
    s.create_account(n, NOW).unwrap();
    let auth2fa::BindStart::Totp(en) = s.begin_bind_factor(USER, FactorTarget::Totp, NOW).unwrap()
    else {
        unreachable!()
    };
    let code = auth2fa::totp_code(en.secret_base32.expose(), NOW).unwrap();
    s.confirm_bind_factor(USER, &code, NOW).unwrap();
    // 20 app passwords (the default maximum): the last one is checked, all 20 are compared.
    let mut last = String::new();
    for i in 0..20 {
        last = s
            .create_app_password(USER, &format!("client {i}"), ProtocolSet::ALL, NOW)
            .unwrap()
            .expose()
            .to_string();
    }
    (s, last)
}

fn verification(c: &mut Criterion) {
    let (s, app) = service(Config::default());
    let hash =
        auth2fa::hash_password(PW, auth2fa::Argon2Params::OWASP, &SeededRandom::new(1)).unwrap();
    let mut g = c.benchmark_group("auth2fa_verify");
    g.bench_function("app_password_hmac_20_tags", |b| {
        b.iter(|| {
            let r = s.check_app_password(USER, black_box(&app)).unwrap();
            assert!(r.is_some());
        })
    });
    g.sample_size(10);
    g.bench_function("argon2id_owasp_verify", |b| {
        b.iter(|| assert!(auth2fa::verify_password(black_box(PW), &hash)))
    });
    g.finish();
}

fn full_authenticate(c: &mut Criterion) {
    let (s, app) = service(Config::default());
    let mut g = c.benchmark_group("auth2fa_authenticate");
    let ok_ip: IpAddr = "192.0.2.1".parse().unwrap();
    g.bench_function("app_password_success", |b| {
        b.iter(|| {
            s.authenticate(Protocol::Imap, USER, black_box(&app), ok_ip, NOW)
                .unwrap()
        })
    });
    let bad: IpAddr = "203.0.113.7".parse().unwrap();
    for i in 0..10 {
        let _ = s.authenticate(Protocol::Imap, USER, &format!("wrong{i}"), bad, NOW);
    }
    g.bench_function("blocked_ip_refused", |b| {
        b.iter(|| {
            let r = s.authenticate(Protocol::Imap, USER, black_box(PW), bad, NOW);
            assert!(matches!(r, Err(auth2fa::Error::IpBlocked { .. })));
        })
    });
    g.finish();
}

fn fill(t: &mut BlockTable, from: u32, n: u32) {
    for i in from..from + n {
        t.record_failure(
            IpAddr::from((0x0A00_0000 + i).to_be_bytes()),
            1,
            "x@y.cn",
            NOW,
        );
    }
}

fn block_table(c: &mut Criterion) {
    const ATTACKERS: u32 = 1_000_000;
    let mut g = c.benchmark_group("auth2fa_block_table_1M_ips");
    for (name, policy) in [
        ("capped_default", BlockPolicy::default()),
        (
            "uncapped_baseline",
            BlockPolicy {
                max_counters: usize::MAX,
                ..BlockPolicy::default()
            },
        ),
    ] {
        let mut t = BlockTable::new(policy);
        fill(&mut t, 0, ATTACKERS);
        eprintln!(
            "block table {name}: {} counters, {} blocks, ~{:.1} MiB after {ATTACKERS} distinct IPs",
            t.counter_count(),
            t.block_count(),
            t.approx_memory_bytes() as f64 / (1024.0 * 1024.0)
        );
        let mut next = ATTACKERS;
        g.bench_function(BenchmarkId::new("record_failure_new_ip", name), |b| {
            b.iter(|| {
                next = next.wrapping_add(1);
                t.record_failure(
                    IpAddr::from((0x0A00_0000u32.wrapping_add(next)).to_be_bytes()),
                    1,
                    "x@y.cn",
                    NOW,
                )
            })
        });
        let probe: IpAddr = "10.0.0.5".parse().unwrap();
        g.bench_function(BenchmarkId::new("blocked_until_lookup", name), |b| {
            b.iter(|| t.blocked_until(black_box(probe), NOW))
        });
    }
    g.finish();
}

fn redb_failed_login(c: &mut Criterion) {
    let mut g = c.benchmark_group("auth2fa_redb_failed_authenticate");
    for (name, batch) in [
        ("log_durable_each", 1),
        ("log_batched_128", auth2fa::DEFAULT_LOG_BATCH),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = auth2fa::RedbStore::open(dir.path().join("auth.redb"))
            .unwrap()
            .with_log_batch(batch);
        let s = AuthService::new(
            store,
            ServerKey::from_bytes([9; 32]),
            Config::insecure_fast_for_tests(),
        )
        .unwrap()
        .with_random(Arc::new(SeededRandom::new(5)));
        let mut n = NewAccount::new(USER, PW);
        n.must_change_password = false;
        s.create_account(n, NOW).unwrap();
        let mut i = 0u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                // A fresh address each time (one wrong secret per address never blocks).
                i = i.wrapping_add(1);
                let ip = IpAddr::from((0x0a00_0000 | (i & 0x00ff_ffff)).to_be_bytes());
                let r = s.authenticate(Protocol::Imap, USER, black_box("wrong-pass"), ip, NOW);
                assert!(r.is_err());
            })
        });
        drop(s);
    }
    g.finish();
}

fn redb_login_log_one_account(c: &mut Criterion) {
    use auth2fa::AuthStore;
    let dir = tempfile::tempdir().unwrap();
    let store = auth2fa::RedbStore::open(dir.path().join("auth.redb"))
        .unwrap()
        .with_log_batch(100_000);
    let me = auth2fa::Address::parse(USER).unwrap();
    let other = auth2fa::Address::parse("other@example.edu.cn").unwrap();
    for i in 0..100_000u64 {
        // The account's 40 entries are spread over the whole log.
        let who = if i % 2_500 == 0 { &me } else { &other };
        store
            .append_login(&auth2fa::LoginEvent {
                at: Timestamp(NOW.0 + i),
                login: who.to_string(),
                account: Some(who.clone()),
                channel: auth2fa::Channel::Protocol(Protocol::Imap),
                ip: IpAddr::from([192, 0, 2, 1]),
                place: None,
                credential: auth2fa::CredentialUsed::None,
                failure: Some("wrong_credentials".into()),
            })
            .unwrap();
    }
    store.flush().unwrap();
    let mut g = c.benchmark_group("auth2fa_redb_login_log_one_account_100k");
    g.bench_function("indexed", |b| {
        b.iter(|| {
            let v = store.logins(Some(black_box(&me)), 20).unwrap();
            assert_eq!(v.len(), 20);
        })
    });
    g.sample_size(10);
    g.bench_function("scan_newest_first", |b| {
        b.iter(|| {
            // The old query decoded newest-first until it had 20 of the account's entries:
            // the newest 50,000 here (the 20th newest is entry 50,000).
            let v: Vec<_> = store
                .logins(None, 50_000)
                .unwrap()
                .into_iter()
                .filter(|e| e.account.as_ref() == Some(black_box(&me)))
                .take(20)
                .collect();
            assert_eq!(v.len(), 20);
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    verification,
    full_authenticate,
    block_table,
    redb_failed_login,
    redb_login_log_one_account
);
criterion_main!(benches);
