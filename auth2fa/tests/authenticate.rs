//! Protocol authentication: every answer of `authenticate`, blocking and app passwords.

mod common;
use common::*;

use auth2fa::{
    AccountKind, AccountState, Alert, CidrLocator, Config, CredentialUsed, DomainPolicy, Error,
    NewAccount, Protocol, ProtocolSet, RegionRule, Timestamp,
};
use std::sync::Arc;

const A: &str = "zhang.san@example.edu.cn";

#[test]
fn right_password_logs_in_and_is_logged() {
    let (s, _) = service();
    user(&s, A);
    let p = s
        .authenticate(
            Protocol::Imap,
            "Zhang.San@Example.edu.cn",
            PW,
            ip("192.0.2.1"),
            T0,
        )
        .unwrap();
    assert_eq!(p.address.as_str(), A);
    assert_eq!(p.credential, CredentialUsed::Password);
    let log = s.login_log(Some(A), 10).unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].succeeded());
    assert_eq!(log[0].ip, ip("192.0.2.1"));
}

#[test]
fn wrong_password_and_unknown_account_look_the_same() {
    let (s, _) = service();
    user(&s, A);
    let e1 = s
        .authenticate(Protocol::Pop3, A, "nope", ip("192.0.2.1"), T0)
        .unwrap_err();
    let e2 = s
        .authenticate(
            Protocol::Pop3,
            "ghost@example.edu.cn",
            PW,
            ip("192.0.2.1"),
            T0,
        )
        .unwrap_err();
    assert_eq!(e1, Error::WrongCredentials);
    assert_eq!(e1, e2);
    assert_eq!(e1.to_string(), e2.to_string());
    // The unknown address is not logged as an account.
    let log = s.login_log(None, 10).unwrap();
    assert_eq!(log[0].account, None);
    assert_eq!(log[0].failure.as_deref(), Some("wrong_credentials"));
    assert_eq!(log[1].account.as_ref().map(|a| a.as_str()), Some(A));
}

#[test]
fn bare_user_name_is_refused_with_advice() {
    let (s, _) = service();
    user(&s, A);
    let e = s
        .authenticate(Protocol::Smtp, "zhang.san", PW, ip("192.0.2.1"), T0)
        .unwrap_err();
    assert_eq!(e, Error::LoginNotFullAddress);
    assert!(e.to_string().contains("user@domain"));
}

#[test]
fn must_change_password_only_after_the_right_password() {
    let (s, _) = service();
    s.create_account(NewAccount::new(A, PW), T0).unwrap();
    assert!(s.account(A).unwrap().must_change_password());
    let i = ip("192.0.2.1");
    assert_eq!(
        s.authenticate(Protocol::Imap, A, "wrong-guess", i, T0),
        Err(Error::WrongCredentials)
    );
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, i, T0),
        Err(Error::MustChangePassword)
    );
    s.change_password(A, PW, "Another#Secret9", T0).unwrap();
    assert!(
        s.authenticate(Protocol::Imap, A, "Another#Secret9", i, T0)
            .is_ok()
    );
    // An administrator's reset sets the flag again.
    s.reset_password(A, "Reset!Pass-77x", T0).unwrap();
    assert_eq!(
        s.authenticate(Protocol::Imap, A, "Reset!Pass-77x", i, T0),
        Err(Error::MustChangePassword)
    );
}

#[test]
fn banned_delivery_and_region_are_answered_whatever_the_secret() {
    let (s, _) = service();
    user(&s, A);
    let i = ip("192.0.2.1");
    s.set_state(A, AccountState::Banned).unwrap();
    for secret in [PW, "wrong"] {
        assert_eq!(
            s.authenticate(Protocol::Imap, A, secret, i, T0),
            Err(Error::Banned)
        );
    }
    s.set_state(A, AccountState::Active).unwrap();
    s.set_kind(A, AccountKind::Delivery).unwrap();
    for secret in [PW, "wrong"] {
        assert_eq!(
            s.authenticate(Protocol::Pop3, A, secret, i, T0),
            Err(Error::ProtocolNotAllowed {
                kind: AccountKind::Delivery,
                protocol: Protocol::Pop3
            })
        );
    }
    s.set_kind(A, AccountKind::Normal).unwrap();
    s.set_region_rule(A, RegionRule::parse("10.0.0.0/8").unwrap())
        .unwrap();
    for secret in [PW, "wrong"] {
        assert_eq!(
            s.authenticate(Protocol::Imap, A, secret, i, T0),
            Err(Error::RegionNotAllowed)
        );
    }
    assert!(
        s.authenticate(Protocol::Imap, A, PW, ip("10.2.3.4"), T0)
            .is_ok()
    );
}

