//! Accounts: kinds, states, protocols, domain policy and the stored account record.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::app_password::AppPasswordRecord;
use crate::device::TrustedDeviceRecord;
use crate::factor::{FactorKind, FactorRecord};
use crate::network::{Place, RegionRule};
use crate::password::PasswordHash;
use crate::secret::Tag;
use crate::time::Timestamp;

/// A mail protocol a client authenticates over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// IMAP4rev1 / IMAP4rev2.
    Imap,
    /// POP3.
    Pop3,
    /// SMTP submission.
    Smtp,
}

impl Protocol {
    /// All protocols.
    pub const ALL: [Protocol; 3] = [Protocol::Imap, Protocol::Pop3, Protocol::Smtp];
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Imap => "IMAP",
            Protocol::Pop3 => "POP3",
            Protocol::Smtp => "SMTP",
        })
    }
}

/// Where a login attempt came in: a mail protocol or the web.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// A mail client over IMAP, POP3 or SMTP.
    Protocol(Protocol),
    /// The web interface (or the vendor's app through it).
    Web,
}

impl From<Protocol> for Channel {
    fn from(p: Protocol) -> Self {
        Channel::Protocol(p)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Protocol(p) => p.fmt(f),
            Channel::Web => f.write_str("web"),
        }
    }
}

/// A non-empty set of protocols (an app password's scope).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct ProtocolSet(u8);

impl ProtocolSet {
    /// IMAP, POP3 and SMTP.
    pub const ALL: ProtocolSet = ProtocolSet(0b111);

    fn bit(p: Protocol) -> u8 {
        match p {
            Protocol::Imap => 1,
            Protocol::Pop3 => 2,
            Protocol::Smtp => 4,
        }
    }

    /// The set of the given protocols; `None` if empty.
    pub fn of(protocols: &[Protocol]) -> Option<Self> {
        let bits = protocols.iter().fold(0, |b, &p| b | Self::bit(p));
        (bits != 0).then_some(ProtocolSet(bits))
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Protocol) -> bool {
        self.0 & Self::bit(p) != 0
    }

    /// The protocols in the set.
    pub fn iter(self) -> impl Iterator<Item = Protocol> {
        Protocol::ALL.into_iter().filter(move |&p| self.contains(p))
    }
}

impl fmt::Debug for ProtocolSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl TryFrom<u8> for ProtocolSet {
    type Error = &'static str;
    fn try_from(b: u8) -> Result<Self, Self::Error> {
        if b == 0 || b > 0b111 {
            Err("protocol set must be a non-empty subset of IMAP, POP3, SMTP")
        } else {
            Ok(ProtocolSet(b))
        }
    }
}

impl From<ProtocolSet> for u8 {
    fn from(s: ProtocolSet) -> u8 {
        s.0
    }
}

/// What an account is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum AccountKind {
    /// An ordinary mailbox.
    #[default]
    Normal,
    /// An official document delivery mailbox (REQUIREMENTS D3/D5): web only, 2FA forced,
    /// strong password rules, sends and receives only within its own domain.
    Delivery,
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountKind::Normal => "normal",
            AccountKind::Delivery => "delivery",
        })
    }
}

/// An account's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum AccountState {
    /// Normal use.
    #[default]
    Active,
    /// REQUIREMENTS A2: logs in and receives, sends only within its own domain; no password reset.
    Restricted,
    /// REQUIREMENTS A3: stolen and abused; can never log in again.
    Banned,
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountState::Active => "active",
            AccountState::Restricted => "restricted",
            AccountState::Banned => "banned",
        })
    }
}

/// Per-domain policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainPolicy {
    /// Every account of the domain must use two-factor authentication (F2).
    pub force_two_factor: bool,
}

/// The stored account record. Fields are changed only through [`AuthService`](crate::AuthService)
/// so that its invariants hold; read them with the accessors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    pub(crate) address: Address,
    pub(crate) display_name: String,
    pub(crate) kind: AccountKind,
    pub(crate) state: AccountState,
    pub(crate) password: PasswordHash,
    pub(crate) must_change_password: bool,
    pub(crate) force_two_factor: bool,
    pub(crate) region: RegionRule,
    pub(crate) created: Timestamp,
    pub(crate) password_changed: Timestamp,
    #[serde(default)]
    pub(crate) factors: Vec<FactorRecord>,
    #[serde(default)]
    pub(crate) next_factor_id: u32,
    #[serde(default)]
    pub(crate) recovery_codes: Vec<Tag>,
    #[serde(default)]
    pub(crate) app_passwords: Vec<AppPasswordRecord>,
    #[serde(default)]
    pub(crate) trusted_devices: Vec<TrustedDeviceRecord>,
    #[serde(default)]
    pub(crate) next_device_id: u64,
    #[serde(default)]
    pub(crate) known_places: Vec<Place>,
}

