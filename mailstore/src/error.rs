//! The one error type of this crate.

use std::path::PathBuf;

/// Everything a [`Store`](crate::Store) call can fail with.
///
/// Messages say what went wrong and, where it helps, what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An account id is not a full lowercase-able address `user@domain`.
    #[error("invalid account id {0:?}: use the full address, user@domain")]
    InvalidAccount(String),
    /// A mailbox name is empty, has empty components, wildcards or control characters.
    #[error("invalid mailbox name {name:?}: {reason}")]
    InvalidMailboxName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A keyword is not an IMAP atom.
    #[error(
        "invalid keyword {0:?}: keywords are IMAP atoms (no spaces, parentheses, quotes, '\\', '%', '*', ']' or control characters)"
    )]
    InvalidKeyword(String),
    /// A rights string has a letter outside RFC 4314's `lrswipkxtea`.
    #[error("invalid rights {0:?}: use RFC 4314 letters lrswipkxtea")]
    InvalidRights(String),
    /// The account does not exist.
    #[error("no such account {0}: create it first")]
    NoSuchAccount(String),
    /// The mailbox does not exist (or was deleted).
    #[error("no such mailbox {0:?}")]
    NoSuchMailbox(String),
    /// A mailbox of that name already exists.
    #[error("mailbox {0:?} already exists")]
    MailboxExists(String),
    /// INBOX cannot be deleted.
    #[error("INBOX cannot be deleted")]
    CannotDeleteInbox,
    /// A message UID is not (or no longer) in the mailbox.
    #[error("no such message: UID {0} is not in the mailbox")]
    NoSuchMessage(u32),
    /// An archived message id is not in the account's archive.
    #[error("no such archived message {0}")]
    NoSuchArchived(u64),
    /// The account's quota would be exceeded. Nothing was stored.
    #[error(
        "quota exceeded for {account}: {used_bytes} of {limit_bytes:?} bytes and {used_messages} of {limit_messages:?} messages used, {needed_bytes} more bytes needed; delete mail or raise the quota"
    )]
    QuotaExceeded {
        /// The account whose quota is full.
        account: String,
        /// Bytes in use before the refused operation.
        used_bytes: u64,
        /// The byte limit, if any.
        limit_bytes: Option<u64>,
        /// Messages in use before the refused operation.
        used_messages: u64,
        /// The message limit, if any.
        limit_messages: Option<u64>,
        /// Bytes the refused operation needed.
        needed_bytes: u64,
    },
    /// A message is bigger than [`StoreConfig::max_message_size`](crate::StoreConfig). Nothing was stored.
    #[error("message of {size} bytes is larger than the store's limit of {limit} bytes")]
    MessageTooLarge {
        /// Size of the refused message.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A byte range lies outside the message.
    #[error("byte range {start}..{end} is outside the {size}-byte message")]
    InvalidRange {
        /// Requested start.
        start: u64,
        /// Requested end (exclusive).
        end: u64,
        /// Message size.
        size: u64,
    },
    /// The store directory exists but is not a readable store.
    #[error(
        "store at {path} is corrupt or not a mail store: {detail}; restore it from a backup or move it away"
    )]
    Corrupt {
        /// The store path.
        path: PathBuf,
        /// What the backend reported.
        detail: String,
    },
    /// The store was written by a newer version of this crate.
    #[error(
        "store at {path} has format version {found}, this build supports up to {supported}; upgrade the software"
    )]
    NewerFormat {
        /// The store path.
        path: PathBuf,
        /// Format version found on disk.
        found: u32,
        /// Highest format version this build reads.
        supported: u32,
    },
    /// Another process (or another handle in this process) has the store open.
    #[error("store at {0} is already open by another process or handle")]
    AlreadyOpen(PathBuf),
    /// An I/O or database error while reading or committing. Nothing is acknowledged that was not stored.
    #[error("storage error: {0}")]
    Backend(String),
    /// An earlier commit failed; the in-memory view may be ahead of the disk, so the
    /// handle refuses further work. Reopen the store.
    #[error("the store failed an earlier commit and must be reopened")]
    Failed,
    /// The store has been shut down.
    #[error("the store is closed")]
    Closed,
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
