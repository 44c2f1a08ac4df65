//! The maildrop listing the host supplies: [`MessageInfo`] and [`Uid`].

use crate::Error;

/// A message's unique id as shown by UIDL (RFC 1939 section 7): 1 to 70 characters in
/// `0x21..=0x7E`. The type cannot hold anything else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uid(String);

impl Uid {
    /// Checks and wraps `uid`.
    pub fn new(uid: impl Into<String>) -> Result<Self, Error> {
        let uid = uid.into();
        if uid.is_empty() || uid.len() > 70 || !uid.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(Error::InvalidUid);
        }
        Ok(Uid(uid))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message of the maildrop, as listed to the client. Message number `n` is the `n-1`th
/// entry of the list given to [`crate::Server::maildrop_ready`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// Size in octets as reported by LIST, STAT and RETR (RFC 1939: the size with CRLF line
    /// endings, before byte-stuffing).
    pub size: u64,
    /// Unique id reported by UIDL.
    pub uid: Uid,
}

impl MessageInfo {
    /// A message of `size` octets with unique id `uid`.
    pub fn new(size: u64, uid: Uid) -> Self {
        MessageInfo { size, uid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_validation() {
        assert!(Uid::new("abc-123").is_ok());
        assert!(Uid::new("x".repeat(70)).is_ok());
        assert_eq!(Uid::new("x".repeat(71)), Err(Error::InvalidUid));
        assert_eq!(Uid::new(""), Err(Error::InvalidUid));
        assert_eq!(Uid::new("a b"), Err(Error::InvalidUid));
        assert_eq!(Uid::new("a\u{e9}"), Err(Error::InvalidUid));
        assert_eq!(Uid::new("a\r\n"), Err(Error::InvalidUid));
    }
}
