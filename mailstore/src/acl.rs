//! Access rights (RFC 4314) and the three sharing levels of shared mailboxes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A set of RFC 4314 rights.
///
/// ```
/// # use mailstore::{Rights, ShareLevel};
/// let r = Rights::parse("lrs").unwrap();
/// assert!(r.contains(Rights::READ) && !r.contains(Rights::DELETE_MESSAGES));
/// assert_eq!(ShareLevel::ReadOnly.rights().to_string(), "lr");
/// assert_eq!(ShareLevel::from_rights(Rights::parse("lrswipkxte").unwrap()), Some(ShareLevel::Delegate));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rights(u16);

const LETTERS: &[u8; 11] = b"lrswipkxtea";

impl Rights {
    /// `l`: see the mailbox in LIST.
    pub const LOOKUP: Rights = Rights(1);
    /// `r`: SELECT, FETCH, SEARCH, COPY from.
    pub const READ: Rights = Rights(1 << 1);
    /// `s`: keep \Seen across sessions (change the unread state).
    pub const WRITE_SEEN: Rights = Rights(1 << 2);
    /// `w`: write flags other than \Seen and \Deleted.
    pub const WRITE: Rights = Rights(1 << 3);
    /// `i`: APPEND, COPY into.
    pub const INSERT: Rights = Rights(1 << 4);
    /// `p`: post (send mail to the submission address of the mailbox); used here for "send on behalf".
    pub const POST: Rights = Rights(1 << 5);
    /// `k`: create child mailboxes.
    pub const CREATE: Rights = Rights(1 << 6);
    /// `x`: delete the mailbox.
    pub const DELETE_MAILBOX: Rights = Rights(1 << 7);
    /// `t`: set or clear \Deleted.
    pub const DELETE_MESSAGES: Rights = Rights(1 << 8);
    /// `e`: EXPUNGE.
    pub const EXPUNGE: Rights = Rights(1 << 9);
    /// `a`: administer (SETACL).
    pub const ADMIN: Rights = Rights(1 << 10);
    /// No rights.
    pub const NONE: Rights = Rights(0);
    /// All eleven rights (what the owner has).
    pub const ALL: Rights = Rights((1 << 11) - 1);

    /// Parses letters such as `"lrswi"`. The obsolete `c` and `d` (RFC 2086) map to `k` and `xte`.
    pub fn parse(s: &str) -> Result<Rights, StoreError> {
        let mut r = 0u16;
        for b in s.bytes() {
            r |= match b {
                b'c' => Rights::CREATE.0,
                b'd' => Rights::DELETE_MAILBOX.0 | Rights::DELETE_MESSAGES.0 | Rights::EXPUNGE.0,
                _ => match LETTERS.iter().position(|&l| l == b) {
                    Some(i) => 1 << i,
                    None => return Err(StoreError::InvalidRights(s.chars().take(64).collect())),
                },
            };
        }
        Ok(Rights(r))
    }

    /// Whether every right in `other` is in `self`.
    pub fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// `self` without `other`.
    pub fn without(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    /// No right at all.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in LETTERS.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                write!(f, "{}", *l as char)?;
            }
        }
        Ok(())
    }
}

impl TryFrom<String> for Rights {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        Rights::parse(&s)
    }
}

impl From<Rights> for String {
    fn from(r: Rights) -> String {
        r.to_string()
    }
}

/// The three permission levels of a shared mailbox (requirement S1), as rights sets.
///
/// | level | rights | means |
/// |---|---|---|
/// | `ReadOnly` | `lr` | read mail only; \Seen is not kept for the delegate |
/// | `SendOnBehalf` (代表发送) | `lrp` | read, and send marked "on behalf of" the owner |
/// | `Delegate` (代理发送) | `lrswipkxte` | read, change unread state, delete, send as the owner |
///
/// Sending is decided by the server (the store only keeps the rights): `p` without `s` means
/// "on behalf of", `p` with `s`, `t` and `e` means "as the owner".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareLevel {
    /// Read only.
    ReadOnly,
    /// Read and send on behalf of the owner.
    SendOnBehalf,
    /// Full delegate: read, change, delete, send as the owner.
    Delegate,
}

impl ShareLevel {
    /// The rights this level grants.
    pub fn rights(self) -> Rights {
        match self {
            ShareLevel::ReadOnly => Rights::LOOKUP.union(Rights::READ),
            ShareLevel::SendOnBehalf => Rights::LOOKUP.union(Rights::READ).union(Rights::POST),
            ShareLevel::Delegate => Rights::ALL.without(Rights::ADMIN),
        }
    }

    /// The highest level fully contained in `r`, if any.
    pub fn from_rights(r: Rights) -> Option<ShareLevel> {
        [
            ShareLevel::Delegate,
            ShareLevel::SendOnBehalf,
            ShareLevel::ReadOnly,
        ]
        .into_iter()
        .find(|l| r.contains(l.rights()))
    }
}
