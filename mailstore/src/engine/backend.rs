//! What a key-value backend gives the engine: ordered tables, atomic batches applied by one
//! writer, point reads and range reads.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{broadcast, oneshot};

use crate::error::{Result, StoreError};
use crate::records::MailboxEvent;

/// The tables of the on-disk format (version [`FORMAT_VERSION`](super::FORMAT_VERSION)).
/// Keys are built in [`keys`](super::keys); records are encoded in [`codec`](super::codec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    /// `format` -> u32 LE; `counters` -> JSON; `next_body` -> u64 BE (format 3: the next
    /// body id, maintained by the writer).
    Meta,
    /// account -> JSON AccountRec.
    Accounts,
    /// account \0 mailbox id (u64 BE) -> JSON MailboxRec (format 1: mailbox id -> record).
    Mailboxes,
    /// mailbox id BE ++ uid BE -> binary MsgRec (format 2 adds the size).
    Messages,
    /// mailbox id BE ++ uid BE -> modseq BE (expunged UIDs, for QRESYNC).
    Vanished,
    /// Formats 1-2: sha256 -> raw bytes (format 3 moves them into `Bodies`).
    Blobs,
    /// Formats 1-2: sha256 -> decoded body text (UTF-8).
    Texts,
    /// Formats 1-2: sha256 -> JSON MessageMeta.
    BlobMeta,
    /// account \0 archive id BE -> JSON ArchivedRec (format 1: archive id -> record).
    Archive,
    /// message-id \0 account -> JSON ReadRec.
    Reads,
    /// account \0 time (sign-flipped BE) ++ seq BE -> JSON MailLogRecord (format 1: seq -> record).
    MailLog,
    /// mailbox id BE -> owner account (format 2).
    Owners,
    /// grantee \0 mailbox id BE -> owner account (format 2; "shared with me").
    Grants,
    /// sha256 -> reference count u64 BE ++ body id u64 BE ++ binary search record (format 3;
    /// format 2 had no body id; see `codec::encode_search`). Maintained by the writer; the
    /// only table keyed by hash, so a new body inserts at one random place in one B-tree
    /// (the dedup lookup) and its record goes to the right edge of `Bodies`.
    Refs,
    /// body id (u64 BE) -> body record: raw bytes, decoded text and JSON MessageMeta in one
    /// value (format 3; see `codec::encode_body`).
    Bodies,
}

impl Table {
    pub(crate) const ALL: [Table; 15] = [
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
        Table::Owners,
        Table::Grants,
        Table::Refs,
        Table::Bodies,
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
            Table::Owners => "owners",
            Table::Grants => "grants",
            Table::Refs => "refs",
            Table::Bodies => "bodies",
        }
    }

    pub(crate) fn index(self) -> usize {
        Table::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A body's derived records, computed with mail-parser.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub text: Bytes,
    pub meta_json: Bytes,
    pub search: Bytes,
}

/// A body that may be new to the store. `parsed` is `None` when the caller found the body
/// already stored; should it have been freed before this commit, the writer parses it.
#[derive(Debug)]
pub(crate) struct NewBody {
    pub raw: Bytes,
    pub parsed: Option<Parsed>,
}

/// What a mutation does.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Put(Bytes),
    Del,
    /// Put unless the key exists (first read receipt wins).
    PutIfAbsent(Bytes),
    /// Add a reference to the body keyed by the hash; stores the body if it has none.
    RefInc(Option<Arc<NewBody>>),
    /// Drop a reference; the body's records go with its last reference.
    RefDec,
    /// Upgrade to format 3: gather the format-2 records of the body keyed by the hash
    /// (`Blobs`, `Texts`, `BlobMeta`) into one `Bodies` record under this id, and delete them.
    /// Done by the writer so bodies are not held in memory by the upgrade.
    MergeBody(BodyKey),
}

