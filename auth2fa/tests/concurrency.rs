//! The engine is shared between threads: per-account read-modify-write cycles do not lose
//! updates, and the TOTP wrong-try guard holds.

mod common;
use common::*;

use auth2fa::{AuthService, BindStart, Error, FactorTarget, MemoryStore, Protocol, ProtocolSet};
use std::sync::Arc;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn service_is_send_and_sync() {
    assert_send_sync::<AuthService<MemoryStore>>();
    #[cfg(feature = "redb")]
    assert_send_sync::<AuthService<auth2fa::RedbStore>>();
}

#[test]
fn concurrent_app_password_creation_loses_nothing() {
    let mut c = auth2fa::Config::insecure_fast_for_tests();
    c.max_app_passwords = 100;
    let (s, out) = service_with(c);
    user(&s, "a@x.cn");
    bind_sms(&s, &out, "a@x.cn", "13800138000", T0);
    let s = Arc::new(s);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut secrets = Vec::new();
                for i in 0..10 {
                    let secret = s
                        .create_app_password("a@x.cn", &format!("t{t}-{i}"), ProtocolSet::ALL, T0)
                        .unwrap();
                    // Interleave logins, which also write the account (last use).
                    s.authenticate(
                        Protocol::Imap,
                        "a@x.cn",
                        secret.expose(),
                        ip("192.0.2.1"),
                        T0,
                    )
                    .unwrap();
                    secrets.push(secret);
                }
                secrets
            })
        })
        .collect();
    let secrets: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(s.app_passwords("a@x.cn").unwrap().len(), 40);
    for secret in &secrets {
        assert!(
            s.check_app_password("a@x.cn", secret.expose())
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        s.check_app_password("a@x.cn", "aaaa bbbb cccc dddd")
            .unwrap(),
        None
    );
}

#[test]
fn five_wrong_totp_codes_lock_the_factor_for_the_code_lifetime() {
    let (s, _) = service();
    user(&s, "a@x.cn");
    let BindStart::Totp(en) = s
        .begin_bind_factor("a@x.cn", FactorTarget::Totp, T0)
        .unwrap()
    else {
        panic!()
    };
    let code = auth2fa::totp_code(en.secret_base32.expose(), T0).unwrap();
    let f = s.confirm_bind_factor("a@x.cn", &code, T0).unwrap().info.id;
    let now = T0.plus(90);
    let right = auth2fa::totp_code(en.secret_base32.expose(), now).unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let prev = auth2fa::totp_code(en.secret_base32.expose(), T0.plus(60)).unwrap();
    let next = auth2fa::totp_code(en.secret_base32.expose(), T0.plus(120)).unwrap();
    if [prev.as_str(), next.as_str()].contains(&wrong) {
        return; // astronomically unlikely; the check below would be meaningless
    }
    for remaining in (1..5).rev() {
        assert_eq!(
            s.confirm_current_factor("a@x.cn", Some(f), wrong, now),
            Err(Error::WrongCode { remaining })
        );
    }
    assert_eq!(
        s.confirm_current_factor("a@x.cn", Some(f), wrong, now),
        Err(Error::CodeBurned)
    );
    assert_eq!(
        s.confirm_current_factor("a@x.cn", Some(f), &right, now),
        Err(Error::CodeBurned),
        "locked even for the right code"
    );
    let later = now.plus(300);
    let fresh = auth2fa::totp_code(en.secret_base32.expose(), later).unwrap();
    s.confirm_current_factor("a@x.cn", Some(f), &fresh, later)
        .unwrap();
}

#[test]
fn must_change_answers_count_once_per_secret() {
    let (s, _) = service();
    s.create_account(auth2fa::NewAccount::new("a@x.cn", PW), T0)
        .unwrap();
    let phone = ip("198.51.100.8");
    for _ in 0..30 {
        assert_eq!(
            s.authenticate(Protocol::Imap, "a@x.cn", PW, phone, T0),
            Err(Error::MustChangePassword)
        );
    }
    let (counters, blocks, _) = s.block_table_stats();
    assert_eq!((counters, blocks), (1, 0));
}
