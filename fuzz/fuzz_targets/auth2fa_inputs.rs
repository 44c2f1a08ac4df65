#![no_main]
//! Every auth2fa function that takes untrusted strings, checking properties, not just
//! absence of panics: addresses, CIDR networks, places, region rules, locator tables, phone
//! numbers, app passwords (spaces, case), password policy, TOTP / SMS codes, web tickets,
//! trusted-device tokens, and `authenticate` (only the right secrets get in; a blocked IP
//! never does).
use std::net::IpAddr;
use std::sync::Arc;

use arbitrary::Arbitrary;
use auth2fa::{
    Address, AuthService, CidrLocator, Config, Error, FactorId, MemoryStore, Network, NewAccount,
    PasswordPolicy, Place, Protocol, ProtocolSet, RegionRule, SeededRandom, ServerKey, Timestamp,
    WebStep, normalize_app_password, normalize_phone,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Auth {
        login: String,
        secret: String,
        ip: u8,
        proto: u8,
    },
    AuthRight {
        ip: u8,
    },
    AuthApp {
        ip: u8,
        mangle: u8,
    },
    Web {
        login: String,
        secret: String,
        token: String,
    },
    WebTicket {
        ticket: String,
        code: String,
    },
    Wait(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    other: String,
    ops: Vec<Op>,
}

const USER: &str = "fuzz@example.cn";
const PW: &str = "Tq9!vLm2#pRz";

fn check_parsers(text: &str, other: &str) {
    if let Ok(a) = Address::parse(text) {
        assert_eq!(Address::parse(a.as_str()).as_ref(), Ok(&a));
        assert!(
            !a.as_str()
                .chars()
                .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
        );
        assert!(a.as_str().len() <= 254);
    }
    if let Ok(n) = Network::parse(text) {
        assert_eq!(Network::parse(&n.to_string()).ok(), Some(n));
        assert!(n.contains(n.addr()));
    }
    if let Ok(p) = Place::parse(text) {
        assert_eq!(Place::parse(p.as_str()).ok(), Some(p.clone()));
        assert!(p.is_within(&p));
    }
    if let Ok(r) = RegionRule::parse(text) {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        if r.is_unrestricted() {
            assert!(r.allows(ip, None));
        }
        for n in &r.networks {
            assert!(r.allows(n.addr(), None));
        }
        for p in &r.places {
            assert!(r.allows(ip, Some(p)));
        }
    }
    if let Ok(t) = CidrLocator::parse(text) {
        use auth2fa::Locator;
        for ip in ["10.0.0.1", "::1", "192.0.2.200"] {
            let _ = t.locate(ip.parse().unwrap());
        }
    }
    if let Ok(p) = normalize_phone(text) {
        assert_eq!(normalize_phone(&p).ok(), Some(p.clone()));
    }
    if let Some(n) = normalize_app_password(text) {
        let s = std::str::from_utf8(&n).unwrap();
        assert_eq!(normalize_app_password(&s.to_uppercase()), Some(n));
    }
    let policy = PasswordPolicy::default();
    if policy.check(text, other, false).is_ok() {
        let len = text.chars().count();
        assert!((policy.min_length..=policy.max_length).contains(&len));
        assert!(!auth2fa::is_common_password(text));
    }
}

fuzz_target!(|input: Input| {
    check_parsers(&input.text, &input.other);
    check_parsers(&input.other, &input.text);

    let auth = AuthService::new(
        MemoryStore::new(),
        ServerKey::from_bytes([1; 32]),
        Config::insecure_fast_for_tests(),
    )
    .unwrap()
    .with_random(Arc::new(SeededRandom::new(1)));
    let mut n = NewAccount::new(USER, PW);
    n.must_change_password = false;
    let now0 = Timestamp(1_800_000_000);
    auth.create_account(n, now0).unwrap();
    let mut now = now0;

    // Blocked until, per address, as observed.
    let mut blocked: [Option<Timestamp>; 4] = [None; 4];
    let ip_of = |b: u8| -> IpAddr { IpAddr::from([203, 0, 113, b % 4]) };
    let mut app: Option<String> = None;
    let mut two_factor = false;
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Wait(d) => now = now.plus(u64::from(d)),
            Op::Auth {
                login,
                secret,
                ip,
                proto,
            } => {
                let proto =
                    [Protocol::Imap, Protocol::Pop3, Protocol::Smtp][usize::from(proto % 3)];
                let r = auth.authenticate(proto, &login, &secret, ip_of(ip), now);
                let k = usize::from(ip % 4);
                if let Some(u) = blocked[k]
                    && now < u
                {
                    assert_eq!(r, Err(Error::IpBlocked { until: u }));
                }
                match r {
                    Ok(p) => {
                        // Only the right password or the app password gets in.
                        assert_eq!(p.address.as_str(), USER);
                        let via_pw = secret == PW;
                        let via_app = app.as_deref().and_then(normalize_app_password)
                            == normalize_app_password(&secret)
                            && normalize_app_password(&secret).is_some();
                        assert!(via_pw || via_app);
                    }
                    Err(Error::IpBlocked { until }) => blocked[k] = Some(until),
                    Err(_) => {}
                }
            }
            Op::AuthRight { ip } => {
                let k = usize::from(ip % 4);
                let r = auth.authenticate(Protocol::Imap, USER, PW, ip_of(ip), now);
                match (blocked[k], r) {
                    (Some(u), r) if now < u => assert_eq!(r, Err(Error::IpBlocked { until: u })),
                    (_, Ok(_)) => assert!(!two_factor),
                    (_, Err(Error::AppPasswordRequired)) => assert!(two_factor),
                    // With 2FA on, the account password is refused and counts as a failure
                    // (no oracle), so it may be the one that starts a block.
                    (_, Err(Error::IpBlocked { until })) if two_factor => {
                        assert_eq!(until, now.plus(3600));
                        blocked[k] = Some(until);
                    }
                    (_, r) => panic!("{r:?}"),
                }
            }
            Op::AuthApp { ip, mangle } => {
                if app.is_none() {
                    // App passwords need a factor: bind TOTP with the app's current code.
                    if let Ok(auth2fa::BindStart::Totp(en)) =
                        auth.begin_bind_factor(USER, auth2fa::FactorTarget::Totp, now)
                    {
                        let code = auth2fa::totp_code(en.secret_base32.expose(), now).unwrap();
                        if auth.confirm_bind_factor(USER, &code, now).is_ok() {
                            two_factor = true;
                            app = auth
                                .create_app_password(USER, "fuzz", ProtocolSet::ALL, now)
                                .ok()
                                .map(|s| s.expose().to_string());
                        }
                    }
                }
                if let Some(a) = &app {
                    let k = usize::from(ip % 4);
                    let shown = match mangle % 3 {
                        0 => a.clone(),
                        1 => a.to_uppercase(),
                        _ => a.replace(' ', ""),
                    };
                    let r = auth.authenticate(Protocol::Smtp, USER, &shown, ip_of(ip), now);
                    match blocked[k] {
                        Some(u) if now < u => assert_eq!(r, Err(Error::IpBlocked { until: u })),
                        _ => assert!(r.is_ok(), "{r:?}"),
                    }
                }
            }
            Op::Web {
                login,
                secret,
                token,
            } => {
                let r = auth.web_login(&login, &secret, ip_of(0), Some(&token), now);
                if let Ok(WebStep::Done(s)) = &r {
                    assert_eq!(s.principal.address.as_str(), USER);
                    assert_eq!(secret, PW);
                }
                if let Err(Error::IpBlocked { until }) = r {
                    blocked[0] = Some(until);
                }
            }
            Op::WebTicket { ticket, code } => {
                // Forged tickets never pass.
                assert!(
                    auth.web_verify_factor(&ticket, FactorId(1), &code, None, now)
                        .is_err()
                );
                assert!(auth.web_change_password(&ticket, &code, now).is_err());
            }
        }
    }
    let (counters, blocks, _) = auth.block_table_stats();
    assert!(counters <= 4 && blocks <= 4);
});