/// One change of one key.
#[derive(Debug, Clone)]
pub(crate) struct Mutation {
    pub table: Table,
    pub key: Vec<u8>,
    pub op: Op,
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

/// Called with each key and value of a scanned range.
pub(crate) type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Called with the index of each key found by [`Backend::get_each`] and its value.
pub(crate) type IndexVisitor<'a> = dyn FnMut(usize, &[u8]) -> Result<()> + 'a;

/// Resolves once the batch is durable (or failed).
pub(crate) type Ack = oneshot::Receiver<Result<()>>;

/// A storage backend. `submit` must not block on I/O: it queues the batch, and batches
/// become durable in submission order.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Queues a batch; the returned ack resolves when it is durable.
    fn submit(&self, batch: Batch) -> Ack;
    /// Reads one value of committed data.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>>;
    /// Reads many values of committed data in one read transaction: calls `f(i, value)` for
    /// each `keys[i]` that exists, in key order.
    fn get_each(&self, table: Table, keys: &[&[u8]], f: &mut IndexVisitor<'_>) -> Result<()>;
    /// Visits the entries with `start <= key < end` (`end` `None`: to the end) in key order.
    fn range(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        f: &mut Visitor<'_>,
    ) -> Result<()>;
    /// Where the data lives, for error messages.
    fn location(&self) -> PathBuf;
    /// Whether a commit has failed (the handle is then unusable).
    fn failed(&self) -> bool;
    /// Applies mutations durably right now, bypassing the queue (used while opening).
    fn write_now(&self, muts: Vec<Mutation>) -> Result<()>;

    /// Reads many values of committed data, in the order given.
    fn get_many(&self, table: Table, keys: &[&[u8]]) -> Result<Vec<Option<Bytes>>> {
        let mut out = vec![None; keys.len()];
        self.get_each(table, keys, &mut |i, v| {
            out[i] = Some(Bytes::copy_from_slice(v));
            Ok(())
        })?;
        Ok(out)
    }

    /// Visits every entry of a table in key order.
    fn scan(&self, table: Table, f: &mut Visitor<'_>) -> Result<()> {
        self.range(table, &[], None, f)
    }

    /// Visits the entries whose key starts with `prefix`.
    fn scan_prefix(&self, table: Table, prefix: &[u8], f: &mut Visitor<'_>) -> Result<()> {
        let end = super::keys::prefix_end(prefix);
        self.range(table, prefix, end.as_deref(), f)
    }
}

/// A write transaction as the writer sees it: reads see the transaction's own writes.
pub(crate) trait KvTxn {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()>;
    fn del(&mut self, table: Table, key: &[u8]) -> Result<()>;
}

/// The tables that held a body's records in formats 1-2, keyed by its hash.
pub(crate) const OLD_BODY_TABLES: [Table; 3] = [Table::Blobs, Table::Texts, Table::BlobMeta];

/// Meta key of the next body id (u64 BE; absent in a new store: 1).
pub(crate) const NEXT_BODY_KEY: &[u8] = b"next_body";

/// A body id as the key of its records.
pub(crate) type BodyKey = [u8; 8];

/// A refs record: count ++ body id ++ search record.
pub(crate) fn refs_record(count: u64, body: &BodyKey, search: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + search.len());
    v.extend_from_slice(&count.to_be_bytes());
    v.extend_from_slice(body);
    v.extend_from_slice(search);
    v
}

/// The parts of a refs record: count, body id, search record.
pub(crate) fn split_refs(v: &[u8]) -> Option<(u64, BodyKey, &[u8])> {
    let n = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let body: BodyKey = v.get(8..16)?.try_into().ok()?;
    Some((n, body, v.get(16..)?))
}

/// What the writer keeps across the mutations of one transaction.
struct Ctx {
    /// The next body id, read from `meta` at the first new body; written back at the end.
    next_body: Option<u64>,
    dirty: bool,
}

impl Ctx {
    fn new_body_key(&mut self, txn: &mut dyn KvTxn) -> Result<BodyKey> {
        let next = match self.next_body {
            Some(n) => n,
            None => match txn.get(Table::Meta, NEXT_BODY_KEY)? {
                Some(v) => v
                    .as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| StoreError::Backend("the next body id is malformed".into()))?,
                None => 1,
            },
        };
        let n = next
            .checked_add(1)
            .ok_or_else(|| StoreError::Backend("every body id is used".into()))?;
        self.next_body = Some(n);
        self.dirty = true;
        Ok(next.to_be_bytes())
    }
}