impl Account {
    /// The account's address (its login name).
    pub fn address(&self) -> &Address {
        &self.address
    }
    /// Display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
    /// Kind.
    pub fn kind(&self) -> AccountKind {
        self.kind
    }
    /// State.
    pub fn state(&self) -> AccountState {
        self.state
    }
    /// Whether the password must be changed on the web before protocol use.
    pub fn must_change_password(&self) -> bool {
        self.must_change_password
    }
    /// Whether 2FA is forced on this account itself (domain policy and kind may force it too).
    pub fn force_two_factor(&self) -> bool {
        self.force_two_factor
    }
    /// Whether at least one second factor is bound.
    pub fn has_second_factor(&self) -> bool {
        !self.factors.is_empty()
    }
    /// Whether a factor of `kind` is bound to `target` (normalized phone, WeChat id, e-mail).
    pub(crate) fn has_factor_target(&self, kind: FactorKind, target: &str) -> bool {
        self.factors
            .iter()
            .any(|f| f.kind == kind && f.target.as_deref() == Some(target))
    }
    /// The login region rule.
    pub fn region_rule(&self) -> &RegionRule {
        &self.region
    }
    /// Creation time.
    pub fn created(&self) -> Timestamp {
        self.created
    }
    /// Last password change.
    pub fn password_changed(&self) -> Timestamp {
        self.password_changed
    }
    /// Number of app passwords.
    pub fn app_password_count(&self) -> usize {
        self.app_passwords.len()
    }
    /// Number of unused recovery codes.
    pub fn recovery_codes_left(&self) -> usize {
        self.recovery_codes.len()
    }
    /// Places this account has logged in from successfully.
    pub fn known_places(&self) -> &[Place] {
        &self.known_places
    }

    /// Whether two-factor authentication applies: a factor is bound, or it is forced by the
    /// account, its kind (delivery) or its domain's policy.
    pub fn two_factor_required(&self, domain: Option<&DomainPolicy>) -> bool {
        !self.factors.is_empty()
            || self.force_two_factor
            || self.kind == AccountKind::Delivery
            || domain.is_some_and(|d| d.force_two_factor)
    }
}

/// What the protocol layer learns about a successful login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The account.
    pub address: Address,
    /// Its kind.
    pub kind: AccountKind,
    /// Its state (never `Banned` here).
    pub state: AccountState,
    /// Which credential was accepted.
    pub credential: CredentialUsed,
    /// Where the client was located, if known.
    pub place: Option<Place>,
}

impl Principal {
    /// Whether this account may send to `recipient`: restricted (A2) and delivery (D3)
    /// accounts only within their own domain.
    pub fn may_send_to(&self, recipient: &Address) -> bool {
        match (self.kind, self.state) {
            (AccountKind::Normal, AccountState::Active) => true,
            _ => recipient.domain() == self.address.domain(),
        }
    }
}

/// Which credential a login used (for the login log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialUsed {
    /// Nothing was accepted (the attempt failed before or at the first credential).
    None,
    /// The account password.
    Password,
    /// An app password, by name.
    AppPassword {
        /// The app password's name.
        name: String,
    },
    /// The password and a second factor.
    SecondFactor {
        /// The factor's kind.
        kind: crate::factor::FactorKind,
    },
    /// The password and a single-use recovery code.
    RecoveryCode,
    /// The password on a trusted device.
    TrustedDevice {
        /// The device's name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_sets_are_never_empty() {
        assert!(ProtocolSet::of(&[]).is_none());
        let s = ProtocolSet::of(&[Protocol::Imap, Protocol::Smtp]).unwrap();
        assert!(s.contains(Protocol::Imap) && s.contains(Protocol::Smtp));
        assert!(!s.contains(Protocol::Pop3));
        assert_eq!(s.iter().count(), 2);
        assert!(ProtocolSet::try_from(0).is_err());
        assert!(ProtocolSet::try_from(8).is_err());
        assert_eq!(serde_json::to_string(&ProtocolSet::ALL).unwrap(), "7");
        assert!(serde_json::from_str::<ProtocolSet>("0").is_err());
    }

    #[test]
    fn restricted_and_delivery_send_only_inside_their_domain() {
        let mut p = Principal {
            address: Address::parse("a@x.cn").unwrap(),
            kind: AccountKind::Normal,
            state: AccountState::Active,
            credential: CredentialUsed::Password,
            place: None,
        };
        let inside = Address::parse("b@x.cn").unwrap();
        let outside = Address::parse("b@y.cn").unwrap();
        assert!(p.may_send_to(&outside));
        p.state = AccountState::Restricted;
        assert!(p.may_send_to(&inside) && !p.may_send_to(&outside));
        p.state = AccountState::Active;
        p.kind = AccountKind::Delivery;
        assert!(p.may_send_to(&inside) && !p.may_send_to(&outside));
    }
}
