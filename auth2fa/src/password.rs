//! Primary passwords: argon2id hashing (PHC strings) and the password policy.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::random::RandomSource;

/// The shipped blocklist: 30,000 common passwords, one a line, lower case (from the `zxcvbn`
/// crate's frequency lists, MIT; see `data/LICENSE-zxcvbn`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Number of entries in the shipped common-password blocklist.
pub fn common_password_count() -> usize {
    COMMON.len()
}

/// Whether `password` (compared in lower case) is on the shipped blocklist.
pub fn is_common_password(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// An argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$...`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string, checking that it parses.
    pub fn from_phc(s: &str) -> Result<Self, Error> {
        argon2::password_hash::PasswordHash::new(s).map_err(|e| Error::Hash(e.to_string()))?;
        Ok(PasswordHash(s.to_string()))
    }

    /// The PHC string.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl Argon2Params {
    /// OWASP's recommendation: m = 19456 KiB, t = 2, p = 1 (the default).
    pub const OWASP: Argon2Params = Argon2Params {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };

    /// Minimal cost, **for tests only** (m = 8 KiB, t = 1, p = 1).
    pub const INSECURE_FAST_FOR_TESTS: Argon2Params = Argon2Params {
        m_kib: 8,
        t: 1,
        p: 1,
    };

    fn hasher(&self) -> Result<Argon2<'static>, Error> {
        let params = Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| Error::InvalidConfig(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes `password` with argon2id under a fresh random 16-byte salt.
pub fn hash_password(
    password: &str,
    params: Argon2Params,
    random: &dyn RandomSource,
) -> Result<PasswordHash, Error> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Hash(e.to_string()))?;
    let h = params
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Hash(e.to_string()))?;
    Ok(PasswordHash(h.to_string()))
}

/// Verifies `password` against a stored hash, with the parameters recorded in the hash.
/// A corrupt stored hash verifies nothing.
pub fn verify_password(password: &str, hash: &PasswordHash) -> bool {
    match argon2::password_hash::PasswordHash::new(&hash.0) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// The rule a rejected password broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Too short.
    #[error("it must be at least {min} characters long")]
    TooShort {
        /// Minimum length in characters.
        min: usize,
    },
    /// Too long.
    #[error("it must be at most {max} characters long")]
    TooLong {
        /// Maximum length in characters.
        max: usize,
    },
    /// Contains control characters.
    #[error("it must not contain control characters")]
    ControlCharacter,
    /// On the common-password blocklist.
    #[error("it is one of the most common passwords, which attackers try first")]
    Common,
    /// Contains a keyboard, numeric or alphabetic run (`123456`, `abcdef`, `qwerty`, `654321`).
    #[error(
        "it must not contain {run} or more keyboard, numeric or alphabetic characters in a row (like 12345, abcde or qwert)"
    )]
    Sequence {
        /// The run length that is refused.
        run: usize,
    },
    /// Contains a character repeated (`aaaaaa`).
    #[error("it must not repeat one character {run} or more times in a row")]
    Repeated {
        /// The run length that is refused.
        run: usize,
    },
    /// Contains the account name.
    #[error("it must not contain your account name")]
    ContainsAccountName,
    /// The new password is the current one.
    #[error("it must differ from your current password")]
    SameAsCurrent,
    /// Strong rules (delivery accounts): too few kinds of characters.
    #[error("it must mix at least {required} of: lower case, upper case, digits, symbols")]
    TooFewCharacterClasses {
        /// Classes required.
        required: usize,
    },
}

/// Password rules. The defaults follow issue 3; `strong` applies to delivery accounts (D5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (default 8).
    pub min_length: usize,
    /// Maximum length in characters (default 128; at least 64 is required).
    pub max_length: usize,
    /// Refuse runs of this many sequential or repeated characters (default 5; 0 disables).
    pub max_run: usize,
    /// Refuse the shipped common passwords (default true).
    pub refuse_common: bool,
    /// Extra rules for delivery accounts: minimum length (default 12).
    pub strong_min_length: usize,
    /// Extra rules for delivery accounts: character classes required (default 3 of 4).
    pub strong_classes: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 128,
            max_run: 5,
            refuse_common: true,
            strong_min_length: 12,
            strong_classes: 3,
        }
    }
}

const KEYBOARD_ROWS: [&str; 4] = [
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
];

