//! The redb store: everything survives reopening; the engine works on it.
#![cfg(feature = "redb")]

mod common;
use common::*;

use auth2fa::{
    AccountState, AuditEvent, AuditResult, AuthService, AuthStore, Config, DomainPolicy, Error,
    NewAccount, Protocol, ProtocolSet, RedbStore, RegionRule, SeededRandom, ServerKey,
};
use std::sync::Arc;

const A: &str = "chen.qi@example.edu.cn";

fn open(path: &std::path::Path) -> AuthService<RedbStore> {
    AuthService::new(
        RedbStore::open(path).unwrap(),
        ServerKey::from_bytes([42; 32]),
        Config::insecure_fast_for_tests(),
    )
    .unwrap()
    .with_random(Arc::new(SeededRandom::new(3)))
}

#[test]
fn accounts_logs_and_app_passwords_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.redb");
    let out = Arc::new(Outbox::default());
    let app_pw;
    {
        let s = open(&path).with_code_sender(out.clone());
        let mut n = NewAccount::new(A, PW);
        n.must_change_password = false;
        s.create_account(n, T0).unwrap();
        assert!(matches!(
            s.create_account(NewAccount::new(A, PW), T0),
            Err(Error::AccountExists(_))
        ));
        s.begin_bind_factor(A, auth2fa::FactorTarget::Sms("13800138000".into()), T0)
            .unwrap();
        s.confirm_bind_factor(A, &out.last_code(), T0).unwrap();
        app_pw = s
            .create_app_password(A, "Thunderbird", ProtocolSet::ALL, T0)
            .unwrap()
            .expose()
            .to_string();
        s.set_region_rule(A, RegionRule::parse("192.0.2.0/24").unwrap())
            .unwrap();
        s.set_domain_policy(
            "example.edu.cn",
            DomainPolicy {
                force_two_factor: true,
            },
        )
        .unwrap();
        s.authenticate(Protocol::Imap, A, &app_pw, ip("192.0.2.1"), T0)
            .unwrap();
        s.record_admin_action(AuditEvent {
            at: T0,
            admin: "root".into(),
            action: "account.create".into(),
            target: A.into(),
            details: String::new(),
            result: AuditResult::Ok,
        })
        .unwrap();
    }
    let s = open(&path);
    let acc = s.account(A).unwrap();
    assert_eq!(acc.state(), AccountState::Active);
    assert!(acc.has_second_factor());
    assert_eq!(acc.app_password_count(), 1);
    assert!(s.domain_policy("example.edu.cn").unwrap().force_two_factor);
    let p = s
        .authenticate(Protocol::Smtp, A, &app_pw, ip("192.0.2.2"), T0.plus(1))
        .unwrap();
    assert_eq!(p.address.as_str(), A);
    assert_eq!(
        s.authenticate(Protocol::Smtp, A, &app_pw, ip("198.51.100.1"), T0),
        Err(Error::RegionNotAllowed)
    );
    let log = s.login_log(Some(A), 10).unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].failure.as_deref(), Some("region_not_allowed"));
    assert_eq!(s.audit_log(10).unwrap().len(), 1);
    assert_eq!(s.store().account_addresses().unwrap().len(), 1);
    s.delete_account(A).unwrap();
    assert!(s.store().account_addresses().unwrap().is_empty());
}

#[test]
fn old_log_entries_can_be_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("auth.redb")).unwrap();
    for i in 0..5u64 {
        store
            .append_login(&auth2fa::LoginEvent {
                at: T0.plus(i * 100),
                login: A.into(),
                account: None,
                channel: auth2fa::Channel::Web,
                ip: ip("192.0.2.1"),
                place: None,
                credential: auth2fa::CredentialUsed::None,
                failure: Some("wrong_credentials".into()),
            })
            .unwrap();
        store
            .append_audit(&AuditEvent {
                at: T0.plus(i * 100),
                admin: "root".into(),
                action: "account.list".into(),
                target: String::new(),
                details: String::new(),
                result: AuditResult::Failed("denied".into()),
            })
            .unwrap();
    }
    assert_eq!(store.prune_logs(T0.plus(250)).unwrap(), 6);
    let left = store.logins(None, 10).unwrap();
    assert_eq!(left.len(), 2);
    assert_eq!(left[1].at, T0.plus(300));
    assert_eq!(store.audit_events(10).unwrap().len(), 2);
    // Appending after pruning continues the sequence.
    store
        .append_audit(&AuditEvent {
            at: T0.plus(900),
            admin: "root".into(),
            action: "x".into(),
            target: String::new(),
            details: String::new(),
            result: AuditResult::Ok,
        })
        .unwrap();
    assert_eq!(store.audit_events(1).unwrap()[0].action, "x");
}

fn open_with(path: &std::path::Path, config: Config) -> AuthService<RedbStore> {
    AuthService::new(
        RedbStore::open(path).unwrap(),
        ServerKey::from_bytes([42; 32]),
        config,
    )
    .unwrap()
    .with_random(Arc::new(SeededRandom::new(3)))
}