#[test]
fn region_rules_use_the_locator() {
    let (s, _) = service();
    let loc = CidrLocator::parse("198.51.100.0/24 CN/Beijing/Haidian\n203.0.113.0/24 US").unwrap();
    let s = s.with_locator(Arc::new(loc));
    user(&s, A);
    s.set_region_rule(A, RegionRule::parse("CN/Beijing").unwrap())
        .unwrap();
    assert!(
        s.authenticate(Protocol::Imap, A, PW, ip("198.51.100.9"), T0)
            .is_ok()
    );
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, ip("203.0.113.9"), T0),
        Err(Error::RegionNotAllowed)
    );
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, ip("192.0.2.9"), T0),
        Err(Error::RegionNotAllowed),
        "unknown place is denied by a restrictive rule"
    );
}

#[test]
fn ten_failures_block_the_ip_even_for_the_right_password() {
    let (s, _) = service();
    user(&s, A);
    let bad = ip("203.0.113.66");
    for i in 0..9 {
        assert_eq!(
            s.authenticate(Protocol::Imap, A, &format!("guess{i}"), bad, T0),
            Err(Error::WrongCredentials)
        );
    }
    let until = T0.plus(3600);
    assert_eq!(
        s.authenticate(Protocol::Imap, A, "guess9", bad, T0),
        Err(Error::IpBlocked { until })
    );
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, bad, T0.plus(3599)),
        Err(Error::IpBlocked { until })
    );
    // Other addresses are not affected; the block expires.
    assert!(
        s.authenticate(Protocol::Imap, A, PW, ip("203.0.113.67"), T0)
            .is_ok()
    );
    assert!(s.authenticate(Protocol::Imap, A, PW, bad, until).is_ok());
    let blocks = s.blocks(T0);
    assert!(blocks.is_empty(), "expired block was dropped when checked");
}

#[test]
fn a_phone_repeating_an_old_password_is_not_blocked() {
    let (s, _) = service();
    user(&s, A);
    let phone = ip("198.51.100.5");
    for _ in 0..50 {
        assert_eq!(
            s.authenticate(Protocol::Imap, A, "old password", phone, T0),
            Err(Error::WrongCredentials)
        );
    }
    assert!(s.authenticate(Protocol::Imap, A, PW, phone, T0).is_ok());
}

#[test]
fn success_resets_the_count_and_admins_can_lift_blocks() {
    let (s, _) = service();
    user(&s, A);
    let i = ip("198.51.100.6");
    for round in 0..3 {
        for k in 0..9 {
            let _ = s.authenticate(Protocol::Imap, A, &format!("r{round}k{k}"), i, T0);
        }
        assert!(s.authenticate(Protocol::Imap, A, PW, i, T0).is_ok());
    }
    for k in 0..10 {
        let _ = s.authenticate(Protocol::Imap, A, &format!("x{k}"), i, T0);
    }
    let listed = s.blocks(T0);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].network.to_string(), "198.51.100.6/32");
    assert!(s.lift_block(i));
    assert!(s.authenticate(Protocol::Imap, A, PW, i, T0).is_ok());
}

#[test]
fn allow_listed_networks_are_never_blocked() {
    let mut c = Config::insecure_fast_for_tests();
    c.block.allow.push("10.0.0.0/8".parse().unwrap());
    let (s, _) = service_with(c);
    user(&s, A);
    for k in 0..30 {
        let _ = s.authenticate(Protocol::Imap, A, &format!("x{k}"), ip("10.9.9.9"), T0);
    }
    assert!(
        s.authenticate(Protocol::Imap, A, PW, ip("10.9.9.9"), T0)
            .is_ok()
    );
}

