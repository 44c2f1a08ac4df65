//! Second factors: TOTP, sent codes, recovery codes, binding policy and changes.

mod common;
use common::*;

use auth2fa::{
    BindStart, CodePurpose, Config, DomainPolicy, Error, FactorKind, FactorTarget, Timestamp,
};
use totp_rs::{Algorithm, Secret, TOTP};

const A: &str = "li.si@example.edu.cn";

fn app(secret_b32: &str) -> TOTP {
    let key = Secret::Encoded(secret_b32.to_string()).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, key, None, String::new())
}

#[test]
fn totp_enrolment_verification_and_replay() {
    let (s, _) = service();
    user(&s, A);
    let BindStart::Totp(en) = s.begin_bind_factor(A, FactorTarget::Totp, T0).unwrap() else {
        panic!("expected a TOTP enrolment");
    };
    assert!(en.otpauth_url.expose().starts_with("otpauth://totp/"));
    assert!(en.otpauth_url.expose().contains("issuer=Mail"));
    assert_eq!(&en.qr_png[..8], b"\x89PNG\r\n\x1a\n");
    let t = app(en.secret_base32.expose());
    // A wrong first code does not bind.
    assert!(
        matches!(
            s.confirm_bind_factor(A, "000000", T0),
            Err(Error::WrongCode { .. }) | Err(Error::NoCodePending)
        ) || t.generate(T0.0) == "000000"
    );
    let code = t.generate(T0.0);
    let bound = s.confirm_bind_factor(A, &code, T0).unwrap();
    assert_eq!(bound.info.kind, FactorKind::Totp);
    assert_eq!(bound.recovery_codes.len(), 10);
    let id = bound.info.id;
    // The enrolment code cannot be replayed as a login confirmation.
    assert_eq!(
        s.confirm_current_factor(A, Some(id), &code, T0),
        Err(Error::CodeReplayed)
    );
    // The next step's code works once, with one step of skew.
    let later = Timestamp(T0.0 + 30);
    let next = t.generate(later.0);
    s.confirm_current_factor(A, Some(id), &next, Timestamp(later.0 + 29))
        .unwrap();
    assert_eq!(
        s.confirm_current_factor(A, Some(id), &next, later),
        Err(Error::CodeReplayed)
    );
    // Two steps late is too late.
    let old_step = Timestamp(T0.0 + 300);
    let stale = t.generate(old_step.0);
    let much_later = Timestamp(old_step.0 + 90);
    if t.generate(much_later.0) != stale
        && t.generate(much_later.0 - 30) != stale
        && t.generate(much_later.0 + 30) != stale
    {
        assert!(matches!(
            s.confirm_current_factor(A, Some(id), &stale, much_later),
            Err(Error::WrongCode { .. })
        ));
    }
    // Nothing is sent for an authenticator app.
    assert_eq!(s.send_confirm_code(A, id, T0), Err(Error::NothingToSend));
    // A second authenticator cannot be bound.
    assert!(
        s.begin_bind_factor(A, FactorTarget::Totp, much_later)
            .is_err()
    );
}

#[test]
fn sms_codes_expire_after_five_minutes() {
    let (s, out) = service();
    user(&s, A);
    s.begin_bind_factor(A, FactorTarget::Sms("13800138000".into()), T0)
        .unwrap();
    let code = out.last_code();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        s.confirm_bind_factor(A, &code, T0.plus(300)),
        Err(Error::CodeExpired)
    );
    assert_eq!(
        s.confirm_bind_factor(A, &code, T0.plus(301)),
        Err(Error::NoCodePending)
    );
}

#[test]
fn resend_is_throttled_to_fifteen_seconds() {
    let (s, out) = service();
    user(&s, A);
    let target = || FactorTarget::Sms("13800138000".into());
    s.begin_bind_factor(A, target(), T0).unwrap();
    assert_eq!(
        s.begin_bind_factor(A, target(), T0.plus(14)).unwrap_err(),
        Error::ResendTooSoon {
            retry_at: T0.plus(15)
        }
    );
    assert_eq!(out.count(), 1);
    s.begin_bind_factor(A, target(), T0.plus(15)).unwrap();
    assert_eq!(out.count(), 2);
    // Only the newest code is valid.
    let newest = out.last_code();
    let first = out.0.lock().unwrap()[0].2.clone();
    if first != newest {
        assert!(matches!(
            s.confirm_bind_factor(A, &first, T0.plus(16)),
            Err(Error::WrongCode { .. })
        ));
    }
    assert!(s.confirm_bind_factor(A, &newest, T0.plus(16)).is_ok());
}

#[test]
fn five_wrong_tries_burn_the_code() {
    let (s, out) = service();
    user(&s, A);
    s.begin_bind_factor(A, FactorTarget::WeChat("wx_lisi".into()), T0)
        .unwrap();
    let right = out.last_code();
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    for remaining in (1..5).rev() {
        assert_eq!(
            s.confirm_bind_factor(A, wrong, T0),
            Err(Error::WrongCode { remaining })
        );
    }
    assert_eq!(s.confirm_bind_factor(A, wrong, T0), Err(Error::CodeBurned));
    assert_eq!(
        s.confirm_bind_factor(A, &right, T0),
        Err(Error::NoCodePending),
        "even the right code is gone"
    );
}

