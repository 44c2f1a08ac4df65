//! Identifiers: accounts, mailbox names and handles, UIDs, UIDVALIDITY, MODSEQ.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// An account: the full address `user@domain`, lowercased.
///
/// ```
/// # use mailstore::AccountId;
/// let a = AccountId::new("Zhang.San@Example.EDU.cn").unwrap();
/// assert_eq!(a.as_str(), "zhang.san@example.edu.cn");
/// assert!(AccountId::new("zhangsan").is_err()); // the local part alone is refused
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Longest accepted address, in bytes (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates and lowercases `addr`.
    pub fn new(addr: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::InvalidAccount(addr.chars().take(300).collect());
        if addr.is_empty() || addr.len() > Self::MAX_LEN {
            return Err(bad());
        }
        let (local, domain) = addr.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || addr.chars().any(|c| {
                c.is_control() || c.is_whitespace() || matches!(c, '/' | '\\' | '"' | '*' | '%')
            })
        {
            return Err(bad());
        }
        Ok(AccountId(addr.to_lowercase()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        AccountId::new(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mailbox name: UTF-8, `/` as hierarchy delimiter, `INBOX` case-insensitive.
///
/// The first component `inbox` in any case is stored as `INBOX`, so `inbox/工作` and
/// `INBOX/工作` are the same mailbox. Other components keep their case and are compared exactly.
///
/// ```
/// # use mailstore::MailboxName;
/// assert_eq!(MailboxName::new("inbox").unwrap().as_str(), "INBOX");
/// assert_eq!(MailboxName::new("已发送/2024").unwrap().parent().unwrap().as_str(), "已发送");
/// assert!(MailboxName::new("a//b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailboxName(String);

impl MailboxName {
    /// The hierarchy delimiter.
    pub const DELIMITER: char = '/';
    /// Longest accepted name, in bytes.
    pub const MAX_LEN: usize = 1000;

    /// Validates and normalizes `name`.
    pub fn new(name: &str) -> Result<Self, StoreError> {
        let bad = |reason| StoreError::InvalidMailboxName {
            name: name.chars().take(300).collect(),
            reason,
        };
        if name.is_empty() {
            return Err(bad("empty name"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(bad("longer than 1000 bytes"));
        }
        if name.chars().any(|c| c.is_control()) {
            return Err(bad("control characters are not allowed"));
        }
        if name.contains(['*', '%']) {
            return Err(bad(
                "'*' and '%' are LIST wildcards and not allowed in names",
            ));
        }
        let mut out = String::with_capacity(name.len());
        for (i, comp) in name.split(Self::DELIMITER).enumerate() {
            if comp.is_empty() {
                return Err(bad(
                    "empty hierarchy component (leading, trailing or double '/')",
                ));
            }
            if comp == "." || comp == ".." {
                return Err(bad("'.' and '..' components are not allowed"));
            }
            if i > 0 {
                out.push(Self::DELIMITER);
            }
            if i == 0 && comp.eq_ignore_ascii_case("INBOX") {
                out.push_str("INBOX");
            } else {
                out.push_str(comp);
            }
        }
        Ok(MailboxName(out))
    }

    /// The INBOX.
    pub fn inbox() -> Self {
        MailboxName("INBOX".to_owned())
    }

    /// The normalized name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is INBOX itself.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The parent mailbox name, if this name has a `/`.
    pub fn parent(&self) -> Option<MailboxName> {
        self.0
            .rsplit_once(Self::DELIMITER)
            .map(|(p, _)| MailboxName(p.to_owned()))
    }

    /// Whether `self` is a strict descendant of `ancestor`.
    pub fn is_descendant_of(&self, ancestor: &MailboxName) -> bool {
        self.0.len() > ancestor.0.len()
            && self.0.starts_with(&ancestor.0)
            && self.0.as_bytes()[ancestor.0.len()] == b'/'
    }

    /// Replaces the `from` prefix of a descendant (or `self`) by `to`.
    pub(crate) fn reparent(&self, from: &MailboxName, to: &MailboxName) -> MailboxName {
        MailboxName(format!("{}{}", to.0, &self.0[from.0.len()..]))
    }
}

impl TryFrom<String> for MailboxName {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        MailboxName::new(&s)
    }
}

impl From<MailboxName> for String {
    fn from(m: MailboxName) -> String {
        m.0
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An opaque handle to one mailbox, stable across renames and unique for the store's life
/// (a deleted and re-created mailbox gets a new id). Get it from [`Store::select`](crate::Store::select)
/// or [`Store::mailbox_id`](crate::Store::mailbox_id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailboxId(pub u64);

/// A message UID: non-zero, strictly ascending per mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Uid(NonZeroU32);

impl Uid {
    /// The smallest UID.
    pub const MIN: Uid = Uid(NonZeroU32::MIN);
    /// The largest UID.
    pub const MAX: Uid = Uid(NonZeroU32::MAX);

    /// `None` for 0.
    pub fn new(v: u32) -> Option<Uid> {
        NonZeroU32::new(v).map(Uid)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// UIDVALIDITY of a mailbox: non-zero; a re-created mailbox gets a different value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UidValidity(NonZeroU32);

impl UidValidity {
    /// `None` for 0.
    pub fn new(v: u32) -> Option<UidValidity> {
        NonZeroU32::new(v).map(UidValidity)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A modification sequence (RFC 7162). Every append, flag change and expunge in a mailbox
/// takes the next value; `ModSeq(0)` means "before anything" in [`Store::changes_since`](crate::Store::changes_since).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct ModSeq(pub u64);

impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
