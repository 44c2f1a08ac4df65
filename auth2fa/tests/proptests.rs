//! Property tests: blocking cannot be bypassed, app passwords verify exactly, parsers of
//! untrusted input never panic and agree with their own output.

mod common;
use common::*;

use auth2fa::{
    Address, BlockPolicy, BlockTable, Error, Network, Protocol, ProtocolSet, RegionRule, Timestamp,
    normalize_app_password,
};
use proptest::prelude::*;
use std::net::IpAddr;

#[derive(Clone, Debug)]
enum Attempt {
    Wrong(u8),
    Right,
    Wait(u16),
}

fn attempt() -> impl Strategy<Value = Attempt> {
    prop_oneof![
        4 => any::<u8>().prop_map(Attempt::Wrong),
        1 => Just(Attempt::Right),
        1 => (0u16..2000).prop_map(Attempt::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// No sequence of attempts lets a blocked IP in: while the table says the IP is blocked,
    /// even the right password is refused with `IpBlocked`, and a block always lasts its full
    /// hour from the failure that started it.
    #[test]
    fn no_sequence_lets_a_blocked_ip_in(seq in proptest::collection::vec(attempt(), 1..60)) {
        let (s, _) = service();
        user(&s, "a@x.cn");
        let i = ip("203.0.113.9");
        let mut now = T0;
        let mut blocked_until: Option<Timestamp> = None;
        let mut distinct_wrong = std::collections::VecDeque::<u8>::new();
        for a in seq {
            let r = match &a {
                Attempt::Wait(d) => { now = now.plus(u64::from(*d)); continue; }
                Attempt::Wrong(k) => s.authenticate(Protocol::Imap, "a@x.cn", &format!("wrong{k}"), i, now),
                Attempt::Right => s.authenticate(Protocol::Imap, "a@x.cn", PW, i, now),
            };
            if let Some(u) = blocked_until && now < u {
                prop_assert_eq!(r.clone(), Err(Error::IpBlocked { until: u }));
                continue;
            }
            match (&a, &r) {
                (_, Err(Error::IpBlocked { until })) => {
                    prop_assert_eq!(*until, now.plus(3600));
                    prop_assert!(matches!(a, Attempt::Wrong(_)), "only a failure starts a block");
                    blocked_until = Some(*until);
                    distinct_wrong.clear();
                }
                (Attempt::Right, r) => { prop_assert!(r.is_ok()); distinct_wrong.clear(); }
                (Attempt::Wrong(k), r) => {
                    prop_assert_eq!(r.clone(), Err(Error::WrongCredentials));
                    if !distinct_wrong.contains(k) { distinct_wrong.push_back(*k); }
                }
                _ => {}
            }
        }
    }

    /// App-password verification accepts exactly the secrets issued and not yet revoked.
    #[test]
    fn app_passwords_verify_exactly(ops in proptest::collection::vec((0u8..3, 0usize..6), 1..25)) {
        let (s, out) = service();
        user(&s, "a@x.cn");
        bind_sms(&s, &out, "a@x.cn", "13800138000", T0);
        let mut live: Vec<(String, String)> = Vec::new();
        let mut revoked: Vec<String> = Vec::new();
        let mut n = 0;
        let i = ip("192.0.2.1");
        for (op, k) in ops {
            match op {
                0 if live.len() < 20 => {
                    n += 1;
                    let name = format!("client{n}");
                    let secret = s.create_app_password("a@x.cn", &name, ProtocolSet::ALL, T0).unwrap();
                    live.push((name, secret.expose().to_string()));
                }
                1 if !live.is_empty() => {
                    let (name, secret) = live.remove(k % live.len());
                    s.remove_app_password("a@x.cn", &name).unwrap();
                    revoked.push(secret);
                }
                _ => {
                    for (name, secret) in &live {
                        let p = s.authenticate(Protocol::Imap, "a@x.cn", secret, i, T0).unwrap();
                        prop_assert_eq!(p.credential, auth2fa::CredentialUsed::AppPassword { name: name.clone() });
                    }
                    for secret in &revoked {
                        prop_assert_eq!(
                            s.authenticate(Protocol::Imap, "a@x.cn", secret, i, T0),
                            Err(Error::WrongCredentials)
                        );
                    }
                    s.lift_block(i);
                }
            }
        }
        prop_assert_eq!(s.app_passwords("a@x.cn").unwrap().len(), live.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn address_parse_is_total_and_idempotent(s in "\\PC{0,80}") {
        if let Ok(a) = Address::parse(&s) {
            prop_assert_eq!(Address::parse(a.as_str()).unwrap(), a.clone());
            prop_assert!(a.as_str().len() <= 254);
            prop_assert_eq!(a.as_str(), format!("{}@{}", a.local(), a.domain()));
        }
    }

    #[test]
    fn address_accepts_generated_valid_ones(local in "[a-z0-9]([a-z0-9_+-]{0,20}[a-z0-9])?", domain in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){0,3}") {
        let s = format!("{local}@{domain}");
        let parsed = Address::parse(&s.to_uppercase()).unwrap();
        prop_assert_eq!(parsed.as_str(), s.as_str());
    }

    #[test]
    fn network_parse_round_trips(s in "\\PC{0,50}") {
        if let Ok(n) = Network::parse(&s) {
            let again = Network::parse(&n.to_string()).unwrap();
            prop_assert_eq!(again, n);
            prop_assert!(n.contains(n.addr()));
        }
    }

    #[test]
    fn networks_contain_exactly_their_prefix(a in any::<u32>(), b in any::<u32>(), p in 0u8..=32) {
        let n = Network::new(IpAddr::from(a.to_be_bytes()), p);
        let mask = if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p)) };
        prop_assert_eq!(n.contains(IpAddr::from(b.to_be_bytes())), a & mask == b & mask);
    }

    #[test]
    fn region_rule_parse_never_panics(s in "\\PC{0,80}", last in any::<u32>()) {
        if let Ok(r) = RegionRule::parse(&s) {
            let _ = r.allows(IpAddr::from(last.to_be_bytes()), None);
        }
    }

    #[test]
    fn app_password_normalization(s in "\\PC{0,40}") {
        if let Some(n) = normalize_app_password(&s) {
            prop_assert!(n.iter().all(|b| auth2fa::APP_PASSWORD_ALPHABET.contains(b)));
            let again = normalize_app_password(std::str::from_utf8(&n).unwrap());
            prop_assert_eq!(again, Some(n));
            let spaced = std::str::from_utf8(&n).unwrap().to_uppercase().chars()
                .flat_map(|c| [c, ' ']).collect::<String>();
            prop_assert_eq!(normalize_app_password(&spaced), Some(n));
        }
    }

    #[test]
    fn password_policy_never_panics(pw in "\\PC{0,140}", local in "[a-z.]{0,12}") {
        let p = auth2fa::PasswordPolicy::default();
        let _ = p.check(&pw, &local, false);
        let _ = p.check(&pw, &local, true);
    }

    /// Block-table model: blocked exactly when `threshold` distinct wrong fingerprints arrived
    /// since the last success, within the forget window.
    #[test]
    fn block_table_matches_a_model(ops in proptest::collection::vec(prop_oneof![
        (1u32..8).prop_map(Some), Just(None)], 1..80)) {
        let policy = BlockPolicy { threshold: 4, ..BlockPolicy::default() };
        let mut t = BlockTable::new(policy);
        let a = ip("192.0.2.44");
        let now = T0;
        let mut recent: Vec<u32> = Vec::new();
        let mut count = 0;
        let mut blocked = false;
        for op in ops {
            match op {
                Some(fp) if !blocked => {
                    let r = t.record_failure(a, fp, "x", now);
                    if !recent.contains(&fp) {
                        recent.insert(0, fp);
                        recent.truncate(4);
                        count += 1;
                    }
                    if count >= 4 {
                        prop_assert_eq!(r, Some(now.plus(3600)));
                        blocked = true;
                    } else {
                        prop_assert_eq!(r, None);
                    }
                }
                None if !blocked => { t.record_success(a); recent.clear(); count = 0; }
                _ => {}
            }
            prop_assert_eq!(t.blocked_until(a, now).is_some(), blocked);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The no-password-oracle rule: for any account configuration, the answer to a wrong
    /// secret is either `WrongCredentials` or exactly the answer the right secret gets, and
    /// the latter only for facts that do not depend on the secret.
    #[test]
    fn failures_never_reveal_a_right_password(
        state in 0u8..3, delivery: bool, region_denied: bool, must_change: bool,
        forced: bool, proto in 0u8..3, wrong in "[ -~]{0,20}",
    ) {
        prop_assume!(wrong != PW);
        let (s, _) = service();
        let a = "a@x.cn";
        user(&s, a);
        s.set_state(a, [auth2fa::AccountState::Active, auth2fa::AccountState::Restricted,
            auth2fa::AccountState::Banned][usize::from(state)]).unwrap();
        if delivery { s.set_kind(a, auth2fa::AccountKind::Delivery).unwrap(); }
        if region_denied { s.set_region_rule(a, RegionRule::parse("10.0.0.0/8").unwrap()).unwrap(); }
        s.set_must_change_password(a, must_change).unwrap();
        s.set_force_two_factor(a, forced).unwrap();
        let proto = Protocol::ALL[usize::from(proto)];
        let right = s.authenticate(proto, a, PW, ip("192.0.2.1"), T0);
        let wrong_r = s.authenticate(proto, a, &wrong, ip("192.0.2.2"), T0);
        match &right {
            Err(Error::Banned) | Err(Error::ProtocolNotAllowed { .. }) | Err(Error::RegionNotAllowed) => {
                prop_assert_eq!(&wrong_r, &right);
            }
            _ => prop_assert_eq!(&wrong_r, &Err(Error::WrongCredentials)),
        }
        // And the right secret's answer is the one the configuration calls for.
        let expected = if state == 2 { Err(Error::Banned) }
            else if delivery { Err(Error::ProtocolNotAllowed { kind: auth2fa::AccountKind::Delivery, protocol: proto }) }
            else if region_denied { Err(Error::RegionNotAllowed) }
            else if must_change { Err(Error::MustChangePassword) }
            else if forced { Err(Error::AppPasswordRequired) }
            else { Ok(()) };
        prop_assert_eq!(right.map(|_| ()), expected);
    }
}
