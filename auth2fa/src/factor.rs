//! Second factors (REQUIREMENTS F1-F5): TOTP, and SMS / WeChat / backup e-mail codes sent
//! through a [`CodeSender`].

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::address::Address;
use crate::error::Error;
use crate::secret::{SecretBytes, SecretString};
use crate::time::Timestamp;

/// A kind of second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FactorKind {
    /// An authenticator app (RFC 6238 TOTP, 6 digits, 30 s steps, SHA-1 for compatibility).
    Totp,
    /// A code by SMS to a phone number.
    Sms,
    /// A code by WeChat.
    WeChat,
    /// A code to a backup e-mail address.
    Email,
}

impl FactorKind {
    /// A human name ("phone number", ...), used in messages.
    pub fn target_name(self) -> &'static str {
        match self {
            FactorKind::Totp => "authenticator app",
            FactorKind::Sms => "phone number",
            FactorKind::WeChat => "WeChat account",
            FactorKind::Email => "e-mail address",
        }
    }
}

impl fmt::Display for FactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FactorKind::Totp => "TOTP",
            FactorKind::Sms => "SMS",
            FactorKind::WeChat => "WeChat",
            FactorKind::Email => "e-mail",
        })
    }
}

/// Identifies a factor within one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FactorId(pub u32);

/// A factor to bind: an authenticator app, or where to send codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactorTarget {
    /// An authenticator app (the secret is generated).
    Totp,
    /// A phone number for SMS codes: digits with an optional leading `+`; spaces and `-` are
    /// ignored; 5-20 digits.
    Sms(String),
    /// A WeChat account id: 1-64 of `A-Z a-z 0-9 _ -`.
    WeChat(String),
    /// A backup e-mail address.
    Email(String),
}

impl FactorTarget {
    /// Its kind.
    pub fn kind(&self) -> FactorKind {
        match self {
            FactorTarget::Totp => FactorKind::Totp,
            FactorTarget::Sms(_) => FactorKind::Sms,
            FactorTarget::WeChat(_) => FactorKind::WeChat,
            FactorTarget::Email(_) => FactorKind::Email,
        }
    }

    /// Validates and normalizes the target: `None` for TOTP, else the canonical string.
    pub fn normalized(&self) -> Result<Option<String>, Error> {
        match self {
            FactorTarget::Totp => Ok(None),
            FactorTarget::Sms(p) => normalize_phone(p).map(Some),
            FactorTarget::WeChat(w) => {
                let w = w.trim();
                if w.is_empty()
                    || w.len() > 64
                    || !w
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(Error::InvalidFactorTarget {
                        kind: "WeChat id",
                        reason: "use 1-64 letters, digits, _ or -",
                    });
                }
                Ok(Some(w.to_string()))
            }
            FactorTarget::Email(e) => {
                Address::parse(e).map(|a| Some(a.to_string())).map_err(|_| {
                    Error::InvalidFactorTarget {
                        kind: "e-mail address",
                        reason: "use a full address such as name@example.com",
                    }
                })
            }
        }
    }
}

/// Normalizes a phone number: keeps a leading `+` and the digits; drops spaces, `-`, `(`, `)`.
pub fn normalize_phone(p: &str) -> Result<String, Error> {
    let bad = |reason| Error::InvalidFactorTarget {
        kind: "phone number",
        reason,
    };
    let p = p.trim();
    let (plus, rest) = match p.strip_prefix('+') {
        Some(r) => ("+", r),
        None => ("", p),
    };
    let mut digits = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' => {}
            _ => return Err(bad("use digits only, with an optional leading +")),
        }
    }
    if !(5..=20).contains(&digits.len()) {
        return Err(bad("use 5 to 20 digits"));
    }
    Ok(format!("{plus}{digits}"))
}

/// Masks a target for display: `138****5678`, `z***@example.com`.
pub(crate) fn mask_target(kind: FactorKind, target: &str) -> String {
    match kind {
        FactorKind::Totp => "authenticator app".into(),
        FactorKind::Email => match target.split_once('@') {
            Some((l, d)) => format!("{}***@{d}", l.chars().next().unwrap_or('*')),
            None => "***".into(),
        },
        _ => {
            let chars: Vec<char> = target.chars().collect();
            if chars.len() <= 4 {
                return "*".repeat(chars.len());
            }
            let keep_head = 3.min(chars.len() - 4);
            let head: String = chars[..keep_head].iter().collect();
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("{head}****{tail}")
        }
    }
}

/// A stored factor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FactorRecord {
    pub(crate) id: FactorId,
    pub(crate) kind: FactorKind,
    /// Normalized phone / WeChat id / e-mail; `None` for TOTP.
    pub(crate) target: Option<String>,
    pub(crate) totp_key: Option<SecretBytes>,
    /// The last TOTP time step accepted (replay protection, RFC 6238 section 5.2).
    pub(crate) last_totp_step: Option<u64>,
    pub(crate) created: Timestamp,
}

/// What listing shows of a factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactorInfo {
    /// Its id.
    pub id: FactorId,
    /// Its kind.
    pub kind: FactorKind,
    /// The target, masked (`138****5678`).
    pub masked_target: String,
    /// When it was bound.
    pub created: Timestamp,
}

impl From<&FactorRecord> for FactorInfo {
    fn from(r: &FactorRecord) -> Self {
        FactorInfo {
            id: r.id,
            kind: r.kind,
            masked_target: mask_target(r.kind, r.target.as_deref().unwrap_or("")),
            created: r.created,
        }
    }
}