fn attack(s: &AuthService<RedbStore>, from: &str, now: auth2fa::Timestamp) {
    for i in 0..10 {
        let _ = s.authenticate(Protocol::Imap, A, &format!("wrong {i}"), ip(from), now);
    }
    assert!(matches!(
        s.authenticate(Protocol::Imap, A, PW, ip(from), now),
        Err(Error::IpBlocked { .. })
    ));
}

#[test]
fn ip_blocks_survive_reopen_lifts_persist_and_expired_are_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.redb");
    {
        let s = open(&path);
        let mut n = NewAccount::new(A, PW);
        n.must_change_password = false;
        s.create_account(n, T0).unwrap();
        attack(&s, "203.0.113.1", T0);
        attack(&s, "203.0.113.2", T0);
        // Blocked at T0 for one hour; this one started 50 minutes later.
        attack(&s, "203.0.113.3", T0.plus(3000));
        s.block_network(
            "198.51.100.0/24".parse().unwrap(),
            T0.plus(600),
            "admin",
            "spam run",
            T0,
        );
        // Only the blocks are stored: one record each, not one per failure.
        assert_eq!(s.store().stored_blocks().unwrap().len(), 4);
    }
    {
        // An admin tool opening the store while no server runs sees the same blocks.
        let s = open(&path);
        let listed: Vec<String> = s
            .blocks(T0.plus(1))
            .iter()
            .map(|b| b.network.to_string())
            .collect();
        assert_eq!(
            listed,
            [
                "198.51.100.0/24",
                "203.0.113.1/32",
                "203.0.113.2/32",
                "203.0.113.3/32"
            ]
        );
        assert!(s.lift_block(ip("203.0.113.1")));
        assert!(s.try_lift_block(ip("198.51.100.7")).unwrap());
    }
    {
        let s = open(&path);
        assert!(
            s.authenticate(Protocol::Imap, A, PW, ip("203.0.113.1"), T0.plus(2))
                .is_ok(),
            "a lifted block stays lifted"
        );
        assert!(
            s.authenticate(Protocol::Imap, A, PW, ip("198.51.100.7"), T0.plus(2))
                .is_ok()
        );
        assert!(matches!(
            s.authenticate(Protocol::Imap, A, PW, ip("203.0.113.2"), T0.plus(2)),
            Err(Error::IpBlocked { until }) if until == T0.plus(3600)
        ));
        // After the hour the first block has expired: not listed, not enforced, and gone
        // from the store; the later one is still active.
        let later = T0.plus(3600);
        let listed: Vec<String> = s
            .blocks(later)
            .iter()
            .map(|b| b.network.to_string())
            .collect();
        assert_eq!(listed, ["203.0.113.3/32"]);
        assert!(
            s.authenticate(Protocol::Imap, A, PW, ip("203.0.113.2"), later)
                .is_ok()
        );
        assert_eq!(s.store().stored_blocks().unwrap().len(), 1);
    }
}

#[test]
fn memory_caps_apply_to_loaded_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.redb");
    {
        let s = open(&path);
        for i in 0..5u64 {
            s.block_network(
                format!("192.0.2.{i}").parse().unwrap(),
                T0.plus(100 + i),
                "admin",
                "",
                T0,
            );
        }
    }
    let mut config = Config::insecure_fast_for_tests();
    config.block.max_blocks = 2;
    let s = open_with(&path, config);
    assert_eq!(s.block_table_stats().1, 2);
    // The blocks ending last are kept.
    let listed: Vec<String> = s.blocks(T0).iter().map(|b| b.network.to_string()).collect();
    assert_eq!(listed, ["192.0.2.3/32", "192.0.2.4/32"]);
}

#[test]
fn batched_login_log_is_kept_on_drop_and_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.redb");
    let svc = |path: &std::path::Path| {
        AuthService::new(
            RedbStore::open(path).unwrap().with_log_batch(1000),
            ServerKey::from_bytes([42; 32]),
            Config::insecure_fast_for_tests(),
        )
        .unwrap()
    };
    {
        let s = svc(&path);
        for i in 0..5u8 {
            let _ = s.authenticate(Protocol::Imap, A, PW, ip(&format!("192.0.2.{i}")), T0);
        }
        s.flush().unwrap();
        s.flush().unwrap(); // nothing pending: no error
        for i in 5..8u8 {
            let _ = s.authenticate(Protocol::Pop3, A, PW, ip(&format!("192.0.2.{i}")), T0);
        }
        assert_eq!(s.login_log(None, 100).unwrap().len(), 8);
    } // dropping the store makes the rest durable
    let s = svc(&path);
    assert_eq!(s.login_log(None, 100).unwrap().len(), 8);
}

