//! Login names: full e-mail addresses, normalized to lower case.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an acceptable login or account address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `@domain` part (REQUIREMENTS P2: the part before `@` alone is refused).
    #[error("use the full e-mail address (user@domain), not just the user name")]
    NotFullAddress,
    /// Malformed.
    #[error("{0}")]
    Invalid(&'static str),
}

/// A full e-mail address used as an account name: `local@domain`, ASCII, lower case.
///
/// Local part: 1-64 of `a-z 0-9 . _ + -`, not starting or ending with `.` and without `..`.
/// Domain: dot-separated labels of `a-z 0-9 -` (1-63 each, no leading or trailing `-`).
/// At most 254 characters in all. Parsing trims surrounding white space and lower-cases.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address {
    full: String,
    at: usize,
}

impl Address {
    /// Parses and normalizes an address.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim();
        let Some(at) = s.rfind('@') else {
            return Err(AddressError::NotFullAddress);
        };
        let full = s.to_ascii_lowercase();
        let (local, domain) = (&full[..at], &full[at + 1..]);
        if full.len() > 254 {
            return Err(AddressError::Invalid("address longer than 254 characters"));
        }
        if domain.is_empty() {
            return Err(AddressError::NotFullAddress);
        }
        if local.is_empty() || local.len() > 64 {
            return Err(AddressError::Invalid(
                "the part before @ must be 1-64 characters",
            ));
        }
        if !local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
        {
            return Err(AddressError::Invalid(
                "the part before @ may only hold letters, digits and . _ + -",
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(AddressError::Invalid("misplaced dot before @"));
        }
        for label in domain.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(AddressError::Invalid(
                    "domain labels must be 1-63 characters",
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(AddressError::Invalid(
                    "domain labels may only hold letters, digits and inner hyphens",
                ));
            }
        }
        Ok(Address { full, at })
    }

    /// The part before `@`.
    pub fn local(&self) -> &str {
        &self.full[..self.at]
    }

    /// The domain, lower case.
    pub fn domain(&self) -> &str {
        &self.full[self.at + 1..]
    }

    /// The whole address.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.full)
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl TryFrom<String> for Address {
    type Error = AddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Address::parse(&s)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_splits() {
        let a = Address::parse("  Zhang.San@Mail.PKU.edu.cn ").unwrap();
        assert_eq!(a.as_str(), "zhang.san@mail.pku.edu.cn");
        assert_eq!(a.local(), "zhang.san");
        assert_eq!(a.domain(), "mail.pku.edu.cn");
    }

    #[test]
    fn refuses_bare_user_names() {
        assert_eq!(
            Address::parse("zhangsan"),
            Err(AddressError::NotFullAddress)
        );
        assert_eq!(
            Address::parse("zhangsan@"),
            Err(AddressError::NotFullAddress)
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "@x.cn",
            "a b@x.cn",
            "a@x..cn",
            "a@-x.cn",
            "a:b@x.cn",
            ".a@x.cn",
            "a..b@x.cn",
            "a@x_y.cn",
            "a@@x.cn",
        ] {
            assert!(
                matches!(Address::parse(bad), Err(AddressError::Invalid(_))),
                "{bad}"
            );
        }
        let long = format!("{}@x.cn", "a".repeat(65));
        assert!(Address::parse(&long).is_err());
    }

    #[test]
    fn serde_round_trip_validates() {
        let a = Address::parse("a@b.cn").unwrap();
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, "\"a@b.cn\"");
        assert_eq!(serde_json::from_str::<Address>(&j).unwrap(), a);
        assert!(serde_json::from_str::<Address>("\"nope\"").is_err());
    }
}