/// Which mutations of the groups (flattened, in order) are blind writes (`Put`, `Del`) that
/// a later blind write of the same key overwrites with nothing reading the key in between.
/// Group commit folds many operations on one mailbox into a transaction, and each rewrites
/// the mailbox record; only the last one needs to reach the B-tree.
fn overwritten(groups: &[&[Mutation]]) -> Vec<bool> {
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let mut out = vec![false; total];
    if groups.len() < 2 {
        return out;
    }
    // Per key: whether a blind write follows with no read in between.
    let mut later: HashMap<(Table, &[u8]), bool> = HashMap::with_capacity(total);
    let all = groups.iter().flat_map(|g| g.iter());
    for (i, m) in all.enumerate().collect::<Vec<_>>().into_iter().rev() {
        match &m.op {
            Op::Put(_) | Op::Del => {
                let e = later.entry((m.table, &m.key[..])).or_insert(false);
                out[i] = *e;
                *e = true;
            }
            Op::PutIfAbsent(_) | Op::RefInc(_) | Op::RefDec => {
                later.insert((m.table, &m.key[..]), false);
            }
            Op::MergeBody(_) => {
                for t in OLD_BODY_TABLES {
                    later.insert((t, &m.key[..]), false);
                }
            }
        }
    }
    out
}

/// Applies the groups' mutations, in order, inside one backend transaction.
pub(crate) fn apply_all(txn: &mut dyn KvTxn, groups: &[&[Mutation]]) -> Result<()> {
    let mut ctx = Ctx {
        next_body: None,
        dirty: false,
    };
    let skip = overwritten(groups);
    let all = groups.iter().flat_map(|g| g.iter());
    for (m, skip) in all.zip(skip) {
        if !skip {
            apply_one(txn, &mut ctx, m)?;
        }
    }
    if let (true, Some(n)) = (ctx.dirty, ctx.next_body) {
        txn.put(Table::Meta, NEXT_BODY_KEY, &n.to_be_bytes())?;
    }
    Ok(())
}

fn apply_one(txn: &mut dyn KvTxn, ctx: &mut Ctx, m: &Mutation) -> Result<()> {
    match &m.op {
        Op::Put(v) => txn.put(m.table, &m.key, v),
        Op::Del => txn.del(m.table, &m.key),
        Op::PutIfAbsent(v) => {
            if txn.get(m.table, &m.key)?.is_none() {
                txn.put(m.table, &m.key, v)?;
            }
            Ok(())
        }
        Op::MergeBody(id) => {
            // Referenced but without content: no record, so reads of it answer "body
            // missing" as they did in format 2, rather than the whole store failing to open.
            if let Some(raw) = txn.get(Table::Blobs, &m.key)? {
                let text = txn.get(Table::Texts, &m.key)?;
                let meta = txn.get(Table::BlobMeta, &m.key)?;
                let record = match (text, meta) {
                    (Some(text), Some(meta)) => super::codec::encode_body(&raw, &text, &meta),
                    // A derived record is missing: derive both again.
                    _ => {
                        let p = super::parse_body(&raw);
                        super::codec::encode_body(&raw, &p.text, &p.meta_json)
                    }
                };
                txn.put(Table::Bodies, id, &record)?;
            }
            for t in OLD_BODY_TABLES {
                txn.del(t, &m.key)?;
            }
            Ok(())
        }
        Op::RefInc(body) => {
            let old = txn.get(Table::Refs, &m.key)?;
            let old = match old.as_deref() {
                Some(v) => Some(split_refs(v).ok_or_else(|| malformed(&m.key))?),
                None => None,
            };
            let Some((n, id, search)) = old.filter(|o| o.0 > 0) else {
                let Some(body) = body else {
                    return Err(StoreError::Backend(format!(
                        "a copy refers to body {} that is no longer stored",
                        super::codec::hex_prefix(&m.key)
                    )));
                };
                let parsed = match &body.parsed {
                    Some(p) => p.clone(),
                    None => super::parse_body(&body.raw),
                };
                let id = ctx.new_body_key(txn)?;
                let record = super::codec::encode_body(&body.raw, &parsed.text, &parsed.meta_json);
                txn.put(Table::Bodies, &id, &record)?;
                return txn.put(Table::Refs, &m.key, &refs_record(1, &id, &parsed.search));
            };
            txn.put(Table::Refs, &m.key, &refs_record(n + 1, &id, search))
        }
        Op::RefDec => {
            let Some(old) = txn.get(Table::Refs, &m.key)? else {
                return Ok(());
            };
            let (n, id, search) = split_refs(&old).ok_or_else(|| malformed(&m.key))?;
            if n <= 1 {
                txn.del(Table::Refs, &m.key)?;
                txn.del(Table::Bodies, &id)
            } else {
                txn.put(Table::Refs, &m.key, &refs_record(n - 1, &id, search))
            }
        }
    }
}