/// What an authenticator-app enrolment shows the user once.
#[derive(Debug)]
pub struct TotpEnrollment {
    /// The secret in base32, for typing in by hand.
    pub secret_base32: SecretString,
    /// The `otpauth://totp/...` URL.
    pub otpauth_url: SecretString,
    /// The URL as a QR code, a PNG image.
    pub qr_png: Vec<u8>,
}

/// Why a code is being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodePurpose {
    /// Second step of a web login.
    Login,
    /// Proving control of a new phone / WeChat / e-mail being bound.
    Bind,
    /// Proving control of a current factor before changing or removing factors.
    Confirm,
}

/// Delivers verification codes (SMS gateway, WeChat, e-mail). The host implements it; the
/// example server writes to an outbox file.
pub trait CodeSender: Send + Sync {
    /// Sends `code` to `target` over `kind`. The code must not be logged by the host.
    fn send_code(
        &self,
        kind: FactorKind,
        target: &str,
        account: &Address,
        code: &SecretString,
        purpose: CodePurpose,
    ) -> Result<(), String>;
}

/// A sender that refuses everything (the default until the host sets one).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCodeSender;

impl CodeSender for NoCodeSender {
    fn send_code(
        &self,
        _: FactorKind,
        _: &str,
        _: &Address,
        _: &SecretString,
        _: CodePurpose,
    ) -> Result<(), String> {
        Err("no code sender is configured".into())
    }
}

/// The code an authenticator app shows at `now` for the base32 secret of a
/// [`TotpEnrollment`]; for hosts' tests and tools.
pub fn totp_code(secret_base32: &str, now: Timestamp) -> Result<String, Error> {
    let key = totp_rs::Secret::Encoded(secret_base32.trim().to_string())
        .to_bytes()
        .map_err(|e| Error::Totp(format!("{e:?}")))?;
    let t = TOTP::new_unchecked(
        Algorithm::SHA1,
        TOTP_DIGITS,
        1,
        TOTP_STEP,
        key,
        None,
        String::new(),
    );
    Ok(t.generate(now.as_secs()))
}

pub(crate) const TOTP_STEP: u64 = 30;
pub(crate) const TOTP_DIGITS: usize = 6;

pub(crate) fn totp(key: &[u8], issuer: &str, account: &Address) -> Result<TOTP, Error> {
    let issuer = issuer.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        TOTP_DIGITS,
        1,
        TOTP_STEP,
        key.to_vec(),
        Some(issuer),
        account.to_string(),
    )
    .map_err(|e| Error::Totp(e.to_string()))
}

/// Checks a TOTP code against steps now-1, now, now+1 (one step of skew), refusing any step
/// at or before `last_step` (a code is never accepted twice). Returns the accepted step.
pub(crate) fn check_totp(
    t: &TOTP,
    code: &str,
    now: Timestamp,
    last_step: Option<u64>,
) -> Result<u64, Error> {
    let code = code.trim();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::WrongCode { remaining: 0 });
    }
    let step = now.as_secs() / TOTP_STEP;
    let mut matched = None;
    for s in [step.saturating_sub(1), step, step + 1] {
        let want = t.generate(s * TOTP_STEP);
        if bool::from(want.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
            matched = Some(s);
        }
    }
    match matched {
        None => Err(Error::WrongCode { remaining: 0 }),
        Some(s) if last_step.is_some_and(|l| s <= l) => Err(Error::CodeReplayed),
        Some(s) => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize() {
        assert_eq!(
            normalize_phone("+86 138-0013-8000").unwrap(),
            "+8613800138000"
        );
        assert_eq!(normalize_phone("(010) 1234").unwrap(), "0101234");
        assert!(normalize_phone("12").is_err());
        assert!(normalize_phone("+86 138x").is_err());
        assert!(normalize_phone("++8613800138000").is_err());
    }

    #[test]
    fn targets_are_masked() {
        assert_eq!(mask_target(FactorKind::Sms, "13800138000"), "138****8000");
        assert_eq!(mask_target(FactorKind::Sms, "12345"), "1****2345");
        assert_eq!(mask_target(FactorKind::Email, "zhang@x.cn"), "z***@x.cn");
        assert_eq!(mask_target(FactorKind::WeChat, "ab"), "**");
    }

    #[test]
    fn totp_skew_and_replay() {
        let a = Address::parse("a@x.cn").unwrap();
        let t = totp(&[7u8; 20], "Mail", &a).unwrap();
        let now = Timestamp(1_000_020); // step 33334
        let step = now.as_secs() / TOTP_STEP;
        let cur = t.generate(step * TOTP_STEP);
        assert_eq!(check_totp(&t, &cur, now, None), Ok(step));
        assert_eq!(
            check_totp(&t, &cur, now, Some(step)),
            Err(Error::CodeReplayed)
        );
        let prev = t.generate((step - 1) * TOTP_STEP);
        assert_eq!(check_totp(&t, &prev, now, None), Ok(step - 1));
        let next = t.generate((step + 1) * TOTP_STEP);
        assert_eq!(check_totp(&t, &next, now, Some(step)), Ok(step + 1));
        let old = t.generate((step - 2) * TOTP_STEP);
        if old != cur && old != prev && old != next {
            assert!(matches!(
                check_totp(&t, &old, now, None),
                Err(Error::WrongCode { .. })
            ));
        }
        assert!(check_totp(&t, "12345", now, None).is_err());
        assert!(check_totp(&t, "abcdef", now, None).is_err());
    }
}