#[test]
fn app_passwords_need_2fa_and_replace_the_password_on_protocols() {
    let (s, out) = service();
    user(&s, A);
    let i = ip("192.0.2.1");
    assert_eq!(
        s.create_app_password(A, "iPhone", ProtocolSet::ALL, T0),
        Err(Error::TwoFactorNotEnabled)
    );
    bind_sms(&s, &out, A, "+86 138 0013 8000", T0);
    // 2FA on: the account password no longer works for mail clients (C1)...
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, i, T0),
        Err(Error::AppPasswordRequired)
    );
    // ...but a wrong one still says only "wrong".
    assert_eq!(
        s.authenticate(Protocol::Imap, A, "wrong", i, T0),
        Err(Error::WrongCredentials)
    );
    let secret = s
        .create_app_password(A, "iPhone Mail", ProtocolSet::ALL, T0)
        .unwrap();
    let shown = secret.expose().to_string();
    assert_eq!(shown.len(), 19, "four groups of four: {shown}");
    assert_eq!(format!("{secret:?}"), "<redacted>");
    let p = s
        .authenticate(Protocol::Imap, A, &shown, i, T0.plus(60))
        .unwrap();
    assert_eq!(
        p.credential,
        CredentialUsed::AppPassword {
            name: "iPhone Mail".into()
        }
    );
    // Pasted without spaces, in upper case, with hyphens.
    let compact: String = shown.split(' ').collect();
    assert!(
        s.authenticate(Protocol::Smtp, A, &compact.to_uppercase(), i, T0)
            .is_ok()
    );
    assert!(
        s.authenticate(Protocol::Pop3, A, &shown.replace(' ', "-"), i, T0)
            .is_ok()
    );
    // Listing shows the name and last use, never the secret.
    let list = s.app_passwords(A).unwrap();
    assert_eq!(list.len(), 1);
    let used = list[0].last_used.as_ref().unwrap();
    assert_eq!((used.protocol, used.ip, used.at), (Protocol::Pop3, i, T0));
    // Same IP and protocol within 5 minutes: not rewritten; after that, or elsewhere: updated.
    s.authenticate(Protocol::Pop3, A, &shown, i, T0.plus(299))
        .unwrap();
    assert_eq!(
        s.app_passwords(A).unwrap()[0]
            .last_used
            .as_ref()
            .unwrap()
            .at,
        T0
    );
    s.authenticate(Protocol::Pop3, A, &shown, i, T0.plus(300))
        .unwrap();
    assert_eq!(
        s.app_passwords(A).unwrap()[0]
            .last_used
            .as_ref()
            .unwrap()
            .at,
        T0.plus(300)
    );
    let other = ip("198.51.100.77");
    s.authenticate(Protocol::Pop3, A, &shown, other, T0.plus(301))
        .unwrap();
    assert_eq!(
        s.app_passwords(A).unwrap()[0]
            .last_used
            .as_ref()
            .unwrap()
            .ip,
        other
    );
    assert!(!format!("{list:?}").contains(&compact));
    // Another account cannot use it.
    user(&s, "li.si@example.edu.cn");
    assert_eq!(
        s.authenticate(Protocol::Imap, "li.si@example.edu.cn", &shown, i, T0),
        Err(Error::WrongCredentials)
    );
}

