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
