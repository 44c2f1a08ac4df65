//! Inputs found by fuzzing (fuzz/fuzz_targets/auth2fa_inputs.rs), kept as regression tests.

mod common;
use common::*;

use auth2fa::{Address, CidrLocator, Network, Place, Protocol, RegionRule};

#[test]
fn odd_inputs_do_not_panic() {
    let (s, _) = service();
    user(&s, "a@x.cn");
    for input in [
        "",
        "@",
        "@@",
        "a@",
        "@b",
        "a@b@c",
        "\u{0}@x.cn",
        "ä@x.cn",
        "a@x.cn\u{feff}",
        "a@.",
        "a@-",
        "a@x.cn ",
        " a@x.cn",
        "A@X.CN",
    ] {
        let _ = Address::parse(input);
        let _ = Network::parse(input);
        let _ = Place::parse(input);
        let _ = RegionRule::parse(input);
        let _ = CidrLocator::parse(input);
        let _ = s.authenticate(Protocol::Imap, input, input, ip("192.0.2.1"), T0);
        let _ = s.web_login(input, input, ip("192.0.2.2"), Some(input), T0);
    }
    assert!(
        s.authenticate(Protocol::Imap, " A@X.CN ", PW, ip("192.0.2.3"), T0)
            .is_ok()
    );
}

/// fuzz crash-824e7c4a: with 2FA on, the right account password is refused over IMAP and
/// counts as a (distinct) failure, so after nine other failures it is the one that starts the
/// block. Without 2FA the same sequence logs in and resets the count.
#[test]
fn refused_right_password_can_start_a_block() {
    let (s, out) = service();
    user(&s, "a@x.cn");
    let i = ip("203.0.113.1");
    for k in 0..9 {
        let _ = s.authenticate(Protocol::Imap, "a@x.cn", &format!("w{k}"), i, T0);
    }
    assert!(s.authenticate(Protocol::Imap, "a@x.cn", PW, i, T0).is_ok());

    bind_sms(&s, &out, "a@x.cn", "13800138000", T0);
    for k in 0..9 {
        let _ = s.authenticate(Protocol::Imap, "a@x.cn", &format!("w{k}"), i, T0);
    }
    assert_eq!(
        s.authenticate(Protocol::Imap, "a@x.cn", PW, i, T0),
        Err(auth2fa::Error::IpBlocked {
            until: T0.plus(3600)
        })
    );
}
