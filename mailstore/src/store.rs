//! The [`Store`] trait: what the IMAP, POP3 and SMTP servers call.

use async_trait::async_trait;
use bytes::Bytes;

use crate::acl::Rights;
use crate::error::Result;
use crate::events::Subscription;
use crate::flags::{FlagOp, Flags, SpecialUse};
use crate::ids::{AccountId, MailboxId, MailboxName, ModSeq, Uid};
use crate::records::{
    Appended, ArchivedMessage, Changes, CopiedUids, FlagsStored, MailLogRecord, MailboxInfo,
    MailboxStatus, MessageInfo, Quota, QuotaUsage, ReadReceipt, SelectedMailbox, SharedMailbox,
};
use crate::search::SearchKey;

/// A mail store for many accounts, used by servers as `Arc<dyn Store>` from async tasks.
///
/// Every write returns only after it is durable (for durable backends), so a server may
/// acknowledge a message (SMTP 250, IMAP APPEND OK) as soon as [`append`](Store::append)
/// returns `Ok`. No backend type appears in the signatures, so a networked database can
/// implement the trait too; [`conformance`](crate#conformance) checks an implementation.
///
/// Access rights are stored here ([`set_rights`](Store::set_rights)) but enforced by the
/// server: calls that take a [`MailboxId`] act with the owner's authority. Ask
/// [`my_rights`](Store::my_rights) before acting for a delegate.
///
/// Times are Unix seconds. Methods that take UID lists ignore UIDs that are not in the
/// mailbox (as IMAP's UID STORE/COPY/EXPUNGE do), except where documented.
#[async_trait]
pub trait Store: Send + Sync {
    // ---- accounts ----

    /// Creates `account` (if missing) and each given mailbox that does not exist yet, with its
    /// special-use attribute, subscribed. Idempotent. INBOX is always created.
    ///
    /// A server typically passes INBOX, 草稿箱 `\Drafts`, 已发送 `\Sent`, 已删除 `\Trash` and
    /// 垃圾邮件 `\Junk`.
    async fn create_account(
        &self,
        account: &AccountId,
        mailboxes: &[(MailboxName, Option<SpecialUse>)],
    ) -> Result<()>;

    /// Whether the account exists.
    async fn account_exists(&self, account: &AccountId) -> Result<bool>;

    /// Sets the account's quota (applies to later appends and copies).
    async fn set_quota(&self, account: &AccountId, quota: Quota) -> Result<()>;

    /// The account's quota and use.
    async fn quota(&self, account: &AccountId) -> Result<QuotaUsage>;

    /// Turns archive mode on or off: when on, expunged messages and messages of deleted
    /// mailboxes go to the account's archive instead of being destroyed.
    async fn set_archive_mode(&self, account: &AccountId, on: bool) -> Result<()>;

    /// Deletes `account` and everything it owns: every mailbox and message reference (a body
    /// is freed with its last reference, so copies delivered to other accounts stay), its
    /// archive and quota, the rights granted on its mailboxes and the rights other accounts
    /// granted to it. Subscribers of its mailboxes get
    /// [`MailboxEvent::Deleted`](crate::MailboxEvent::Deleted); its old [`MailboxId`]s answer
    /// [`NoSuchMailbox`](crate::StoreError::NoSuchMailbox).
    ///
    /// Kept for audit: its [`ReadReceipt`]s and [`MailLogRecord`]s. Creating an account with
    /// the same name afterwards starts empty. Fails with
    /// [`NoSuchAccount`](crate::StoreError::NoSuchAccount) if it does not exist.
    async fn delete_account(&self, account: &AccountId) -> Result<()>;

    // ---- mailboxes ----

