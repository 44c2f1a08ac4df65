//! The web login state machine and trusted devices.

mod common;
use common::*;

use auth2fa::{
    AccountKind, BindStart, CredentialUsed, DomainPolicy, Error, FactorTarget, NewAccount,
    Protocol, ProtocolSet, WebStep,
};

const A: &str = "zhao.liu@example.edu.cn";

fn ticket(step: &WebStep) -> String {
    match step {
        WebStep::SecondFactor { ticket, .. }
        | WebStep::ChangePassword { ticket }
        | WebStep::BindFactor { ticket } => ticket.expose().to_string(),
        WebStep::Done(_) => panic!("login finished early"),
    }
}

#[test]
fn password_only_account_logs_in_directly() {
    let (s, _) = service();
    user(&s, A);
    match s.web_login(A, PW, ip("192.0.2.1"), None, T0).unwrap() {
        WebStep::Done(sess) => {
            assert_eq!(sess.principal.address.as_str(), A);
            assert!(sess.trusted_device_token.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.web_login(A, "wrong", ip("192.0.2.1"), None, T0)
            .unwrap_err(),
        Error::WrongCredentials
    );
}

#[test]
fn second_factor_then_trusted_device_for_seven_days() {
    let (s, out) = service();
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let i = ip("192.0.2.1");
    let step = s.web_login(A, PW, i, None, T0).unwrap();
    let WebStep::SecondFactor {
        factors,
        recovery_codes_left,
        ..
    } = &step
    else {
        panic!("{step:?}")
    };
    assert_eq!(*recovery_codes_left, 10);
    let f = factors[0].id;
    let t = ticket(&step);
    // Wrong step is refused and does not consume the ticket.
    assert!(matches!(
        s.web_change_password(&t, "Whatever!9x", T0),
        Err(Error::WrongStep {
            expected: "second factor"
        })
    ));
    s.web_send_code(&t, f, T0).unwrap();
    let code = out.last_code();
    let done = s
        .web_verify_factor(&t, f, &code, Some("Firefox on Linux"), T0)
        .unwrap();
    let WebStep::Done(sess) = done else { panic!() };
    assert_eq!(
        sess.principal.credential,
        CredentialUsed::SecondFactor {
            kind: auth2fa::FactorKind::Sms
        }
    );
    let token = sess.trusted_device_token.unwrap().expose().to_string();
    // The ticket is used up.
    assert_eq!(
        s.web_verify_factor(&t, f, &code, None, T0).unwrap_err(),
        Error::LoginExpired
    );
    // Within 7 days the browser skips the second factor.
    let later = T0.plus(6 * 86_400);
    match s.web_login(A, PW, i, Some(&token), later).unwrap() {
        WebStep::Done(sess) => assert_eq!(
            sess.principal.credential,
            CredentialUsed::TrustedDevice {
                name: "Firefox on Linux".into()
            }
        ),
        other => panic!("{other:?}"),
    }
    let devices = s.trusted_devices(A, later).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].last_seen, later);
    // After 7 days it asks again.
    assert!(matches!(
        s.web_login(A, PW, i, Some(&token), T0.plus(7 * 86_400))
            .unwrap(),
        WebStep::SecondFactor { .. }
    ));
    // A forged token does nothing; revoking works.
    assert!(matches!(
        s.web_login(A, PW, i, Some("AAAA"), later).unwrap(),
        WebStep::SecondFactor { .. }
    ));
    s.revoke_trusted_device(A, devices[0].id).unwrap();
    assert!(matches!(
        s.web_login(A, PW, i, Some(&token), later).unwrap(),
        WebStep::SecondFactor { .. }
    ));
    assert_eq!(
        s.revoke_trusted_device(A, devices[0].id),
        Err(Error::NoSuchDevice)
    );
}

#[test]
fn app_passwords_survive_losing_trusted_devices() {
    let (s, out) = service();
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let ap = s
        .create_app_password(A, "Phone", ProtocolSet::ALL, T0)
        .unwrap();
    assert_eq!(s.revoke_all_trusted_devices(A).unwrap(), 0);
    assert!(
        s.authenticate(Protocol::Imap, A, ap.expose(), ip("192.0.2.1"), T0)
            .is_ok()
    );
}

#[test]
fn wrong_codes_burn_the_login_ticket() {
    let (s, out) = service();
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let step = s.web_login(A, PW, ip("192.0.2.1"), None, T0).unwrap();
    let WebStep::SecondFactor { factors, .. } = &step else {
        panic!()
    };
    let f = factors[0].id;
    let t = ticket(&step);
    s.web_send_code(&t, f, T0).unwrap();
    let right = out.last_code();
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let mut last = Ok(());
    for _ in 0..5 {
        last = s.web_verify_factor(&t, f, wrong, None, T0).map(|_| ());
    }
    assert!(matches!(
        last,
        Err(Error::LoginExpired) | Err(Error::CodeBurned)
    ));
    assert!(s.web_verify_factor(&t, f, &right, None, T0).is_err());
}

