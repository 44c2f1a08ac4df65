//! App passwords (client-specific passwords, REQUIREMENTS C1-C3).
//!
//! 16 symbols from a 32-symbol alphabet without look-alikes (80 bits), drawn from the
//! injected [`RandomSource`](crate::RandomSource). Shown once, in four groups of four
//! (`abcd efgh jkmn pqrs`); stored only as an HMAC-SHA256 tag under the server key and the
//! account's address. Input is normalized before checking: spaces, tabs and hyphens are
//! dropped and upper case is folded, so a pasted `ABCD EFGH JKMN PQRS` works.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::account::{Protocol, ProtocolSet};
use crate::secret::Tag;
use crate::time::Timestamp;

/// The 32 symbols: lower-case letters without `l` and `o`, digits without `0` and `1`.
pub const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// Symbols in an app password.
pub const LENGTH: usize = 16;

/// Normalizes user input: drops white space and `-`, folds ASCII upper case. Returns `None`
/// unless the result is exactly 16 symbols of the alphabet (so it cannot be an app password).
pub fn normalize(input: &str) -> Option<[u8; LENGTH]> {
    let mut out = [0u8; LENGTH];
    let mut n = 0;
    for c in input.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        if !c.is_ascii() || n == LENGTH {
            return None;
        }
        let b = (c as u8).to_ascii_lowercase();
        if !ALPHABET.contains(&b) {
            return None;
        }
        out[n] = b;
        n += 1;
    }
    (n == LENGTH).then_some(out)
}

/// Formats a normalized app password in four groups of four for display.
pub(crate) fn display_groups(raw: &str) -> String {
    raw.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks an app password name: 1-64 characters, no control characters, trimmed.
pub(crate) fn valid_name(name: &str) -> Option<String> {
    let n = name.trim();
    (!n.is_empty() && n.chars().count() <= 64 && !n.chars().any(char::is_control))
        .then(|| n.to_string())
}

/// Last use of an app password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// When.
    pub at: Timestamp,
    /// From which IP address.
    pub ip: IpAddr,
    /// Over which protocol.
    pub protocol: Protocol,
}

/// A stored app password (the secret itself is not kept).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AppPasswordRecord {
    pub(crate) name: String,
    pub(crate) tag: Tag,
    pub(crate) created: Timestamp,
    pub(crate) scope: ProtocolSet,
    pub(crate) last_used: Option<Usage>,
}

/// What listing shows of an app password: never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPasswordInfo {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created: Timestamp,
    /// Protocols it may be used for.
    pub scope: ProtocolSet,
    /// Its last successful use.
    pub last_used: Option<Usage>,
}

impl From<&AppPasswordRecord> for AppPasswordInfo {
    fn from(r: &AppPasswordRecord) -> Self {
        AppPasswordInfo {
            name: r.name.clone(),
            created: r.created,
            scope: r.scope,
            last_used: r.last_used.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_has_32_unambiguous_symbols() {
        let mut v = ALPHABET.to_vec();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 32);
        for bad in b"lo01" {
            assert!(!ALPHABET.contains(bad));
        }
    }

    #[test]
    fn normalizes_spaces_case_and_hyphens() {
        let want = *b"abcdefghjkmnpqrs";
        assert_eq!(normalize("abcdefghjkmnpqrs"), Some(want));
        assert_eq!(normalize("ABCD EFGH JKMN PQRS"), Some(want));
        assert_eq!(normalize(" abcd-efgh-jkmn-pqrs\t"), Some(want));
        assert_eq!(normalize("abcdefghjkmnpqr"), None);
        assert_eq!(normalize("abcdefghjkmnpqrst"), None);
        assert_eq!(normalize("abcdefghjkmnpqr0"), None);
        assert_eq!(normalize("abcdefghjkmnpqrß"), None);
        assert_eq!(display_groups("abcdefghjkmnpqrs"), "abcd efgh jkmn pqrs");
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(valid_name("  iPhone Mail "), Some("iPhone Mail".into()));
        assert_eq!(valid_name("   "), None);
        assert_eq!(valid_name("a\nb"), None);
        assert_eq!(valid_name(&"x".repeat(65)), None);
        assert_eq!(valid_name("华为手机"), Some("华为手机".into()));
    }
}