#[test]
fn app_password_names_limits_scope_and_removal() {
    let mut c = Config::insecure_fast_for_tests();
    c.max_app_passwords = 3;
    let (s, out) = service_with(c);
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let i = ip("192.0.2.1");
    let imap_only = ProtocolSet::of(&[Protocol::Imap]).unwrap();
    let a = s.create_app_password(A, "Foxmail", imap_only, T0).unwrap();
    assert_eq!(
        s.create_app_password(A, " Foxmail ", ProtocolSet::ALL, T0),
        Err(Error::AppPasswordNameTaken("Foxmail".into()))
    );
    assert_eq!(
        s.create_app_password(A, "  ", ProtocolSet::ALL, T0),
        Err(Error::InvalidAppPasswordName)
    );
    let b = s
        .create_app_password(A, "Outlook", ProtocolSet::ALL, T0)
        .unwrap();
    s.create_app_password(A, "Huawei", ProtocolSet::ALL, T0)
        .unwrap();
    assert_eq!(
        s.create_app_password(A, "Fourth", ProtocolSet::ALL, T0),
        Err(Error::TooManyAppPasswords { max: 3 })
    );
    assert!(s.authenticate(Protocol::Imap, A, a.expose(), i, T0).is_ok());
    assert_eq!(
        s.authenticate(Protocol::Smtp, A, a.expose(), i, T0),
        Err(Error::AppPasswordNotForProtocol {
            protocol: Protocol::Smtp
        })
    );
    s.remove_app_password(A, "Foxmail").unwrap();
    assert_eq!(
        s.authenticate(Protocol::Imap, A, a.expose(), i, T0),
        Err(Error::WrongCredentials)
    );
    assert_eq!(
        s.remove_app_password(A, "Foxmail"),
        Err(Error::NoSuchAppPassword("Foxmail".into()))
    );
    assert_eq!(s.remove_all_app_passwords(A).unwrap(), 2);
    assert_eq!(
        s.authenticate(Protocol::Imap, A, b.expose(), i, T0),
        Err(Error::WrongCredentials)
    );
}

#[test]
fn password_reset_revokes_app_passwords_by_default() {
    let (s, out) = service();
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let a = s
        .create_app_password(A, "Phone", ProtocolSet::ALL, T0)
        .unwrap();
    s.reset_password(A, "Reset!Pass-77x", T0).unwrap();
    assert!(s.app_passwords(A).unwrap().is_empty());
    assert_eq!(
        s.authenticate(Protocol::Imap, A, a.expose(), ip("192.0.2.1"), T0),
        Err(Error::WrongCredentials)
    );

    let mut c = Config::insecure_fast_for_tests();
    c.revoke_app_passwords_on_reset = false;
    let (s, out) = service_with(c);
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    s.create_app_password(A, "Phone", ProtocolSet::ALL, T0)
        .unwrap();
    s.reset_password(A, "Reset!Pass-77x", T0).unwrap();
    assert_eq!(s.app_passwords(A).unwrap().len(), 1);
}

#[test]
fn restricted_accounts_log_in_but_get_no_reset() {
    let (s, _) = service();
    user(&s, A);
    s.set_state(A, AccountState::Restricted).unwrap();
    let p = s
        .authenticate(Protocol::Smtp, A, PW, ip("192.0.2.1"), T0)
        .unwrap();
    assert_eq!(p.state, AccountState::Restricted);
    assert!(p.may_send_to(&"x@example.edu.cn".parse().unwrap()));
    assert!(!p.may_send_to(&"x@other.cn".parse().unwrap()));
    assert!(matches!(
        s.reset_password(A, "Reset!Pass-77x", T0),
        Err(Error::AccountRestricted(_))
    ));
}

#[test]
fn forced_2fa_by_domain_requires_app_passwords() {
    let (s, _) = service();
    user(&s, A);
    s.set_domain_policy(
        "example.edu.cn",
        DomainPolicy {
            force_two_factor: true,
        },
    )
    .unwrap();
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, ip("192.0.2.1"), T0),
        Err(Error::AppPasswordRequired)
    );
    s.set_domain_policy("example.edu.cn", DomainPolicy::default())
        .unwrap();
    s.set_force_two_factor(A, true).unwrap();
    assert_eq!(
        s.authenticate(Protocol::Imap, A, PW, ip("192.0.2.1"), T0),
        Err(Error::AppPasswordRequired)
    );
}