#[test]
fn one_phone_per_mailbox_is_a_policy() {
    let (s, out) = service();
    user(&s, A);
    user(&s, "wang.wu@example.edu.cn");
    bind_sms(&s, &out, A, "+86 13800138000", T0);
    assert_eq!(
        s.begin_bind_factor(
            "wang.wu@example.edu.cn",
            FactorTarget::Sms("+86-138-0013-8000".into()),
            T0
        )
        .unwrap_err(),
        Error::FactorBoundElsewhere("phone number")
    );
    let mut c = Config::insecure_fast_for_tests();
    c.unique_phone_binding = false;
    let (s, out) = service_with(c);
    user(&s, A);
    user(&s, "wang.wu@example.edu.cn");
    bind_sms(&s, &out, A, "13800138000", T0);
    bind_sms(&s, &out, "wang.wu@example.edu.cn", "13800138000", T0);
    assert_eq!(s.factors("wang.wu@example.edu.cn").unwrap().len(), 1);
}

#[test]
fn changing_factors_needs_a_code_from_the_current_one() {
    let (s, out) = service();
    user(&s, A);
    let recovery = bind_sms(&s, &out, A, "13800138000", T0);
    let old = s.factors(A).unwrap()[0].clone();
    assert_eq!(old.masked_target, "138****8000");
    // Without proof: refused.
    assert!(matches!(
        s.begin_bind_factor(A, FactorTarget::Sms("13900139000".into()), T0),
        Err(Error::WrongStep { .. })
    ));
    assert!(matches!(
        s.remove_factor(A, old.id, T0),
        Err(Error::WrongStep { .. })
    ));
    // Prove control of the current phone, bind the new one, remove the old one.
    s.send_confirm_code(A, old.id, T0).unwrap();
    assert_eq!(
        out.0.lock().unwrap().last().unwrap().3,
        CodePurpose::Confirm
    );
    s.confirm_current_factor(A, Some(old.id), &out.last_code(), T0)
        .unwrap();
    s.begin_bind_factor(A, FactorTarget::Sms("13900139000".into()), T0)
        .unwrap();
    let bound = s.confirm_bind_factor(A, &out.last_code(), T0).unwrap();
    assert!(bound.recovery_codes.is_empty(), "not the first factor");
    s.remove_factor(A, old.id, T0).unwrap();
    let now = s.factors(A).unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].masked_target, "139****9000");
    // The proof expires with the code lifetime.
    assert!(matches!(
        s.remove_factor(A, now[0].id, T0.plus(301)),
        Err(Error::WrongStep { .. })
    ));
    // A recovery code is also a proof, and works once.
    let rc = recovery[0].expose().to_string();
    s.confirm_current_factor(A, None, &rc, T0.plus(400))
        .unwrap();
    assert!(
        s.confirm_current_factor(A, None, &rc, T0.plus(400))
            .is_err()
    );
    assert_eq!(s.account(A).unwrap().recovery_codes_left(), 9);
    let fresh = s.regenerate_recovery_codes(A, T0.plus(400)).unwrap();
    assert_eq!(fresh.len(), 10);
    assert_eq!(s.account(A).unwrap().recovery_codes_left(), 10);
}

#[test]
fn the_last_factor_stays_while_2fa_is_forced() {
    let (s, out) = service();
    user(&s, A);
    bind_sms(&s, &out, A, "13800138000", T0);
    let f = s.factors(A).unwrap()[0].id;
    s.set_domain_policy(
        "example.edu.cn",
        DomainPolicy {
            force_two_factor: true,
        },
    )
    .unwrap();
    s.send_confirm_code(A, f, T0).unwrap();
    s.confirm_current_factor(A, Some(f), &out.last_code(), T0)
        .unwrap();
    assert_eq!(s.remove_factor(A, f, T0), Err(Error::LastFactorForced));
    s.set_domain_policy("example.edu.cn", DomainPolicy::default())
        .unwrap();
    s.remove_factor(A, f, T0).unwrap();
    assert_eq!(s.account(A).unwrap().recovery_codes_left(), 0);
}

#[test]
fn invalid_targets_are_refused() {
    let (s, _) = service();
    user(&s, A);
    for t in [
        FactorTarget::Sms("12".into()),
        FactorTarget::Sms("138-abc".into()),
        FactorTarget::WeChat("has space".into()),
        FactorTarget::Email("nobody".into()),
    ] {
        assert!(matches!(
            s.begin_bind_factor(A, t, T0),
            Err(Error::InvalidFactorTarget { .. })
        ));
    }
}

#[test]
fn sender_failures_are_reported() {
    let (s, _) = service();
    let s = s.with_code_sender(std::sync::Arc::new(auth2fa::NoCodeSender));
    user(&s, A);
    let e = s
        .begin_bind_factor(A, FactorTarget::Sms("13800138000".into()), T0)
        .unwrap_err();
    assert!(matches!(e, Error::CodeDelivery(_)));
    assert!(e.is_temporary());
}