#[test]
fn recovery_code_replaces_the_factor_once() {
    let (s, out) = service();
    user(&s, A);
    let codes = bind_sms(&s, &out, A, "13800138000", T0);
    let rc = codes[3].expose().to_uppercase();
    let step = s.web_login(A, PW, ip("192.0.2.1"), None, T0).unwrap();
    let WebStep::Done(sess) = s.web_use_recovery_code(&ticket(&step), &rc, T0).unwrap() else {
        panic!()
    };
    assert_eq!(sess.principal.credential, CredentialUsed::RecoveryCode);
    let step = s.web_login(A, PW, ip("192.0.2.1"), None, T0).unwrap();
    assert!(s.web_use_recovery_code(&ticket(&step), &rc, T0).is_err());
}

#[test]
fn new_forced_account_changes_password_then_binds_a_factor() {
    let (s, _) = service();
    s.set_domain_policy(
        "example.edu.cn",
        DomainPolicy {
            force_two_factor: true,
        },
    )
    .unwrap();
    s.create_account(NewAccount::new(A, PW), T0).unwrap();
    let i = ip("192.0.2.1");
    let step = s.web_login(A, PW, i, None, T0).unwrap();
    assert!(matches!(step, WebStep::ChangePassword { .. }), "{step:?}");
    let t = ticket(&step);
    assert!(matches!(
        s.web_change_password(&t, "password", T0),
        Err(Error::WeakPassword(_))
    ));
    let step = s.web_change_password(&t, "New!Secret-42x", T0).unwrap();
    assert!(matches!(step, WebStep::BindFactor { .. }), "{step:?}");
    let t = ticket(&step);
    let BindStart::Totp(en) = s.web_begin_bind(&t, FactorTarget::Totp, T0).unwrap() else {
        panic!()
    };
    let key = totp_rs::Secret::Encoded(en.secret_base32.expose().to_string())
        .to_bytes()
        .unwrap();
    let app =
        totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, key, None, String::new());
    let WebStep::Done(sess) = s.web_confirm_bind(&t, &app.generate(T0.0), T0).unwrap() else {
        panic!()
    };
    assert_eq!(sess.recovery_codes.len(), 10);
    assert!(!s.account(A).unwrap().must_change_password());
    // Next time: password then TOTP.
    let step = s
        .web_login(A, "New!Secret-42x", i, None, T0.plus(60))
        .unwrap();
    let WebStep::SecondFactor { factors, .. } = &step else {
        panic!()
    };
    let done = s
        .web_verify_factor(
            &ticket(&step),
            factors[0].id,
            &app.generate(T0.0 + 60),
            None,
            T0.plus(60),
        )
        .unwrap();
    assert!(matches!(done, WebStep::Done(_)));
}

#[test]
fn delivery_accounts_use_the_web_only_with_2fa() {
    let (s, _) = service();
    let mut n = NewAccount::new("doc@court.example.cn", "Tq9!vLm2#pRzW");
    n.kind = AccountKind::Delivery;
    s.create_account(n, T0).unwrap();
    let step = s
        .web_login(
            "doc@court.example.cn",
            "Tq9!vLm2#pRzW",
            ip("192.0.2.1"),
            None,
            T0,
        )
        .unwrap();
    assert!(matches!(step, WebStep::ChangePassword { .. }));
    let step = s
        .web_change_password(&ticket(&step), "Tq9!vLm2#pRzW-new", T0)
        .unwrap();
    assert!(
        matches!(step, WebStep::BindFactor { .. }),
        "2FA is forced for delivery"
    );
}

#[test]
fn tickets_expire() {
    let (s, out) = service();
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let step = s.web_login(A, PW, ip("192.0.2.1"), None, T0).unwrap();
    let WebStep::SecondFactor { factors, .. } = &step else {
        panic!()
    };
    assert_eq!(
        s.web_send_code(&ticket(&step), factors[0].id, T0.plus(600)),
        Err(Error::LoginExpired)
    );
    assert_eq!(
        s.web_send_code("not a ticket", factors[0].id, T0),
        Err(Error::LoginExpired)
    );
}

#[test]
fn web_failures_count_toward_the_block() {
    let (s, _) = service();
    user(&s, A);
    let i = ip("203.0.113.50");
    for k in 0..10 {
        let _ = s.web_login(A, &format!("guess{k}"), i, None, T0);
    }
    assert!(matches!(
        s.web_login(A, PW, i, None, T0),
        Err(Error::IpBlocked { .. })
    ));
    assert!(matches!(
        s.authenticate(Protocol::Imap, A, PW, i, T0),
        Err(Error::IpBlocked { .. })
    ));
    let log = s.login_log(Some(A), 100).unwrap();
    assert!(
        log.iter()
            .all(|e| e.channel == auth2fa::Channel::Web || e.failure.is_some())
    );
}