fn malformed(hash: &[u8]) -> StoreError {
    StoreError::Backend(format!(
        "the reference record of body {} is malformed",
        super::codec::hex_prefix(hash)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(table: Table, key: &str, op: Op) -> Mutation {
        Mutation {
            table,
            key: key.as_bytes().to_vec(),
            op,
        }
    }

    fn put(table: Table, key: &str) -> Mutation {
        m(table, key, Op::Put(Bytes::from_static(b"v")))
    }

    #[test]
    fn only_blind_writes_overwritten_before_any_read_are_skipped() {
        let g1 = vec![
            put(Table::Mailboxes, "a"),
            put(Table::Messages, "1"),
            put(Table::Mailboxes, "b"),
        ];
        let g2 = vec![
            put(Table::Mailboxes, "a"),
            m(Table::Reads, "r", Op::Del),
            m(
                Table::Mailboxes,
                "b",
                Op::PutIfAbsent(Bytes::from_static(b"w")),
            ),
        ];
        let g3 = vec![
            put(Table::Mailboxes, "a"),
            put(Table::Mailboxes, "b"),
            m(Table::Reads, "r", Op::Del),
            put(Table::Accounts, "a"),
        ];
        let groups: Vec<&[Mutation]> = vec![&g1, &g2, &g3];
        assert_eq!(
            overwritten(&groups),
            vec![
                // g1: "a" is rewritten by g2; "1" is written once; "b" is read by g2's
                // PutIfAbsent, so it must be applied.
                true, false, false, //
                // g2: "a" rewritten by g3; the first Del of "r" is followed by another.
                true, true, false, //
                // g3: the last writes all apply; another table's "a" is another key.
                false, false, false, false,
            ]
        );
        // One group: nothing is skipped (no overhead for single operations).
        assert!(overwritten(&[&g3[..]]).iter().all(|s| !s));
    }

    #[test]
    fn skipping_overwritten_writes_leaves_the_same_data() {
        // Applying with and without the skip gives the same tables.
        struct Map(std::collections::BTreeMap<(usize, Vec<u8>), Vec<u8>>);
        impl KvTxn for Map {
            fn get(&mut self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
                Ok(self.0.get(&(t.index(), key.to_vec())).cloned())
            }
            fn put(&mut self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
                self.0.insert((t.index(), key.to_vec()), value.to_vec());
                Ok(())
            }
            fn del(&mut self, t: Table, key: &[u8]) -> Result<()> {
                self.0.remove(&(t.index(), key.to_vec()));
                Ok(())
            }
        }
        let v = |s: &'static str| Bytes::from_static(s.as_bytes());
        let g1 = vec![
            m(Table::Meta, "k", Op::Put(v("1"))),
            m(Table::Meta, "j", Op::Put(v("1"))),
        ];
        let g2 = vec![
            m(Table::Meta, "k", Op::Del),
            m(Table::Meta, "j", Op::PutIfAbsent(v("2"))),
            m(Table::Meta, "k", Op::PutIfAbsent(v("3"))),
        ];
        let g3 = vec![
            m(Table::Blobs, "h", Op::Put(v("raw"))),
            m(Table::Texts, "h", Op::Put(v("text"))),
            m(Table::BlobMeta, "h", Op::Put(v("meta"))),
            m(Table::Meta, "j", Op::Del),
            m(Table::Meta, "h", Op::MergeBody(7u64.to_be_bytes())),
        ];
        let groups: Vec<&[Mutation]> = vec![&g1, &g2, &g3];
        let mut skipped = Map(Default::default());
        apply_all(&mut skipped, &groups).unwrap();
        let mut plain = Map(Default::default());
        let mut ctx = Ctx {
            next_body: None,
            dirty: false,
        };
        for g in &groups {
            for mu in g.iter() {
                apply_one(&mut plain, &mut ctx, mu).unwrap();
            }
        }
        assert_eq!(skipped.0, plain.0);
        assert_eq!(
            skipped.0.into_iter().collect::<Vec<_>>(),
            vec![
                ((0, b"k".to_vec()), b"3".to_vec()),
                (
                    (Table::Bodies.index(), 7u64.to_be_bytes().to_vec()),
                    crate::engine::codec::encode_body(b"raw", b"text", b"meta")
                )
            ]
        );
    }
}
