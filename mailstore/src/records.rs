//! Plain data returned by and passed to [`Store`](crate::Store) calls.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::acl::Rights;
use crate::flags::{Flags, Keyword, SpecialUse};
use crate::ids::{AccountId, MailboxId, MailboxName, ModSeq, Uid, UidValidity};
use crate::meta::MessageMeta;

/// One mailbox as listed by [`Store::list_mailboxes`](crate::Store::list_mailboxes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Handle for message calls.
    pub id: MailboxId,
    /// Normalized name.
    pub name: MailboxName,
    /// Special-use attribute, if any.
    pub special_use: Option<SpecialUse>,
    /// Whether the owner subscribed to it.
    pub subscribed: bool,
    /// Whether another mailbox of the account lies below it.
    pub has_children: bool,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
}

/// A message's UID, flags and modseq: what SELECT needs for every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFlags {
    /// UID.
    pub uid: Uid,
    /// Current flags.
    pub flags: Flags,
    /// Modseq of the last change (append or flag change).
    pub modseq: ModSeq,
}

/// A mailbox as seen at SELECT time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedMailbox {
    /// Handle for message calls.
    pub id: MailboxId,
    /// Normalized name.
    pub name: MailboxName,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// UIDNEXT.
    pub uid_next: Uid,
    /// HIGHESTMODSEQ.
    pub highest_modseq: ModSeq,
    /// Keywords ever used in the mailbox (for the FLAGS response).
    pub keywords: Vec<Keyword>,
    /// Every message, UID ascending.
    pub messages: Vec<MessageFlags>,
}

/// Everything the store knows about one message except its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageInfo {
    /// UID.
    pub uid: Uid,
    /// Flags.
    pub flags: Flags,
    /// Modseq of the last change.
    pub modseq: ModSeq,
    /// Internal date (Unix seconds).
    pub internal_date: i64,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// Metadata computed at append (shared between copies of the same body).
    pub meta: Arc<MessageMeta>,
}

/// Result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// UIDVALIDITY of the mailbox (for APPENDUID).
    pub uid_validity: UidValidity,
    /// The new message's UID.
    pub uid: Uid,
    /// Its modseq.
    pub modseq: ModSeq,
}

/// Result of [`Store::store_flags`](crate::Store::store_flags).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlagsStored {
    /// Messages whose flags are now as listed (changed or not), with their modseq.
    pub updated: Vec<MessageFlags>,
    /// UIDs not changed because their modseq was above `unchanged_since` (CONDSTORE MODIFIED).
    pub modified: Vec<Uid>,
}

/// A UID mapping for COPYUID / MOVE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedUids {
    /// UIDVALIDITY of the destination.
    pub dest_uid_validity: UidValidity,
    /// `(source uid, destination uid)` in source-UID order.
    pub map: Vec<(Uid, Uid)>,
}

/// STATUS items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Number of messages.
    pub messages: u32,
    /// Messages without \Seen.
    pub unseen: u32,
    /// UIDNEXT.
    pub uid_next: Uid,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// HIGHESTMODSEQ.
    pub highest_modseq: ModSeq,
    /// Sum of message sizes in bytes.
    pub size: u64,
}

/// What changed since a modseq (CONDSTORE/QRESYNC).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// Messages appended or re-flagged after the modseq, UID ascending.
    pub changed: Vec<MessageFlags>,
    /// UIDs expunged after the modseq, ascending (QRESYNC VANISHED (EARLIER)).
    pub vanished: Vec<Uid>,
    /// HIGHESTMODSEQ now.
    pub highest_modseq: ModSeq,
}

/// Per-account limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Quota {
    /// Maximum total size of all messages in bytes.
    pub max_bytes: Option<u64>,
    /// Maximum number of messages.
    pub max_messages: Option<u64>,
}

/// A quota and its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    /// The limits.
    pub quota: Quota,
    /// Bytes used by all messages in all mailboxes (each copy counts; the archive does not).
    pub used_bytes: u64,
    /// Messages in all mailboxes.
    pub used_messages: u64,
}

/// A mailbox another account shared with me.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedMailbox {
    /// The owner.
    pub owner: AccountId,
    /// The mailbox name in the owner's account.
    pub name: MailboxName,
    /// Handle for message calls.
    pub id: MailboxId,
    /// My rights on it.
    pub rights: Rights,
}

/// A message in an account's archive (archive mode, requirement D4).
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedMessage {
    /// Id within the store, for [`Store::restore_archived`](crate::Store::restore_archived).
    pub id: u64,
    /// The mailbox it was expunged from (or that was deleted).
    pub mailbox: MailboxName,
    /// Its UID there.
    pub uid: Uid,
    /// When it was expunged (Unix seconds).
    pub archived_at: i64,
    /// Its flags then.
    pub flags: Flags,
    /// Its internal date.
    pub internal_date: i64,
    /// Size in bytes.
    pub size: u64,
    /// Metadata (subject, from, Message-ID, ...).
    pub meta: Arc<MessageMeta>,
}

/// When an account first saw a message (read tracking, requirement D1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadReceipt {
    /// The reader.
    pub account: AccountId,
    /// The Message-ID, without angle brackets.
    pub message_id: String,
    /// When \Seen was first set (Unix seconds).
    pub first_seen: i64,
}

/// Direction of a [`MailLogRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailDirection {
    /// Delivered to the account.
    Received,
    /// Sent by the account.
    Sent,
}

/// One mail log record (requirement D6): appended by the server, queried by admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailLogRecord {
    /// When (Unix seconds).
    pub time: i64,
    /// The account the record belongs to.
    pub account: AccountId,
    /// Received or sent.
    pub direction: MailDirection,
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// Decoded subject.
    pub subject: String,
    /// Message-ID, without angle brackets.
    pub message_id: String,
    /// Delivery status, free text chosen by the server (e.g. `delivered`, `deferred: 451 ...`).
    pub status: String,
}

/// A change made by some session, delivered to every [`Subscription`](crate::Subscription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxEvent {
    /// A message was appended (or copied or moved in).
    Appended {
        /// Its UID.
        uid: Uid,
        /// Its flags.
        flags: Flags,
        /// Its modseq.
        modseq: ModSeq,
    },
    /// Flags of a message changed.
    FlagsChanged {
        /// UID.
        uid: Uid,
        /// New flags.
        flags: Flags,
        /// New modseq.
        modseq: ModSeq,
    },
    /// Messages were expunged (or moved out).
    Expunged {
        /// The UIDs, ascending.
        uids: Vec<Uid>,
        /// The modseq of the expunge.
        modseq: ModSeq,
    },
    /// The mailbox was deleted or renamed away from under its handle.
    Deleted,
    /// This subscriber fell behind and missed events; re-read the mailbox.
    Lagged(u64),
}