    /// Creates a mailbox. Parents need not exist.
    async fn create_mailbox(
        &self,
        account: &AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxId>;

    /// Deletes a mailbox and its messages (to the archive in archive mode). Children stay.
    /// INBOX cannot be deleted. Subscribers get [`MailboxEvent::Deleted`](crate::MailboxEvent::Deleted).
    async fn delete_mailbox(&self, account: &AccountId, name: &MailboxName) -> Result<()>;

    /// Renames a mailbox and all its children (their ids, UIDs and UIDVALIDITY stay). Renaming
    /// INBOX moves its messages to a new mailbox and leaves INBOX empty (RFC 3501).
    async fn rename_mailbox(
        &self,
        account: &AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<()>;

    /// The account's own mailboxes, by name.
    async fn list_mailboxes(&self, account: &AccountId) -> Result<Vec<MailboxInfo>>;

    /// Subscribes or unsubscribes the owner to a mailbox.
    async fn set_subscribed(&self, account: &AccountId, name: &MailboxName, on: bool)
    -> Result<()>;

    /// Sets or clears a mailbox's special-use attribute.
    async fn set_special_use(
        &self,
        account: &AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<()>;

    /// The handle of `owner`'s mailbox `name`.
    async fn mailbox_id(&self, owner: &AccountId, name: &MailboxName) -> Result<MailboxId>;

    /// Everything SELECT needs: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, keywords and every
    /// message's UID, flags and modseq. Subscribe first if you also want later changes.
    async fn select(&self, mailbox: MailboxId) -> Result<SelectedMailbox>;

    /// STATUS counters.
    async fn status(&self, mailbox: MailboxId) -> Result<MailboxStatus>;

    // ---- messages ----

    /// Stores a message; returns its UID once durable. Fails with
    /// [`QuotaExceeded`](crate::StoreError::QuotaExceeded) or
    /// [`MessageTooLarge`](crate::StoreError::MessageTooLarge) without storing anything.
    async fn append(
        &self,
        mailbox: MailboxId,
        raw: Bytes,
        flags: Flags,
        internal_date: i64,
    ) -> Result<Appended>;

    /// Metadata, flags and size of one message.
    async fn message(&self, mailbox: MailboxId, uid: Uid) -> Result<MessageInfo>;

    /// Metadata of the listed messages that exist, UID ascending.
    async fn messages(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<MessageInfo>>;

    /// The raw bytes of a message.
    async fn read_message(&self, mailbox: MailboxId, uid: Uid) -> Result<Bytes>;

    /// Bytes `start..end` of a message (`end` is clamped to the size; `start` past the end
    /// is an [`InvalidRange`](crate::StoreError::InvalidRange)).
    async fn read_range(&self, mailbox: MailboxId, uid: Uid, start: u64, end: u64)
    -> Result<Bytes>;

    /// Changes flags. With `unchanged_since` (CONDSTORE), messages whose modseq is higher are
    /// left alone and reported in [`FlagsStored::modified`]. Setting \Seen for the first time
    /// records a [`ReadReceipt`] for the mailbox owner.
    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsStored>;

    /// Removes messages marked \Deleted (only those in `uids` when given: UID EXPUNGE).
    /// Returns the expunged UIDs, ascending.
    async fn expunge(&self, mailbox: MailboxId, uids: Option<&[Uid]>) -> Result<Vec<Uid>>;

    /// Copies messages (the body is shared, not duplicated); returns the UID map.
    async fn copy(&self, from: MailboxId, uids: &[Uid], to: MailboxId) -> Result<CopiedUids>;

    /// Moves messages atomically (copy and expunge in one commit); returns the UID map.
    async fn move_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopiedUids>;

    /// Messages changed and UIDs expunged after `since` (CONDSTORE/QRESYNC).
    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> Result<Changes>;

    /// UIDs of the messages matching `query`, ascending.
    async fn search(&self, mailbox: MailboxId, query: &SearchKey) -> Result<Vec<Uid>>;

    /// Subscribes to changes of a mailbox made by any session (including this one).
    async fn subscribe(&self, mailbox: MailboxId) -> Result<Subscription>;

    // ---- sharing (RFC 4314) ----

    /// Grants `rights` on `owner`'s mailbox to `grantee`, replacing earlier rights; empty
    /// rights remove the grant. The grantee account must exist.
    async fn set_rights(
        &self,
        owner: &AccountId,
        name: &MailboxName,
        grantee: &AccountId,
        rights: Rights,
    ) -> Result<()>;

    /// The grants on a mailbox (the owner's implicit full rights are not listed).
    async fn acl(&self, owner: &AccountId, name: &MailboxName) -> Result<Vec<(AccountId, Rights)>>;

    /// `who`'s rights on a mailbox: all for the owner, the grant for others, none otherwise.
    async fn my_rights(&self, mailbox: MailboxId, who: &AccountId) -> Result<Rights>;

    /// Mailboxes of other accounts where `grantee` has at least the lookup right.
    async fn shared_with(&self, grantee: &AccountId) -> Result<Vec<SharedMailbox>>;

    // ---- archive ----

    /// The account's archived messages, oldest first.
    async fn list_archived(&self, account: &AccountId) -> Result<Vec<ArchivedMessage>>;

    /// Appends an archived message to `to` (which must belong to the account) and removes it
    /// from the archive.
    async fn restore_archived(
        &self,
        account: &AccountId,
        id: u64,
        to: MailboxId,
    ) -> Result<Appended>;

    // ---- read tracking and mail log ----

    /// Who first saw a message with this Message-ID (angle brackets optional), and when.
    async fn read_receipts(&self, message_id: &str) -> Result<Vec<ReadReceipt>>;

    /// Appends a mail log record (durably).
    async fn log_mail(&self, record: MailLogRecord) -> Result<()>;

    /// The account's mail log records with `since <= time < until`, in time order.
    async fn mail_log(
        &self,
        account: &AccountId,
        since: i64,
        until: i64,
    ) -> Result<Vec<MailLogRecord>>;
}
