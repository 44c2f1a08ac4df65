//! What a key-value backend gives the engine: ordered tables, atomic batches, point reads.

use std::path::PathBuf;

use bytes::Bytes;
use tokio::sync::{broadcast, oneshot};

use crate::error::Result;
use crate::records::MailboxEvent;

/// The tables of the on-disk format (version [`FORMAT_VERSION`](super::FORMAT_VERSION)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    /// `format` -> u32 LE; `counters` -> JSON.
    Meta,
    /// account -> JSON AccountRec.
    Accounts,
    /// mailbox id (u64 BE) -> JSON MailboxRec.
    Mailboxes,
    /// mailbox id BE ++ uid BE -> binary MsgRec.
    Messages,
    /// mailbox id BE ++ uid BE -> modseq BE (expunged UIDs, for QRESYNC).
    Vanished,
    /// sha256 -> raw bytes.
    Blobs,
    /// sha256 -> decoded body text (UTF-8).
    Texts,
    /// sha256 -> JSON MessageMeta.
    BlobMeta,
    /// archive id BE -> JSON ArchivedRec.
    Archive,
    /// message-id \0 account -> JSON ReadRec.
    Reads,
    /// seq BE -> JSON MailLogRecord.
    MailLog,
}

impl Table {
    pub(crate) const ALL: [Table; 11] = [
        Table::Meta,
        Table::Accounts,
        Table::Mailboxes,
        Table::Messages,
        Table::Vanished,
        Table::Blobs,
        Table::Texts,
        Table::BlobMeta,
        Table::Archive,
        Table::Reads,
        Table::MailLog,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Accounts => "accounts",
            Table::Mailboxes => "mailboxes",
            Table::Messages => "messages",
            Table::Vanished => "vanished",
            Table::Blobs => "blobs",
            Table::Texts => "texts",
            Table::BlobMeta => "blobmeta",
            Table::Archive => "archive",
            Table::Reads => "reads",
            Table::MailLog => "maillog",
        }
    }

    pub(crate) fn index(self) -> usize {
        Table::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// One put (`Some`) or delete (`None`).
#[derive(Debug, Clone)]
pub(crate) struct Mutation {
    pub table: Table,
    pub key: Vec<u8>,
    pub value: Option<Bytes>,
}

/// Mutations of one operation, committed atomically, and the events to publish after.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub muts: Vec<Mutation>,
    pub events: Vec<(broadcast::Sender<MailboxEvent>, MailboxEvent)>,
}

impl Batch {
    pub(crate) fn publish(self) {
        for (tx, ev) in self.events {
            let _ = tx.send(ev);
        }
    }
}

/// Called with each key and value of a scanned table.
pub(crate) type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Resolves once the batch is durable (or failed).
pub(crate) type Ack = oneshot::Receiver<Result<()>>;

/// A storage backend. `submit` must not block on I/O: it queues the batch, and batches
/// become durable in submission order.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Queues a batch; the returned ack resolves when it is durable.
    fn submit(&self, batch: Batch) -> Ack;
    /// Reads one value of committed data.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>>;
    /// Visits every entry of a table in key order.
    fn scan(&self, table: Table, f: &mut Visitor<'_>) -> Result<()>;
    /// Where the data lives, for error messages.
    fn location(&self) -> PathBuf;
    /// Whether a commit has failed (the handle is then unusable).
    fn failed(&self) -> bool;
    /// Applies mutations durably right now, bypassing the queue (used while opening).
    fn write_now(&self, muts: Vec<Mutation>) -> Result<()>;
}
