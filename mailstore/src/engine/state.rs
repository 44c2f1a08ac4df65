//! The in-memory index of everything but bodies, and the operations on it. Every operation
//! validates first, then mutates the index and records the matching [`Mutation`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;

use super::backend::{Backend, Mutation, Table};
use super::codec::{self, AccountRec, ArchivedRec, Counters, FlagsRec, Hash, MailboxRec, ReadRec};
use crate::acl::Rights;
use crate::error::{Result, StoreError};
use crate::flags::{Flags, Keyword, SpecialUse};
use crate::ids::{AccountId, MailboxName};
use crate::meta::MessageMeta;
use crate::records::{MailLogRecord, MailboxEvent, Quota};

/// A stored body's metadata, shared by all its copies.
#[derive(Debug)]
pub(crate) struct Blob {
    pub hash: Hash,
    pub meta: Arc<MessageMeta>,
    pub subject_lc: String,
}

impl Blob {
    pub(crate) fn new(hash: Hash, meta: MessageMeta) -> Blob {
        let subject_lc = meta
            .envelope
            .subject
            .as_deref()
            .unwrap_or("")
            .to_lowercase();
        Blob {
            hash,
            meta: Arc::new(meta),
            subject_lc,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub flags: Flags,
    pub modseq: u64,
    pub internal_date: i64,
    pub blob: Arc<Blob>,
}

#[derive(Debug)]
pub(crate) struct Mailbox {
    pub id: u64,
    pub owner: AccountId,
    pub name: MailboxName,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub special_use: Option<SpecialUse>,
    pub subscribed: bool,
    pub acl: BTreeMap<AccountId, Rights>,
    pub keywords: BTreeSet<Keyword>,
    pub messages: BTreeMap<u32, Msg>,
    /// (modseq, uid) in expunge order.
    pub vanished: Vec<(u64, u32)>,
}

impl Mailbox {
    fn record(&self) -> MailboxRec {
        MailboxRec {
            owner: self.owner.clone(),
            name: self.name.clone(),
            uid_validity: self.uid_validity,
            uid_next: self.uid_next,
            highest_modseq: self.highest_modseq,
            special_use: self.special_use,
            subscribed: self.subscribed,
            acl: self.acl.iter().map(|(a, r)| (a.clone(), *r)).collect(),
            keywords: self.keywords.iter().cloned().collect(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Account {
    pub quota: Quota,
    pub archive: bool,
    pub mailboxes: BTreeMap<MailboxName, u64>,
    pub used_bytes: u64,
    pub used_messages: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Archived {
    pub account: AccountId,
    pub mailbox: MailboxName,
    pub uid: u32,
    pub archived_at: i64,
    pub flags: Flags,
    pub internal_date: i64,
    pub blob: Arc<Blob>,
}

/// A new body to store with its first reference.
pub(crate) struct NewBody {
    pub raw: Bytes,
    pub text: String,
    pub meta_json: Vec<u8>,
    pub blob: Arc<Blob>,
}

/// Mutations and events of one operation.
#[derive(Default)]
pub(crate) struct Tx {
    pub muts: Vec<Mutation>,
    pub events: Vec<(u64, MailboxEvent)>,
}

impl Tx {
    pub(crate) fn put(&mut self, table: Table, key: Vec<u8>, value: impl Into<Bytes>) {
        self.muts.push(Mutation {
            table,
            key,
            value: Some(value.into()),
        });
    }

    pub(crate) fn del(&mut self, table: Table, key: Vec<u8>) {
        self.muts.push(Mutation {
            table,
            key,
            value: None,
        });
    }
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Serializing these plain records cannot fail (no maps with non-string keys, no I/O).
    serde_json::to_vec(v).unwrap_or_default()
}

/// The whole index.
#[derive(Default)]
pub(crate) struct State {
    pub accounts: HashMap<AccountId, Account>,
    pub mailboxes: HashMap<u64, Mailbox>,
    /// hash -> (references, blob)
    pub blobs: HashMap<Hash, (u64, Arc<Blob>)>,
    pub archive: BTreeMap<u64, Archived>,
    pub reads: BTreeMap<String, BTreeMap<AccountId, i64>>,
    pub maillog: BTreeMap<(AccountId, i64, u64), MailLogRecord>,
    /// grantee -> mailboxes with a grant for them ("shared with me").
    pub grants: HashMap<AccountId, BTreeSet<u64>>,
    pub counters: Counters,
}

pub(crate) const FORMAT_KEY: &[u8] = b"format";
pub(crate) const COUNTERS_KEY: &[u8] = b"counters";

impl State {
    /// Loads the index from a backend, checking the format version.
    pub(crate) fn load(
        backend: &dyn Backend,
        format: u32,
        now: i64,
    ) -> Result<(State, Vec<Mutation>)> {
        let path = backend.location();
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.clone(),
            detail,
        };
        let mut st = State::default();
        let mut init = Vec::new();
        match backend.get(Table::Meta, FORMAT_KEY)? {
            Some(v) => {
                let found = u32::from_le_bytes(
                    v.as_ref()
                        .try_into()
                        .map_err(|_| corrupt("format version record is malformed".into()))?,
                );
                if found > format {
                    return Err(StoreError::NewerFormat {
                        path: path.clone(),
                        found,
                        supported: format,
                    });
                }
            }
            None => {
                let mut any = false;
                for t in Table::ALL {
                    backend.scan(t, &mut |_, _| {
                        any = true;
                        Ok(())
                    })?;
                }
                if any {
                    return Err(corrupt("data present but no format version record".into()));
                }
                init.push(Mutation {
                    table: Table::Meta,
                    key: FORMAT_KEY.to_vec(),
                    value: Some(Bytes::copy_from_slice(&format.to_le_bytes())),
                });
            }
        }
        if let Some(v) = backend.get(Table::Meta, COUNTERS_KEY)? {
            st.counters =
                serde_json::from_slice(&v).map_err(|e| corrupt(format!("counters: {e}")))?;
        } else {
            st.counters = Counters {
                next_mailbox_id: 1,
                next_archive_id: 1,
                next_log_seq: 1,
                last_uid_validity: u32::try_from(now.max(1)).unwrap_or(1),
            };
        }
        backend.scan(Table::Accounts, &mut |k, v| {
            let a = AccountId::new(
                std::str::from_utf8(k).map_err(|e| corrupt(format!("account key: {e}")))?,
            )
            .map_err(|e| corrupt(format!("account key: {e}")))?;
            let rec: AccountRec =
                serde_json::from_slice(v).map_err(|e| corrupt(format!("account {a}: {e}")))?;
            st.accounts.insert(
                a,
                Account {
                    quota: rec.quota,
                    archive: rec.archive,
                    ..Default::default()
                },
            );
            Ok(())
        })?;
        // Decoding metadata dominates opening; spread it over the available cores.
        let mut raw_metas: Vec<(Hash, Vec<u8>)> = Vec::new();
        backend.scan(Table::BlobMeta, &mut |k, v| {
            let hash: Hash = k
                .try_into()
                .map_err(|_| corrupt("blob key length".into()))?;
            raw_metas.push((hash, v.to_vec()));
            Ok(())
        })?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = raw_metas.len().div_ceil(threads).max(1);
        let decoded: Vec<Result<Vec<Arc<Blob>>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = raw_metas
                .chunks(chunk)
                .map(|part| {
                    let corrupt = &corrupt;
                    scope.spawn(move || {
                        part.iter()
                            .map(|(hash, v)| {
                                let meta: MessageMeta = serde_json::from_slice(v)
                                    .map_err(|e| corrupt(format!("blob meta: {e}")))?;
                                Ok(Arc::new(Blob::new(*hash, meta)))
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(corrupt("metadata decoder failed".into())))
                })
                .collect()
        });
        drop(raw_metas);
        for part in decoded {
            for blob in part? {
                st.blobs.insert(blob.hash, (0, blob));
            }
        }
        backend.scan(Table::Mailboxes, &mut |k, v| {
            let id = codec::parse_u64(k).ok_or_else(|| corrupt("mailbox key".into()))?;
            let rec: MailboxRec =
                serde_json::from_slice(v).map_err(|e| corrupt(format!("mailbox {id}: {e}")))?;
            let acct = st
                .accounts
                .get_mut(&rec.owner)
                .ok_or_else(|| corrupt(format!("mailbox {id} of unknown account {}", rec.owner)))?;
            acct.mailboxes.insert(rec.name.clone(), id);
            for (grantee, _) in &rec.acl {
                st.grants.entry(grantee.clone()).or_default().insert(id);
            }
            st.mailboxes.insert(
                id,
                Mailbox {
                    id,
                    owner: rec.owner,
                    name: rec.name,
                    uid_validity: rec.uid_validity,
                    uid_next: rec.uid_next,
                    highest_modseq: rec.highest_modseq,
                    special_use: rec.special_use,
                    subscribed: rec.subscribed,
                    acl: rec.acl.into_iter().collect(),
                    keywords: rec.keywords.into_iter().collect(),
                    messages: BTreeMap::new(),
                    vanished: Vec::new(),
                },
            );
            Ok(())
        })?;
        backend.scan(Table::Messages, &mut |k, v| {
            let (mid, uid) =
                codec::parse_msg_key(k).ok_or_else(|| corrupt("message key".into()))?;
            let rec = codec::decode_msg(v)
                .ok_or_else(|| corrupt(format!("message {mid}/{uid} record")))?;
            let (refs, blob) = st
                .blobs
                .get_mut(&rec.hash)
                .ok_or_else(|| corrupt(format!("message {mid}/{uid} refers to a missing body")))?;
            *refs += 1;
            let blob = blob.clone();
            let mb = st
                .mailboxes
                .get_mut(&mid)
                .ok_or_else(|| corrupt(format!("message in missing mailbox {mid}")))?;
            if uid == 0 || uid >= mb.uid_next {
                return Err(corrupt(format!("message {mid}/{uid} at or above UIDNEXT")));
            }
            mb.messages.insert(
                uid,
                Msg {
                    flags: rec.flags,
                    modseq: rec.modseq,
                    internal_date: rec.internal_date,
                    blob,
                },
            );
            Ok(())
        })?;
        backend.scan(Table::Vanished, &mut |k, v| {
            let (mid, uid) =
                codec::parse_msg_key(k).ok_or_else(|| corrupt("vanished key".into()))?;
            let ms = codec::parse_u64(v).ok_or_else(|| corrupt("vanished value".into()))?;
            if let Some(mb) = st.mailboxes.get_mut(&mid) {
                mb.vanished.push((ms, uid));
            }
            Ok(())
        })?;
        for mb in st.mailboxes.values_mut() {
            mb.vanished.sort_unstable();
        }
        backend.scan(Table::Archive, &mut |k, v| {
            let id = codec::parse_u64(k).ok_or_else(|| corrupt("archive key".into()))?;
            let rec: ArchivedRec =
                serde_json::from_slice(v).map_err(|e| corrupt(format!("archive {id}: {e}")))?;
            let hash =
                codec::unhex(&rec.hash).ok_or_else(|| corrupt(format!("archive {id} hash")))?;
            let (refs, blob) = st
                .blobs
                .get_mut(&hash)
                .ok_or_else(|| corrupt(format!("archive {id} refers to a missing body")))?;
            *refs += 1;
            st.archive.insert(
                id,
                Archived {
                    account: rec.account,
                    mailbox: rec.mailbox,
                    uid: rec.uid,
                    archived_at: rec.archived_at,
                    flags: rec.flags.into(),
                    internal_date: rec.internal_date,
                    blob: blob.clone(),
                },
            );
            Ok(())
        })?;
        backend.scan(Table::Reads, &mut |k, v| {
            let pos = k
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| corrupt("read key".into()))?;
            let mid =
                String::from_utf8(k[..pos].to_vec()).map_err(|_| corrupt("read key".into()))?;
            let acct = std::str::from_utf8(&k[pos + 1..])
                .ok()
                .and_then(|s| AccountId::new(s).ok())
                .ok_or_else(|| corrupt("read key account".into()))?;
            let rec: ReadRec =
                serde_json::from_slice(v).map_err(|e| corrupt(format!("read record: {e}")))?;
            st.reads
                .entry(mid)
                .or_default()
                .insert(acct, rec.first_seen);
            Ok(())
        })?;
        backend.scan(Table::MailLog, &mut |k, v| {
            let seq = codec::parse_u64(k).ok_or_else(|| corrupt("mail log key".into()))?;
            let rec: MailLogRecord =
                serde_json::from_slice(v).map_err(|e| corrupt(format!("mail log {seq}: {e}")))?;
            st.maillog.insert((rec.account.clone(), rec.time, seq), rec);
            Ok(())
        })?;
        for mb in st.mailboxes.values() {
            if let Some(a) = st.accounts.get_mut(&mb.owner) {
                for m in mb.messages.values() {
                    a.used_bytes += m.blob.meta.size;
                    a.used_messages += 1;
                }
            }
        }
        Ok((st, init))
    }

    pub(crate) fn put_counters(&self, tx: &mut Tx) {
        tx.put(Table::Meta, COUNTERS_KEY.to_vec(), json(&self.counters));
    }

    pub(crate) fn put_account(&self, a: &AccountId, tx: &mut Tx) {
        if let Some(acc) = self.accounts.get(a) {
            let rec = AccountRec {
                quota: acc.quota,
                archive: acc.archive,
            };
            tx.put(Table::Accounts, a.as_str().as_bytes().to_vec(), json(&rec));
        }
    }

    pub(crate) fn put_mailbox(&self, id: u64, tx: &mut Tx) {
        if let Some(mb) = self.mailboxes.get(&id) {
            tx.put(Table::Mailboxes, codec::u64_key(id), json(&mb.record()));
        }
    }

    pub(crate) fn put_msg(mbox: u64, uid: u32, m: &Msg, tx: &mut Tx) {
        tx.put(
            Table::Messages,
            codec::msg_key(mbox, uid),
            codec::encode_msg(&m.blob.hash, m.modseq, m.internal_date, &m.flags),
        );
    }

    pub(crate) fn account(&self, a: &AccountId) -> Result<&Account> {
        self.accounts
            .get(a)
            .ok_or_else(|| StoreError::NoSuchAccount(a.to_string()))
    }

    pub(crate) fn account_mut(&mut self, a: &AccountId) -> Result<&mut Account> {
        self.accounts
            .get_mut(a)
            .ok_or_else(|| StoreError::NoSuchAccount(a.to_string()))
    }

    pub(crate) fn mailbox(&self, id: u64) -> Result<&Mailbox> {
        self.mailboxes
            .get(&id)
            .ok_or_else(|| StoreError::NoSuchMailbox(format!("#{id}")))
    }

    pub(crate) fn mailbox_mut(&mut self, id: u64) -> Result<&mut Mailbox> {
        self.mailboxes
            .get_mut(&id)
            .ok_or_else(|| StoreError::NoSuchMailbox(format!("#{id}")))
    }

    pub(crate) fn find(&self, a: &AccountId, name: &MailboxName) -> Result<u64> {
        self.account(a)?
            .mailboxes
            .get(name)
            .copied()
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))
    }

    pub(crate) fn next_uid_validity(&mut self, now: i64) -> u32 {
        let candidate = u32::try_from(now.max(1)).unwrap_or(u32::MAX);
        let v = if candidate > self.counters.last_uid_validity {
            candidate
        } else {
            self.counters.last_uid_validity.wrapping_add(1).max(1)
        };
        self.counters.last_uid_validity = v;
        v
    }

    pub(crate) fn new_mailbox(
        &mut self,
        owner: &AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
        now: i64,
        tx: &mut Tx,
    ) -> Result<u64> {
        let acct = self.account(owner)?;
        if acct.mailboxes.contains_key(name) {
            return Err(StoreError::MailboxExists(name.to_string()));
        }
        let id = self.counters.next_mailbox_id;
        self.counters.next_mailbox_id += 1;
        let uid_validity = self.next_uid_validity(now);
        self.mailboxes.insert(
            id,
            Mailbox {
                id,
                owner: owner.clone(),
                name: name.clone(),
                uid_validity,
                uid_next: 1,
                highest_modseq: 1,
                special_use,
                subscribed: true,
                acl: BTreeMap::new(),
                keywords: BTreeSet::new(),
                messages: BTreeMap::new(),
                vanished: Vec::new(),
            },
        );
        self.account_mut(owner)?.mailboxes.insert(name.clone(), id);
        self.put_mailbox(id, tx);
        self.put_counters(tx);
        Ok(id)
    }

    /// Checks that `owner` may take `bytes` more in `messages` more messages.
    pub(crate) fn check_quota(&self, owner: &AccountId, bytes: u64, messages: u64) -> Result<()> {
        let a = self.account(owner)?;
        let over_b = a
            .quota
            .max_bytes
            .is_some_and(|m| a.used_bytes.saturating_add(bytes) > m);
        let over_m = a
            .quota
            .max_messages
            .is_some_and(|m| a.used_messages.saturating_add(messages) > m);
        if over_b || over_m {
            return Err(StoreError::QuotaExceeded {
                account: owner.to_string(),
                used_bytes: a.used_bytes,
                limit_bytes: a.quota.max_bytes,
                used_messages: a.used_messages,
                limit_messages: a.quota.max_messages,
                needed_bytes: bytes,
            });
        }
        Ok(())
    }

    /// Adds a reference to a body, storing it if it is new. Returns the shared blob.
    pub(crate) fn blob_ref(
        &mut self,
        hash: Hash,
        new: Option<NewBody>,
        tx: &mut Tx,
    ) -> Option<Arc<Blob>> {
        if let Some((refs, blob)) = self.blobs.get_mut(&hash) {
            *refs += 1;
            return Some(blob.clone());
        }
        let body = new?;
        tx.put(Table::Blobs, hash.to_vec(), body.raw);
        tx.put(Table::Texts, hash.to_vec(), body.text.into_bytes());
        tx.put(Table::BlobMeta, hash.to_vec(), body.meta_json);
        self.blobs.insert(hash, (1, body.blob.clone()));
        Some(body.blob)
    }

    /// Drops a reference; the body is deleted with its last reference.
    pub(crate) fn blob_unref(&mut self, hash: &Hash, tx: &mut Tx) {
        if let Some((refs, _)) = self.blobs.get_mut(hash) {
            *refs = refs.saturating_sub(1);
            if *refs == 0 {
                self.blobs.remove(hash);
                tx.del(Table::Blobs, hash.to_vec());
                tx.del(Table::Texts, hash.to_vec());
                tx.del(Table::BlobMeta, hash.to_vec());
            }
        }
    }

    /// Inserts a message with the next UID and modseq. Quota must have been checked.
    pub(crate) fn insert_msg(
        &mut self,
        mbox: u64,
        flags: Flags,
        internal_date: i64,
        blob: Arc<Blob>,
        tx: &mut Tx,
    ) -> Result<(u32, u64)> {
        let mb = self.mailbox_mut(mbox)?;
        if mb.uid_next == u32::MAX {
            return Err(StoreError::Backend(format!(
                "mailbox {} has used every UID; re-create it to get a new UIDVALIDITY",
                mb.name
            )));
        }
        let uid = mb.uid_next;
        mb.uid_next += 1;
        mb.highest_modseq += 1;
        let modseq = mb.highest_modseq;
        for k in flags.keywords() {
            if !mb.keywords.contains(k) {
                mb.keywords.insert(k.clone());
            }
        }
        let size = blob.meta.size;
        let msg = Msg {
            flags: flags.clone(),
            modseq,
            internal_date,
            blob,
        };
        State::put_msg(mbox, uid, &msg, tx);
        mb.messages.insert(uid, msg);
        let owner = mb.owner.clone();
        tx.events.push((
            mbox,
            MailboxEvent::Appended {
                uid: crate::Uid::new(uid).unwrap_or(crate::Uid::MIN),
                flags,
                modseq: crate::ModSeq(modseq),
            },
        ));
        self.put_mailbox(mbox, tx);
        let a = self.account_mut(&owner)?;
        a.used_bytes += size;
        a.used_messages += 1;
        Ok((uid, modseq))
    }

    /// Removes messages from a mailbox (one modseq for all), archiving them when the owner is
    /// in archive mode and `archive` is set; otherwise their bodies are unreferenced unless
    /// `keep_refs` (the caller moved the reference elsewhere).
    pub(crate) fn remove_msgs(
        &mut self,
        mbox: u64,
        uids: &[u32],
        archive: bool,
        keep_refs: bool,
        now: i64,
        tx: &mut Tx,
    ) -> Result<u64> {
        let owner = self.mailbox(mbox)?.owner.clone();
        let archive_on = archive && self.account(&owner)?.archive;
        let mb = self.mailbox_mut(mbox)?;
        mb.highest_modseq += 1;
        let modseq = mb.highest_modseq;
        let name = mb.name.clone();
        let mut removed = Vec::with_capacity(uids.len());
        for &uid in uids {
            if let Some(m) = mb.messages.remove(&uid) {
                tx.del(Table::Messages, codec::msg_key(mbox, uid));
                tx.put(
                    Table::Vanished,
                    codec::msg_key(mbox, uid),
                    codec::u64_key(modseq),
                );
                mb.vanished.push((modseq, uid));
                removed.push((uid, m));
            }
        }
        let uids_ev: Vec<crate::Uid> = removed
            .iter()
            .filter_map(|(u, _)| crate::Uid::new(*u))
            .collect();
        tx.events.push((
            mbox,
            MailboxEvent::Expunged {
                uids: uids_ev,
                modseq: crate::ModSeq(modseq),
            },
        ));
        self.put_mailbox(mbox, tx);
        for (uid, m) in removed {
            let size = m.blob.meta.size;
            if let Ok(a) = self.account_mut(&owner) {
                a.used_bytes = a.used_bytes.saturating_sub(size);
                a.used_messages = a.used_messages.saturating_sub(1);
            }
            if archive_on {
                self.archive_msg(&owner, &name, uid, m, now, tx);
            } else if !keep_refs {
                self.blob_unref(&m.blob.hash, tx);
            }
        }
        Ok(modseq)
    }

    fn archive_msg(
        &mut self,
        owner: &AccountId,
        name: &MailboxName,
        uid: u32,
        m: Msg,
        now: i64,
        tx: &mut Tx,
    ) {
        let id = self.counters.next_archive_id;
        self.counters.next_archive_id += 1;
        let rec = ArchivedRec {
            account: owner.clone(),
            mailbox: name.clone(),
            uid,
            archived_at: now,
            flags: FlagsRec::from(&m.flags),
            internal_date: m.internal_date,
            hash: codec::hex(&m.blob.hash),
        };
        tx.put(Table::Archive, codec::u64_key(id), json(&rec));
        self.put_counters(tx);
        self.archive.insert(
            id,
            Archived {
                account: owner.clone(),
                mailbox: name.clone(),
                uid,
                archived_at: now,
                flags: m.flags,
                internal_date: m.internal_date,
                blob: m.blob,
            },
        );
    }

    pub(crate) fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
        json(v)
    }

    pub(crate) fn read_rec(first_seen: i64) -> Vec<u8> {
        json(&ReadRec { first_seen })
    }
}