fn login_event(account: Option<&str>, at: auth2fa::Timestamp) -> auth2fa::LoginEvent {
    auth2fa::LoginEvent {
        at,
        login: account.unwrap_or("nobody@example.edu.cn").into(),
        account: account.map(|a| auth2fa::Address::parse(a).unwrap()),
        channel: auth2fa::Channel::Web,
        ip: ip("192.0.2.1"),
        place: None,
        credential: auth2fa::CredentialUsed::None,
        failure: Some("wrong_credentials".into()),
    }
}

const B: &str = "wang.wu@example.edu.cn";

/// Binds `phone` as SMS factor of `who` through the service (code from the outbox).
fn bind_phone(
    s: &AuthService<RedbStore>,
    out: &Outbox,
    who: &str,
    phone: &str,
) -> Result<(), Error> {
    s.begin_bind_factor(who, auth2fa::FactorTarget::Sms(phone.into()), T0)?;
    s.confirm_bind_factor(who, &out.last_code(), T0).map(|_| ())
}

/// The one-phone-per-mailbox policy on redb goes through the factor index: a phone bound to
/// one account is refused for another, until that account is deleted; the index survives
/// reopening and is rebuilt for a store written before it existed.
#[test]
fn one_phone_per_mailbox_uses_the_factor_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.redb");
    let out = Arc::new(Outbox::default());
    {
        let s = open(&path).with_code_sender(out.clone());
        for who in [A, B, "third@example.edu.cn"] {
            s.create_account(NewAccount::new(who, PW), T0).unwrap();
        }
        bind_phone(&s, &out, A, "+86 138-0013-8000").unwrap();
        assert_eq!(
            bind_phone(&s, &out, B, "+86-13800138000"),
            Err(Error::FactorBoundElsewhere("phone number"))
        );
        // Another phone is fine.
        bind_phone(&s, &out, B, "13900139000").unwrap();
    }
    // Remove the index and its marker, as in a store written before the index existed.
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(redb::TableDefinition::<&str, ()>::new(
            "auth2fa_factor_index",
        ))
        .unwrap();
        tx.delete_table(redb::TableDefinition::<&str, u64>::new("auth2fa_meta"))
            .unwrap();
        tx.commit().unwrap();
    }
    let s = open(&path).with_code_sender(out.clone());
    assert_eq!(
        bind_phone(&s, &out, "third@example.edu.cn", "+8613800138000"),
        Err(Error::FactorBoundElsewhere("phone number")),
        "rebuilt at open"
    );
    assert_eq!(
        bind_phone(&s, &out, "third@example.edu.cn", "13900139000"),
        Err(Error::FactorBoundElsewhere("phone number"))
    );
    s.delete_account(A).unwrap();
    bind_phone(&s, &out, "third@example.edu.cn", "+8613800138000").unwrap();
    let addr = |a: &str| auth2fa::Address::parse(a).unwrap();
    assert_eq!(
        s.store()
            .account_with_factor(auth2fa::FactorKind::Sms, "+8613800138000", &addr(B))
            .unwrap(),
        Some(addr("third@example.edu.cn"))
    );
}

/// One account's login log is read through the by-account index (newest first, only its
/// entries), stays right after pruning, and is rebuilt for a store written before it.
#[test]
fn login_log_of_one_account_uses_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        for i in 0..2000u64 {
            let who = match i % 500 {
                0 => Some(A),
                1..=300 => Some(B),
                _ => None,
            };
            store.append_login(&login_event(who, T0.plus(i))).unwrap();
        }
        let a = auth2fa::Address::parse(A).unwrap();
        let mine = store.logins(Some(&a), 10).unwrap();
        let times: Vec<_> = mine.iter().map(|e| e.at).collect();
        assert_eq!(times, [T0.plus(1500), T0.plus(1000), T0.plus(500), T0]);
        assert!(mine.iter().all(|e| e.account.as_ref() == Some(&a)));
        let b = auth2fa::Address::parse(B).unwrap();
        assert_eq!(store.logins(Some(&b), 5).unwrap()[0].at, T0.plus(1800));
        assert_eq!(store.logins(None, 3).unwrap()[0].at, T0.plus(1999));
        // Pruning drops index entries with their log entries.
        store.prune_logs(T0.plus(700)).unwrap();
        let times: Vec<_> = store
            .logins(Some(&a), 10)
            .unwrap()
            .iter()
            .map(|e| e.at)
            .collect();
        assert_eq!(times, [T0.plus(1500), T0.plus(1000)]);
    }
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(redb::TableDefinition::<&[u8], ()>::new(
            "auth2fa_logins_by_account",
        ))
        .unwrap();
        tx.delete_table(redb::TableDefinition::<&str, u64>::new("auth2fa_meta"))
            .unwrap();
        tx.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let a = auth2fa::Address::parse(A).unwrap();
    let times: Vec<_> = store
        .logins(Some(&a), 10)
        .unwrap()
        .iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(times, [T0.plus(1500), T0.plus(1000)], "rebuilt at open");
}
