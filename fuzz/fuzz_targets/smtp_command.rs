#![no_main]
//! The command parser: never panics; what it accepts is well formed; its fast paths give
//! exactly what the full grammar (`parse_reference`) gives.
use libfuzzer_sys::fuzz_target;
use smtp_core::{Command, ReversePath, parse_command};

fn clean(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(|c| c.is_control())
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_command(data);
    assert_eq!(parsed, smtp_core::parse_reference(data), "{data:?}");
    let Ok(cmd) = parsed else {
        return;
    };
    match cmd {
        Command::Mail { from, params } => {
            if let ReversePath::Address(a) = &from {
                // A quoted local part may hold '<', '>', '@' and spaces (RFC 5321): only control
                // characters are never allowed, and the domain follows the last '@'.
                assert!(clean(a), "{a:?}");
                assert!(a.contains('@'));
                assert!(!a.ends_with('@'));
            }
            if let Some(e) = &params.envid {
                assert!(smtp_core::params::xtext_decode(e).is_some());
            }
        }
        Command::Rcpt { to, params } => {
            assert!(clean(&to), "{to:?}");
            assert!(to.contains('@') || to.eq_ignore_ascii_case("postmaster"));
            if let Some(o) = &params.orcpt {
                assert!(smtp_core::params::xtext_decode(&o.addr).is_some());
            }
        }
        Command::Ehlo(d) | Command::Helo(d) => {
            assert!(!d.is_empty() && !d.contains(' ') && !d.chars().any(|c| c.is_control()));
        }
        Command::Auth { mechanism, initial } => {
            assert!(!mechanism.is_empty() && mechanism.len() <= 20);
            if let Some(i) = initial {
                assert!(
                    i.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                );
            }
        }
        _ => {}
    }
});