#[test]
fn new_place_raises_one_alert() {
    let (s, _) = service();
    let loc =
        CidrLocator::parse("198.51.100.0/24 CN/Beijing\n203.0.113.0/24 US/California").unwrap();
    let s = s.with_locator(Arc::new(loc));
    user(&s, A);
    s.authenticate(Protocol::Imap, A, PW, ip("198.51.100.1"), T0)
        .unwrap();
    assert_eq!(s.poll_alert(), None, "the first place is the baseline");
    s.authenticate(Protocol::Imap, A, PW, ip("198.51.100.2"), T0)
        .unwrap();
    assert_eq!(s.poll_alert(), None);
    s.authenticate(Protocol::Smtp, A, PW, ip("203.0.113.9"), T0.plus(5))
        .unwrap();
    match s.poll_alert() {
        Some(Alert::NewPlace {
            account,
            place,
            ip: at_ip,
            ..
        }) => {
            assert_eq!(account.as_str(), A);
            assert_eq!(place.as_str(), "US/California");
            assert_eq!(at_ip, ip("203.0.113.9"));
        }
        other => panic!("expected an alert, got {other:?}"),
    }
    // A failure from a new place alerts nobody.
    let _ = s.authenticate(Protocol::Smtp, A, "wrong", ip("203.0.113.10"), T0);
    assert_eq!(s.poll_alert(), None);
    assert_eq!(s.account(A).unwrap().known_places().len(), 2);
    let log = s.login_log(Some(A), 1).unwrap();
    assert_eq!(log[0].place.as_ref().unwrap().as_str(), "US/California");
}

#[test]
fn password_policy_is_enforced_on_create_and_change() {
    let (s, _) = service();
    for bad in ["short1!", "password123", "Zhang.San-1987!", "Abc123456789!"] {
        let e = s.create_account(NewAccount::new(A, bad), T0).unwrap_err();
        assert!(matches!(e, Error::WeakPassword(_)), "{bad}: {e}");
    }
    let mut d = NewAccount::new("doc@court.example.cn", "Tq9!vLm2#pR");
    d.kind = AccountKind::Delivery;
    assert!(matches!(
        s.create_account(d.clone(), T0),
        Err(Error::WeakPassword(auth2fa::PolicyViolation::TooShort {
            min: 12
        }))
    ));
    d.password = "Tq9!vLm2#pRzW".into();
    s.create_account(d, T0).unwrap();
    user(&s, A);
    assert_eq!(
        s.change_password(A, "not it", "Whatever!9x", T0),
        Err(Error::WrongCurrentPassword)
    );
    assert!(matches!(
        s.change_password(A, PW, PW, T0),
        Err(Error::WeakPassword(auth2fa::PolicyViolation::SameAsCurrent))
    ));
    assert!(matches!(
        s.create_account(NewAccount::new(A, PW), T0),
        Err(Error::AccountExists(_))
    ));
}

#[test]
fn oversized_secrets_are_refused_without_hashing() {
    let (s, _) = service();
    user(&s, A);
    let huge = "x".repeat(auth2fa::MAX_SECRET_BYTES + 1);
    assert_eq!(
        s.authenticate(Protocol::Imap, A, &huge, ip("192.0.2.1"), T0),
        Err(Error::WrongCredentials)
    );
}

#[test]
fn delete_and_list_accounts() {
    let (s, _) = service();
    user(&s, "b@x.cn");
    user(&s, "a@x.cn");
    let names: Vec<String> = s
        .accounts()
        .unwrap()
        .iter()
        .map(|a| a.address().to_string())
        .collect();
    assert_eq!(names, ["a@x.cn", "b@x.cn"]);
    s.delete_account("a@x.cn").unwrap();
    assert!(matches!(
        s.delete_account("a@x.cn"),
        Err(Error::NoSuchAccount(_))
    ));
    assert_eq!(
        s.authenticate(Protocol::Imap, "a@x.cn", PW, ip("192.0.2.1"), T0),
        Err(Error::WrongCredentials)
    );
}

#[test]
fn audit_log_records_admin_actions() {
    let (s, _) = service();
    for (i, action) in ["account.create", "account.delete"].iter().enumerate() {
        s.record_admin_action(auth2fa::AuditEvent {
            at: Timestamp(T0.0 + i as u64),
            admin: "root".into(),
            action: action.to_string(),
            target: A.into(),
            details: String::new(),
            result: auth2fa::AuditResult::Ok,
        })
        .unwrap();
    }
    let log = s.audit_log(10).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "account.delete", "newest first");
}

#[test]
fn default_argon2_parameters_work_end_to_end() {
    let (s, _) = service_with(Config::default());
    user(&s, A);
    let h = s.account(A).unwrap();
    assert!(format!("{h:?}").contains("PasswordHash(<redacted>)"));
    assert!(
        s.authenticate(Protocol::Imap, A, PW, ip("192.0.2.1"), T0)
            .is_ok()
    );
}