impl PasswordPolicy {
    /// Checks a new password for the account `local@domain`; `strong` adds the delivery-account
    /// rules. Returns the first rule broken.
    pub fn check(
        &self,
        password: &str,
        account_local: &str,
        strong: bool,
    ) -> Result<(), PolicyViolation> {
        let len = password.chars().count();
        let min = if strong {
            self.min_length.max(self.strong_min_length)
        } else {
            self.min_length
        };
        if len < min {
            return Err(PolicyViolation::TooShort { min });
        }
        if len > self.max_length {
            return Err(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        if password.chars().any(char::is_control) {
            return Err(PolicyViolation::ControlCharacter);
        }
        let lower = password.to_lowercase();
        if self.refuse_common && COMMON.contains(lower.as_str()) {
            return Err(PolicyViolation::Common);
        }
        let local = account_local.to_lowercase();
        if local.chars().count() >= 3 && lower.contains(&local) {
            return Err(PolicyViolation::ContainsAccountName);
        }
        if self.max_run >= 2 {
            let chars: Vec<char> = lower.chars().collect();
            if longest_repeat(&chars) >= self.max_run {
                return Err(PolicyViolation::Repeated { run: self.max_run });
            }
            if longest_sequence(&chars) >= self.max_run {
                return Err(PolicyViolation::Sequence { run: self.max_run });
            }
        }
        if strong {
            let classes = [
                password.chars().any(|c| c.is_lowercase()),
                password.chars().any(|c| c.is_uppercase()),
                password.chars().any(|c| c.is_ascii_digit()),
                password.chars().any(|c| !c.is_alphanumeric()),
            ]
            .iter()
            .filter(|&&b| b)
            .count();
            if classes < self.strong_classes {
                return Err(PolicyViolation::TooFewCharacterClasses {
                    required: self.strong_classes,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.min_length == 0 || self.max_length < 64 || self.min_length > self.max_length {
            return Err(Error::InvalidConfig(
                "password lengths: need 1 <= min_length <= max_length and max_length >= 64".into(),
            ));
        }
        Ok(())
    }
}

fn longest_repeat(chars: &[char]) -> usize {
    let mut best = 0;
    let mut run = 0;
    for (i, c) in chars.iter().enumerate() {
        run = if i > 0 && chars[i - 1] == *c {
            run + 1
        } else {
            1
        };
        best = best.max(run);
    }
    best
}

/// Position of `c` in an ordered sequence: (sequence id, index).
fn positions(c: char) -> impl Iterator<Item = (usize, usize)> {
    let alpha = c
        .is_ascii_lowercase()
        .then(|| (0usize, (c as u8 - b'a') as usize));
    let digit = c
        .is_ascii_digit()
        .then(|| (1usize, (c as u8 - b'0') as usize));
    let rows = KEYBOARD_ROWS
        .iter()
        .enumerate()
        .filter_map(move |(r, row)| row.find(c).map(|i| (2 + r, i)));
    alpha.into_iter().chain(digit).chain(rows)
}

/// The longest run of characters that are consecutive (ascending or descending) in the
/// alphabet, the digits or a keyboard row.
fn longest_sequence(chars: &[char]) -> usize {
    let mut best = chars.len().min(1);
    for start in 0..chars.len() {
        for (seq, idx) in positions(chars[start]) {
            for dir in [1isize, -1] {
                let mut len = 1;
                let mut cur = idx as isize;
                for &c in &chars[start + 1..] {
                    let want = cur + dir;
                    if want >= 0 && positions(c).any(|(s, i)| s == seq && i as isize == want) {
                        len += 1;
                        cur = want;
                    } else {
                        break;
                    }
                }
                best = best.max(len);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn ships_at_least_ten_thousand_common_passwords() {
        assert!(common_password_count() >= 10_000);
        assert!(is_common_password("password"));
        assert!(is_common_password("PassWord"));
        assert!(is_common_password("iloveyou"));
        assert!(!is_common_password("Tq9!vLm2#pRz"));
    }

    #[test]
    fn each_rule_is_named() {
        let p = PasswordPolicy::default();
        use PolicyViolation::*;
        assert_eq!(p.check("Ab1!x", "zhang", false), Err(TooShort { min: 8 }));
        assert_eq!(
            p.check(&"Ab1!".repeat(40), "zhang", false),
            Err(TooLong { max: 128 })
        );
        assert_eq!(p.check("password1", "zhang", false), Err(Common));
        assert_eq!(p.check("Qwerty123", "zhang", false), Err(Common));
        assert_eq!(
            p.check("x9Z123456y", "zhang", false),
            Err(Sequence { run: 5 })
        );
        assert_eq!(
            p.check("x9Zabcdefy", "zhang", false),
            Err(Sequence { run: 5 })
        );
        assert_eq!(
            p.check("x9Z98765yP", "zhang", false),
            Err(Sequence { run: 5 })
        );
        assert_eq!(
            p.check("x9ZqwertyP", "zhang", false),
            Err(Sequence { run: 5 })
        );
        assert_eq!(
            p.check("x9Z;lkjhP!", "zhang", false),
            Err(Sequence { run: 5 })
        );
        assert_eq!(
            p.check("x9ZaaaaaP!", "zhang", false),
            Err(Repeated { run: 5 })
        );
        assert_eq!(
            p.check("Zhang-San-1987", "zhang", false),
            Err(ContainsAccountName)
        );
        assert_eq!(
            p.check("tab\there9Xq", "zhang", false),
            Err(ControlCharacter)
        );
        assert_eq!(p.check("Tq9!vLm2#pRz", "zhang", false), Ok(()));
        assert_eq!(p.check("绿水青山就是金山银山", "zhang", false), Ok(()));
    }

    #[test]
    fn strong_rules_for_delivery_accounts() {
        let p = PasswordPolicy::default();
        assert_eq!(
            p.check("tq9vlm2prz", "zhang", true),
            Err(PolicyViolation::TooShort { min: 12 })
        );
        assert_eq!(
            p.check("tq9vlm2przkw", "zhang", true),
            Err(PolicyViolation::TooFewCharacterClasses { required: 3 })
        );
        assert_eq!(p.check("Tq9vlm2przkw", "zhang", true), Ok(()));
    }

    #[test]
    fn hash_and_verify() {
        let r = SeededRandom::new(1);
        let h = hash_password("correct horse", Argon2Params::INSECURE_FAST_FOR_TESTS, &r).unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("x", &PasswordHash("garbage".into())));
        assert!(PasswordHash::from_phc("garbage").is_err());
        assert!(PasswordHash::from_phc(h.as_phc()).is_ok());
        assert_eq!(format!("{h:?}"), "PasswordHash(<redacted>)");
    }

    #[test]
    fn default_parameters_are_owasp() {
        let r = SeededRandom::new(2);
        let h = hash_password("correct horse", Argon2Params::default(), &r).unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &h));
    }
}
