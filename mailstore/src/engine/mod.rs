//! The engine shared by every built-in backend: an index of the loaded accounts (loaded on
//! first use, see [`loader`]), persisted as key-value mutations through a [`Backend`].

pub(crate) mod backend;
pub(crate) mod codec;
pub(crate) mod commit;
pub(crate) mod keys;
pub(crate) mod loader;
pub(crate) mod metacache;
pub(crate) mod state;
pub(crate) mod upgrade;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::broadcast;

use self::backend::{Ack, Backend, Batch, BodyKey, Mutation, NewBody, Op, Parsed, Table};
use self::codec::{ArchivedRec, BodyPart, Hash, MailboxRec, ReadRec};
use self::loader::{Loaders, Pin};
use self::metacache::MetaCache;
use self::state::{COUNTERS_KEY, FORMAT_KEY, Msg, State, Tx, json};
use crate::acl::Rights;
use crate::error::{Result, StoreError};
use crate::events::Subscription;
use crate::flags::{FlagOp, Flags, SpecialUse};
use crate::ids::{AccountId, MailboxId, MailboxName, ModSeq, Uid, UidValidity};
use crate::meta::MessageMeta;
use crate::records::*;
use crate::search::{self, Candidate, SearchFields, SearchKey};

/// Version of the on-disk format this build writes and the highest it reads. Format 1 and 2
/// stores are upgraded in place at open.
pub const FORMAT_VERSION: u32 = 3;

/// Capacity of each mailbox's event channel.
const EVENT_CAPACITY: usize = 4096;

/// Settings shared by every backend.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Largest message accepted by [`Store::append`](crate::Store::append), in bytes.
    pub max_message_size: u64,
    /// Most accounts whose index is kept in memory (default 1,000; at least 1). Accounts are
    /// loaded on first use; beyond this many, the least recently used ones are dropped from
    /// memory, except accounts a call is running on and accounts with a live subscriber
    /// (IDLE). The index costs about 100-150 bytes per message of a loaded account.
    pub max_loaded_accounts: usize,
    /// Most decoded message metadata records (envelope, MIME tree; typically 1-2 KB each)
    /// cached in memory (default 4,096; 0 disables the cache). Bodies parsed at append go in
    /// it, so clients fetching new mail read it from memory; the rest is read from disk.
    pub metadata_cache_entries: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_message_size: 64 << 20,
            max_loaded_accounts: 1_000,
            metadata_cache_entries: 4_096,
        }
    }
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn uid(v: u32) -> Uid {
    Uid::new(v).unwrap_or(Uid::MIN)
}

fn uidv(v: u32) -> UidValidity {
    UidValidity::new(v).unwrap_or(UidValidity::new(1).unwrap_or_else(|| unreachable!()))
}

/// Parses a body: its decoded text, JSON metadata and search record.
pub(crate) fn parse_body(raw: &[u8]) -> Parsed {
    parse_body_meta(raw).0
}

fn parse_body_meta(raw: &[u8]) -> (Parsed, MessageMeta) {
    let (meta, text) = crate::meta::extract(raw);
    let parsed = Parsed {
        text: Bytes::from(text.into_bytes()),
        meta_json: Bytes::from(json(&meta)),
        search: Bytes::from(codec::encode_search(&SearchFields::of(&meta))),
    };
    (parsed, meta)
}

fn normalize_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// The shared engine.
pub(crate) struct Engine {
    state: Mutex<State>,
    backend: Box<dyn Backend>,
    events: Mutex<HashMap<u64, broadcast::Sender<MailboxEvent>>>,
    loaders: Loaders,
    loads: AtomicU64,
    metas: Mutex<MetaCache>,
    config: StoreConfig,
}

impl Engine {
    /// Checks the format (upgrading a format-1 store in place), reads the counters, and
    /// writes the format record of a new store. Accounts are loaded on first use.
    pub(crate) fn open(backend: Box<dyn Backend>, config: StoreConfig) -> Result<Engine> {
        let path = backend.location();
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.clone(),
            detail,
        };
        match backend.get(Table::Meta, FORMAT_KEY)? {
            Some(v) => {
                let found = u32::from_le_bytes(
                    v.as_ref()
                        .try_into()
                        .map_err(|_| corrupt("format version record is malformed".into()))?,
                );
                if found > FORMAT_VERSION {
                    return Err(StoreError::NewerFormat {
                        path: path.clone(),
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                if found == 0 {
                    return Err(corrupt("format version 0".into()));
                }
                // Each step is one transaction: an interrupted upgrade leaves the previous
                // format, and the next open continues from there.
                if found == 1 {
                    let muts = upgrade::from_format_1(backend.as_ref())?;
                    backend.write_now(muts)?;
                }
                if found <= 2 {
                    let muts = upgrade::from_format_2(backend.as_ref())?;
                    backend.write_now(muts)?;
                }
            }
            None => {
                let mut any = false;
                for t in Table::ALL {
                    backend
                        .scan(t, &mut |_, _| {
                            any = true;
                            // Stop at the first entry.
                            Err(StoreError::Closed)
                        })
                        .or_else(|e| if any { Ok(()) } else { Err(e) })?;
                }
                if any {
                    return Err(corrupt("data present but no format version record".into()));
                }
                backend.write_now(vec![Mutation {
                    table: Table::Meta,
                    key: FORMAT_KEY.to_vec(),
                    op: Op::Put(Bytes::copy_from_slice(&FORMAT_VERSION.to_le_bytes())),
                }])?;
            }
        }
        let mut st = State::default();
        if let Some(v) = backend.get(Table::Meta, COUNTERS_KEY)? {
            st.counters =
                serde_json::from_slice(&v).map_err(|e| corrupt(format!("counters: {e}")))?;
        } else {
            st.counters = codec::Counters {
                next_mailbox_id: 1,
                next_archive_id: 1,
                next_log_seq: 1,
                last_uid_validity: u32::try_from(now().max(1)).unwrap_or(1),
            };
        }
        Ok(Engine {
            state: Mutex::new(st),
            backend,
            events: Mutex::new(HashMap::new()),
            loaders: Default::default(),
            loads: AtomicU64::new(0),
            metas: Mutex::new(MetaCache::new(config.metadata_cache_entries)),
            config,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        if self.backend.failed() {
            return Err(StoreError::Failed);
        }
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Queues the transaction (while the caller still holds the state lock, so batches reach
    /// the backend in the order they were applied to the index).
    fn submit(&self, tx: Tx) -> Ack {
        let mut events = Vec::new();
        if !tx.events.is_empty() {
            let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
            for (mbox, ev) in tx.events {
                if let Some(s) = map.get(&mbox) {
                    if s.receiver_count() == 0 {
                        map.remove(&mbox);
                    } else {
                        events.push((s.clone(), ev));
                    }
                }
            }
        }
        self.backend.submit(Batch {
            muts: tx.muts,
            events,
        })
    }

    async fn wait(ack: Ack) -> Result<()> {
        ack.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the index; if it succeeds, queues its mutations and waits until durable.
    /// The caller holds a [`Pin`] on every account `f` changes until this returns.
    ///
    /// Operations validate before they change anything; should one still fail after a
    /// change, the changes made so far are committed anyway so disk and index never diverge.
    async fn write<T>(&self, f: impl FnOnce(&mut State, &mut Tx) -> Result<T>) -> Result<T> {
        let (out, ack) = {
            let mut st = self.lock()?;
            let mut tx = Tx::default();
            let out = f(&mut st, &mut tx);
            if tx.muts.is_empty() && tx.events.is_empty() {
                return out;
            }
            (out, self.submit(tx))
        };
        Engine::wait(ack).await?;
        out
    }

    /// Waits until everything queued so far is durable.
    async fn barrier(&self) -> Result<()> {
        Engine::wait(self.backend.submit(Batch::default())).await
    }

    #[cfg(test)]
    pub(crate) fn backend_table_len(&self, table: Table) -> usize {
        let mut n = 0;
        let _ = self.backend.scan(table, &mut |_, _| {
            n += 1;
            Ok(())
        });
        n
    }

    /// Metadata of bodies, from the cache or disk, in the order given (`None`: not stored).
    async fn metas(&self, hashes: &[Hash]) -> Result<Vec<Option<Arc<MessageMeta>>>> {
        let mut out: Vec<Option<Arc<MessageMeta>>> = {
            let mut c = self.metas.lock().unwrap_or_else(|p| p.into_inner());
            hashes.iter().map(|h| c.get(h)).collect()
        };
        for round in 0..2 {
            let missing: Vec<usize> = (0..hashes.len()).filter(|i| out[*i].is_none()).collect();
            if missing.is_empty() {
                break;
            }
            if round == 1 {
                // Appended but maybe not committed yet: wait for the writer, read again.
                self.barrier().await?;
            }
            let keys: Vec<&[u8]> = missing.iter().map(|i| &hashes[*i][..]).collect();
            let vals = self.body_parts(BodyPart::Meta, &keys)?;
            let mut c = self.metas.lock().unwrap_or_else(|p| p.into_inner());
            for (i, v) in missing.into_iter().zip(vals) {
                if let Some(v) = v {
                    let meta: MessageMeta = serde_json::from_slice(&v).map_err(|e| {
                        self.corrupt_err(format!(
                            "metadata of body {}: {e}",
                            codec::hex(&hashes[i])
                        ))
                    })?;
                    let meta = Arc::new(meta);
                    c.insert(hashes[i], meta.clone());
                    out[i] = Some(meta);
                }
            }
        }
        Ok(out)
    }

    /// Body ids of bodies (from their refs records), in the order given (`None`: not stored).
    fn body_keys(&self, hashes: &[&[u8]]) -> Result<Vec<Option<BodyKey>>> {
        let mut out = vec![None; hashes.len()];
        self.backend.get_each(Table::Refs, hashes, &mut |i, v| {
            let (_, id, _) = backend::split_refs(v).ok_or_else(|| {
                self.corrupt_err(format!(
                    "reference record of body {}",
                    codec::hex_prefix(hashes[i])
                ))
            })?;
            out[i] = Some(id);
            Ok(())
        })?;
        Ok(out)
    }

    /// One part of each body's record, in the order given (`None`: not stored). Only that
    /// part is copied out of the record.
    fn body_parts(&self, part: BodyPart, hashes: &[&[u8]]) -> Result<Vec<Option<Bytes>>> {
        let ids = self.body_keys(hashes)?;
        let present: Vec<(usize, BodyKey)> = ids
            .into_iter()
            .enumerate()
            .filter_map(|(i, id)| Some((i, id?)))
            .collect();
        let keys: Vec<&[u8]> = present.iter().map(|(_, id)| &id[..]).collect();
        let mut out = vec![None; hashes.len()];
        self.backend.get_each(Table::Bodies, &keys, &mut |j, v| {
            let (i, id) = &present[j];
            let p = codec::body_part(v, part).ok_or_else(|| {
                self.corrupt_err(format!("record of body {}", u64::from_be_bytes(*id)))
            })?;
            out[*i] = Some(Bytes::copy_from_slice(p));
            Ok(())
        })?;
        Ok(out)
    }

    /// Refs records (count ++ body id ++ search record) of bodies, in the order given
    /// (`None`: not stored).
    async fn search_records(&self, hashes: &[Hash]) -> Result<Vec<Option<Bytes>>> {
        let keys: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
        let mut raw = self.backend.get_many(Table::Refs, &keys)?;
        if raw.iter().any(Option::is_none) {
            // Appended but maybe not committed yet: wait for the writer, read those again.
            self.barrier().await?;
            let missing: Vec<usize> = (0..raw.len()).filter(|i| raw[*i].is_none()).collect();
            let keys: Vec<&[u8]> = missing.iter().map(|i| &hashes[*i][..]).collect();
            for (i, v) in missing
                .into_iter()
                .zip(self.backend.get_many(Table::Refs, &keys)?)
            {
                raw[i] = v;
            }
        }
        Ok(raw)
    }

    /// Decodes the search record of a refs record (count ++ body id ++ search record).
    fn decode_search<'a>(&self, v: &'a [u8], hash: &Hash) -> Result<codec::SearchView<'a>> {
        backend::split_refs(v)
            .and_then(|(_, _, search)| codec::decode_search(search))
            .ok_or_else(|| self.corrupt_err(format!("search record of body {}", codec::hex(hash))))
    }

    fn corrupt_err(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.backend.location(),
            detail,
        }
    }

    // ---- accounts ----

    pub(crate) async fn create_account(
        &self,
        account: &AccountId,
        mailboxes: &[(MailboxName, Option<SpecialUse>)],
    ) -> Result<()> {
        let t = now();
        let _pin = self.pin(account, true).await?;
        self.write(|st, tx| {
            let inbox = MailboxName::inbox();
            if !st.account(account)?.mailboxes.contains_key(&inbox) {
                let su = mailboxes
                    .iter()
                    .find(|(n, _)| n.is_inbox())
                    .and_then(|(_, s)| *s);
                st.new_mailbox(account, &inbox, su, t, tx)?;
            }
            for (name, su) in mailboxes {
                if !st.account(account)?.mailboxes.contains_key(name) {
                    st.new_mailbox(account, name, *su, t, tx)?;
                }
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn account_exists(&self, account: &AccountId) -> Result<bool> {
        if self.lock()?.accounts.contains_key(account) {
            return Ok(true);
        }
        Ok(self
            .backend
            .get(Table::Accounts, account.as_str().as_bytes())?
            .is_some())
    }

    pub(crate) async fn set_quota(&self, account: &AccountId, quota: Quota) -> Result<()> {
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            st.account_mut(account)?.quota = quota;
            st.put_account(account, tx);
            Ok(())
        })
        .await
    }

    pub(crate) async fn quota(&self, account: &AccountId) -> Result<QuotaUsage> {
        let _pin = self.pin(account, false).await?;
        let st = self.lock()?;
        let a = st.account(account)?;
        Ok(QuotaUsage {
            quota: a.quota,
            used_bytes: a.used_bytes,
            used_messages: a.used_messages,
        })
    }

    pub(crate) async fn set_archive_mode(&self, account: &AccountId, on: bool) -> Result<()> {
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            st.account_mut(account)?.archive = on;
            st.put_account(account, tx);
            Ok(())
        })
        .await
    }

    /// `(archive id, body hash)` of an account's archive on disk.
    fn archive_on_disk(&self, account: &AccountId) -> Result<Vec<(u64, ArchivedRec)>> {
        let mut out = Vec::new();
        self.backend.scan_prefix(
            Table::Archive,
            &keys::account_prefix(account),
            &mut |k, v| {
                let id = keys::parse_account_id_key(k)
                    .ok_or_else(|| self.corrupt_err(format!("archive key of {account}")))?;
                let rec: ArchivedRec = serde_json::from_slice(v)
                    .map_err(|e| self.corrupt_err(format!("archive {id}: {e}")))?;
                out.push((id, rec));
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Removes an account: its mailboxes and message references (bodies are freed with their
    /// last reference), its archive, its quota, the grants on its mailboxes and the grants
    /// other accounts gave it. Read receipts and mail-log records stay (audit).
    pub(crate) async fn delete_account(&self, account: &AccountId) -> Result<()> {
        let mut pin = self.pin(account, false).await?;
        // From here on no new grant to this account is accepted (`set_rights`); grants
        // already queued are durable after the barrier, so the scan below sees them all.
        self.lock()?.account_mut(account)?.deleting = true;
        let r = self.delete_account_pinned(account, &mut pin).await;
        if r.is_err()
            && let Ok(mut st) = self.lock()
            && let Some(a) = st.accounts.get_mut(account)
        {
            a.deleting = false;
        }
        drop(pin);
        r
    }

    async fn delete_account_pinned<'a>(
        &'a self,
        account: &AccountId,
        pin: &mut Pin<'a>,
    ) -> Result<()> {
        // Grants and archive entries queued by calls still running are durable after this.
        self.barrier().await?;
        // Grants others gave this account: their owners' indexes change too.
        let mut given: Vec<(u64, AccountId)> = Vec::new();
        self.backend.scan_prefix(
            Table::Grants,
            &keys::account_prefix(account),
            &mut |k, v| {
                let id = keys::parse_account_id_key(k)
                    .ok_or_else(|| self.corrupt_err(format!("grant key of {account}")))?;
                let owner = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| AccountId::new(s).ok())
                    .ok_or_else(|| self.corrupt_err(format!("grant of mailbox {id}")))?;
                given.push((id, owner));
                Ok(())
            },
        )?;
        for (_, owner) in &given {
            if owner != account {
                match self.pin(owner, false).await {
                    Ok(p) => pin.join(p),
                    Err(StoreError::NoSuchAccount(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let on_disk: Vec<(u64, Hash)> = self
            .archive_on_disk(account)?
            .into_iter()
            .filter_map(|(id, rec)| Some((id, codec::unhex(&rec.hash)?)))
            .collect();
        self.write(|st, tx| {
            let acct = st.account(account)?;
            let boxes: Vec<u64> = acct.mailboxes.values().copied().collect();
            let mut archived: Vec<(u64, Hash)> = on_disk;
            archived.extend(acct.archive_added.iter().copied());
            archived.retain(|(id, _)| !acct.archive_removed.contains(id));
            archived.sort_unstable();
            archived.dedup_by_key(|(id, _)| *id);
            for id in boxes {
                let Some(mb) = st.drop_mailbox(id, tx) else {
                    continue;
                };
                for (u, m) in &mb.messages {
                    tx.del(Table::Messages, keys::msg_key(id, *u));
                    tx.ref_dec(&m.hash);
                }
            }
            for (id, owner) in &given {
                if owner != account
                    && let Some(mb) = st.mailboxes.get_mut(id)
                {
                    mb.acl.remove(account);
                    st.put_mailbox(*id, tx);
                }
                tx.del(Table::Grants, keys::account_id_key(account, *id));
            }
            for (id, hash) in archived {
                tx.del(Table::Archive, keys::account_id_key(account, id));
                tx.ref_dec(&hash);
            }
            st.accounts.remove(account);
            tx.del(Table::Accounts, account.as_str().as_bytes().to_vec());
            Ok(())
        })
        .await
    }

    // ---- mailboxes ----

    pub(crate) async fn create_mailbox(
        &self,
        account: &AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxId> {
        let t = now();
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            st.new_mailbox(account, name, special_use, t, tx)
                .map(MailboxId)
        })
        .await
    }

    pub(crate) async fn delete_mailbox(
        &self,
        account: &AccountId,
        name: &MailboxName,
    ) -> Result<()> {
        if name.is_inbox() {
            return Err(StoreError::CannotDeleteInbox);
        }
        let t = now();
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            let id = st.find(account, name)?;
            let uids: Vec<u32> = st.mailbox(id)?.messages.keys().copied().collect();
            if !uids.is_empty() {
                st.remove_msgs(id, &uids, true, false, t, tx)?;
            }
            st.drop_mailbox(id, tx)
                .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
            st.account_mut(account)?.mailboxes.remove(name);
            Ok(())
        })
        .await
    }

    pub(crate) async fn rename_mailbox(
        &self,
        account: &AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<()> {
        let t = now();
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            let src = st.find(account, from)?;
            let acct = st.account(account)?;
            if acct.mailboxes.contains_key(to) {
                return Err(StoreError::MailboxExists(to.to_string()));
            }
            if to.is_descendant_of(from) {
                return Err(StoreError::InvalidMailboxName {
                    name: to.to_string(),
                    reason: "cannot rename a mailbox into its own subtree",
                });
            }
            if from.is_inbox() {
                // RFC 3501: move INBOX's messages to a new mailbox; INBOX stays, empty.
                let dst = st.new_mailbox(account, to, None, t, tx)?;
                let msgs: Vec<(u32, Msg)> = st
                    .mailbox(src)?
                    .messages
                    .iter()
                    .map(|(u, m)| (*u, m.clone()))
                    .collect();
                for (_, m) in &msgs {
                    // The reference moves with the message (keep_refs below).
                    st.insert_msg(dst, m.flags.clone(), m.internal_date, m.size, m.hash, tx)?;
                }
                if !msgs.is_empty() {
                    let uids: Vec<u32> = msgs.iter().map(|(u, _)| *u).collect();
                    st.remove_msgs(src, &uids, false, true, t, tx)?;
                }
                return Ok(());
            }
            let moving: Vec<(MailboxName, u64)> = acct
                .mailboxes
                .iter()
                .filter(|(n, _)| *n == from || n.is_descendant_of(from))
                .map(|(n, id)| (n.clone(), *id))
                .collect();
            for (n, _) in &moving {
                let new = n.reparent(from, to);
                if acct.mailboxes.contains_key(&new) {
                    return Err(StoreError::MailboxExists(new.to_string()));
                }
            }
            for (n, id) in moving {
                let new = n.reparent(from, to);
                let a = st.account_mut(account)?;
                a.mailboxes.remove(&n);
                a.mailboxes.insert(new.clone(), id);
                st.mailbox_mut(id)?.name = new;
                st.put_mailbox(id, tx);
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn list_mailboxes(&self, account: &AccountId) -> Result<Vec<MailboxInfo>> {
        let _pin = self.pin(account, false).await?;
        let st = self.lock()?;
        let a = st.account(account)?;
        let mut out = Vec::with_capacity(a.mailboxes.len());
        let names: Vec<&MailboxName> = a.mailboxes.keys().collect();
        for (i, (name, id)) in a.mailboxes.iter().enumerate() {
            let mb = st.mailbox(*id)?;
            let has_children = names[i + 1..].iter().any(|n| n.is_descendant_of(name))
                || names[..i].iter().any(|n| n.is_descendant_of(name));
            out.push(MailboxInfo {
                id: MailboxId(*id),
                name: name.clone(),
                special_use: mb.special_use,
                subscribed: mb.subscribed,
                has_children,
                uid_validity: uidv(mb.uid_validity),
            });
        }
        Ok(out)
    }

    pub(crate) async fn set_subscribed(
        &self,
        account: &AccountId,
        name: &MailboxName,
        on: bool,
    ) -> Result<()> {
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            let id = st.find(account, name)?;
            st.mailbox_mut(id)?.subscribed = on;
            st.put_mailbox(id, tx);
            Ok(())
        })
        .await
    }

    pub(crate) async fn set_special_use(
        &self,
        account: &AccountId,
        name: &MailboxName,
        su: Option<SpecialUse>,
    ) -> Result<()> {
        let _pin = self.pin(account, false).await?;
        self.write(|st, tx| {
            let id = st.find(account, name)?;
            st.mailbox_mut(id)?.special_use = su;
            st.put_mailbox(id, tx);
            Ok(())
        })
        .await
    }

    pub(crate) async fn mailbox_id(
        &self,
        owner: &AccountId,
        name: &MailboxName,
    ) -> Result<MailboxId> {
        let _pin = self.pin(owner, false).await?;
        self.lock()?.find(owner, name).map(MailboxId)
    }

    pub(crate) async fn select(&self, mailbox: MailboxId) -> Result<SelectedMailbox> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        Ok(SelectedMailbox {
            id: mailbox,
            name: mb.name.clone(),
            uid_validity: uidv(mb.uid_validity),
            uid_next: uid(mb.uid_next),
            highest_modseq: ModSeq(mb.highest_modseq),
            keywords: mb.keywords.iter().cloned().collect(),
            messages: mb
                .messages
                .iter()
                .map(|(u, m)| MessageFlags {
                    uid: uid(*u),
                    flags: m.flags.clone(),
                    modseq: ModSeq(m.modseq),
                })
                .collect(),
        })
    }

    pub(crate) async fn status(&self, mailbox: MailboxId) -> Result<MailboxStatus> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        let mut unseen = 0u32;
        let mut size = 0u64;
        for m in mb.messages.values() {
            if !m.flags.is_seen() {
                unseen += 1;
            }
            size += m.size;
        }
        Ok(MailboxStatus {
            messages: mb.messages.len() as u32,
            unseen,
            uid_next: uid(mb.uid_next),
            uid_validity: uidv(mb.uid_validity),
            highest_modseq: ModSeq(mb.highest_modseq),
            size,
        })
    }

    // ---- messages ----

    /// Checks the size, hashes the body, and parses it unless the store already holds it.
    fn prepare_body(&self, raw: &Bytes) -> Result<(Hash, Arc<NewBody>)> {
        let size = raw.len() as u64;
        if size > self.config.max_message_size {
            return Err(StoreError::MessageTooLarge {
                size,
                limit: self.config.max_message_size,
            });
        }
        let hash = codec::sha256(raw);
        if self.backend.get(Table::Refs, &hash)?.is_some() {
            // Stored already; should it be freed before this commit, the writer parses it.
            return Ok((
                hash,
                Arc::new(NewBody {
                    raw: raw.clone(),
                    parsed: None,
                }),
            ));
        }
        let (parsed, meta) = parse_body_meta(raw);
        self.metas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash, Arc::new(meta));
        Ok((
            hash,
            Arc::new(NewBody {
                raw: raw.clone(),
                parsed: Some(parsed),
            }),
        ))
    }

    pub(crate) async fn append(
        &self,
        mailbox: MailboxId,
        raw: Bytes,
        flags: Flags,
        internal_date: i64,
    ) -> Result<Appended> {
        let (hash, body) = self.prepare_body(&raw)?;
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let size = raw.len() as u64;
        self.write(|st, tx| {
            let owner = st.mailbox(mailbox.0)?.owner.clone();
            st.check_quota(&owner, size, 1)?;
            let uv = st.mailbox(mailbox.0)?.uid_validity;
            tx.ref_inc(&hash, Some(body));
            let (u, ms) = st.insert_msg(mailbox.0, flags.clone(), internal_date, size, hash, tx)?;
            Ok(Appended {
                uid_validity: uidv(uv),
                uid: uid(u),
                modseq: ModSeq(ms),
            })
        })
        .await
    }

    /// Index entries of the given UIDs (ascending, deduplicated, missing ones skipped).
    fn snapshot(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<(u32, Msg)>> {
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        let mut v: Vec<u32> = uids.iter().map(|u| u.get()).collect();
        v.sort_unstable();
        v.dedup();
        Ok(v.into_iter()
            .filter_map(|u| mb.messages.get(&u).map(|m| (u, m.clone())))
            .collect())
    }

    pub(crate) async fn message(&self, mailbox: MailboxId, u: Uid) -> Result<MessageInfo> {
        self.messages(mailbox, &[u])
            .await?
            .pop()
            .ok_or(StoreError::NoSuchMessage(u.get()))
    }

    pub(crate) async fn messages(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Vec<MessageInfo>> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let snap = self.snapshot(mailbox, uids)?;
        let hashes: Vec<Hash> = snap.iter().map(|(_, m)| m.hash).collect();
        let metas = self.metas(&hashes).await?;
        // A body missing now was expunged (and freed) after the snapshot: skip it.
        Ok(snap
            .into_iter()
            .zip(metas)
            .filter_map(|((u, m), meta)| {
                Some(MessageInfo {
                    uid: uid(u),
                    flags: m.flags,
                    modseq: ModSeq(m.modseq),
                    internal_date: m.internal_date,
                    size: m.size,
                    meta: meta?,
                })
            })
            .collect())
    }

    fn blob_hash(&self, mailbox: MailboxId, u: Uid) -> Result<Hash> {
        let st = self.lock()?;
        let m = st
            .mailbox(mailbox.0)?
            .messages
            .get(&u.get())
            .ok_or(StoreError::NoSuchMessage(u.get()))?;
        Ok(m.hash)
    }

    async fn read_part(&self, part: BodyPart, hash: &Hash) -> Result<Bytes> {
        if let Some(b) = self.body_parts(part, &[hash])?.pop().flatten() {
            return Ok(b);
        }
        // Appended but not committed yet: wait for the writer, then read again.
        self.barrier().await?;
        self.body_parts(part, &[hash])?
            .pop()
            .flatten()
            .ok_or_else(|| StoreError::Corrupt {
                path: self.backend.location(),
                detail: format!("body {} is missing", codec::hex(hash)),
            })
    }

    pub(crate) async fn read_message(&self, mailbox: MailboxId, u: Uid) -> Result<Bytes> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let hash = self.blob_hash(mailbox, u)?;
        match self.read_part(BodyPart::Raw, &hash).await {
            // Expunged (and its body freed) between the lookup and the read.
            Err(StoreError::Corrupt { .. }) if self.blob_hash(mailbox, u).is_err() => {
                Err(StoreError::NoSuchMessage(u.get()))
            }
            other => other,
        }
    }

    pub(crate) async fn read_range(
        &self,
        mailbox: MailboxId,
        u: Uid,
        start: u64,
        end: u64,
    ) -> Result<Bytes> {
        let raw = self.read_message(mailbox, u).await?;
        let size = raw.len() as u64;
        if start > size || start > end {
            return Err(StoreError::InvalidRange { start, end, size });
        }
        Ok(raw.slice(start as usize..end.min(size) as usize))
    }

    pub(crate) async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsStored> {
        let t = now();
        let _pin = self.pin_mailbox(mailbox.0).await?;
        // Message-IDs of messages this call may mark \Seen (for read receipts), read first.
        let mut ids: HashMap<Hash, String> = HashMap::new();
        if flags.is_seen() && op != FlagOp::Remove {
            let unseen: Vec<Hash> = self
                .snapshot(mailbox, uids)?
                .into_iter()
                .filter(|(_, m)| !m.flags.is_seen())
                .map(|(_, m)| m.hash)
                .collect::<HashSet<Hash>>()
                .into_iter()
                .collect();
            for (h, rec) in unseen.iter().zip(self.search_records(&unseen).await?) {
                if let Some(rec) = rec
                    && let Some(id) = self.decode_search(&rec, h)?.message_id
                {
                    ids.insert(*h, id.to_owned());
                }
            }
        }
        self.write(|st, tx| {
            let mut out = FlagsStored::default();
            let owner = st.mailbox(mailbox.0)?.owner.clone();
            let mut seen_ids: Vec<String> = Vec::new();
            {
                let mb = st.mailbox_mut(mailbox.0)?;
                let mut v: Vec<u32> = uids.iter().map(|u| u.get()).collect();
                v.sort_unstable();
                v.dedup();
                let mut bumped = false;
                for u in v {
                    let Some(m) = mb.messages.get(&u) else {
                        continue;
                    };
                    if unchanged_since.is_some_and(|s| m.modseq > s.0) {
                        out.modified.push(uid(u));
                        continue;
                    }
                    let new = m.flags.apply(op, flags);
                    if new == m.flags {
                        out.updated.push(MessageFlags {
                            uid: uid(u),
                            flags: new,
                            modseq: ModSeq(m.modseq),
                        });
                        continue;
                    }
                    if !bumped {
                        mb.highest_modseq += 1;
                        bumped = true;
                    }
                    let ms = mb.highest_modseq;
                    for k in new.keywords() {
                        if !mb.keywords.contains(k) {
                            mb.keywords.insert(k.clone());
                        }
                    }
                    let Some(m) = mb.messages.get_mut(&u) else {
                        continue;
                    };
                    if new.is_seen()
                        && !m.flags.is_seen()
                        && let Some(id) = ids.get(&m.hash)
                    {
                        seen_ids.push(id.clone());
                    }
                    m.flags = new.clone();
                    m.modseq = ms;
                    State::put_msg(mailbox.0, u, m, tx);
                    tx.events.push((
                        mailbox.0,
                        MailboxEvent::FlagsChanged {
                            uid: uid(u),
                            flags: new.clone(),
                            modseq: ModSeq(ms),
                        },
                    ));
                    out.updated.push(MessageFlags {
                        uid: uid(u),
                        flags: new,
                        modseq: ModSeq(ms),
                    });
                }
                if bumped {
                    st.put_mailbox(mailbox.0, tx);
                }
            }
            seen_ids.sort_unstable();
            seen_ids.dedup();
            for id in seen_ids {
                // The first receipt wins; the writer keeps an existing one.
                tx.put_if_absent(
                    Table::Reads,
                    keys::read_key(&id, &owner),
                    json(&ReadRec { first_seen: t }),
                );
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn expunge(
        &self,
        mailbox: MailboxId,
        uids: Option<&[Uid]>,
    ) -> Result<Vec<Uid>> {
        let t = now();
        let _pin = self.pin_mailbox(mailbox.0).await?;
        self.write(|st, tx| {
            let mb = st.mailbox(mailbox.0)?;
            let targets: Vec<u32> = match uids {
                None => mb
                    .messages
                    .iter()
                    .filter(|(_, m)| m.flags.is_deleted())
                    .map(|(u, _)| *u)
                    .collect(),
                Some(list) => {
                    let mut v: Vec<u32> = list
                        .iter()
                        .map(|u| u.get())
                        .filter(|u| mb.messages.get(u).is_some_and(|m| m.flags.is_deleted()))
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
            };
            if targets.is_empty() {
                return Ok(Vec::new());
            }
            st.remove_msgs(mailbox.0, &targets, true, false, t, tx)?;
            Ok(targets.into_iter().map(uid).collect())
        })
        .await
    }

    fn copy_in(
        st: &mut State,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
        is_move: bool,
        tx: &mut Tx,
    ) -> Result<(CopiedUids, Vec<u32>)> {
        let src = st.mailbox(from.0)?;
        let mut v: Vec<u32> = uids
            .iter()
            .map(|u| u.get())
            .filter(|u| src.messages.contains_key(u))
            .collect();
        v.sort_unstable();
        v.dedup();
        let msgs: Vec<Msg> = v
            .iter()
            .filter_map(|u| src.messages.get(u).cloned())
            .collect();
        let dst = st.mailbox(to.0)?;
        let (dst_owner, dst_uv) = (dst.owner.clone(), dst.uid_validity);
        let bytes: u64 = msgs.iter().map(|m| m.size).sum();
        let src_owner = src.owner.clone();
        // A move within one account does not change its use.
        if !(is_move && src_owner == dst_owner) {
            st.check_quota(&dst_owner, bytes, msgs.len() as u64)?;
        }
        if u64::from(st.mailbox(to.0)?.uid_next) + msgs.len() as u64 >= u64::from(u32::MAX) {
            return Err(StoreError::Backend(format!(
                "mailbox {} has no UIDs left; re-create it to get a new UIDVALIDITY",
                st.mailbox(to.0)?.name
            )));
        }
        let mut map = Vec::with_capacity(v.len());
        for (u, m) in v.iter().zip(msgs) {
            // The source still holds its reference, so the body is stored.
            tx.ref_inc(&m.hash, None);
            let (nu, _) = st.insert_msg(to.0, m.flags, m.internal_date, m.size, m.hash, tx)?;
            map.push((uid(*u), uid(nu)));
        }
        Ok((
            CopiedUids {
                dest_uid_validity: uidv(dst_uv),
                map,
            },
            v,
        ))
    }

    async fn pin_two(&self, a: MailboxId, b: MailboxId) -> Result<Pin<'_>> {
        let mut pin = self.pin_mailbox(a.0).await?;
        pin.join(self.pin_mailbox(b.0).await?);
        Ok(pin)
    }

    pub(crate) async fn copy(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopiedUids> {
        let _pin = self.pin_two(from, to).await?;
        self.write(|st, tx| Engine::copy_in(st, from, uids, to, false, tx).map(|r| r.0))
            .await
    }

    pub(crate) async fn move_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopiedUids> {
        let t = now();
        let _pin = self.pin_two(from, to).await?;
        self.write(|st, tx| {
            let (c, moved) = Engine::copy_in(st, from, uids, to, true, tx)?;
            if !moved.is_empty() {
                st.remove_msgs(from.0, &moved, false, false, t, tx)?;
            }
            Ok(c)
        })
        .await
    }

    pub(crate) async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> Result<Changes> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        let changed = mb
            .messages
            .iter()
            .filter(|(_, m)| m.modseq > since.0)
            .map(|(u, m)| MessageFlags {
                uid: uid(*u),
                flags: m.flags.clone(),
                modseq: ModSeq(m.modseq),
            })
            .collect();
        let start = mb.vanished.partition_point(|(ms, _)| *ms <= since.0);
        let mut vanished: Vec<Uid> = mb.vanished[start..].iter().map(|(_, u)| uid(*u)).collect();
        vanished.sort_unstable();
        vanished.dedup();
        Ok(Changes {
            changed,
            vanished,
            highest_modseq: ModSeq(mb.highest_modseq),
        })
    }

    pub(crate) async fn search(&self, mailbox: MailboxId, query: &SearchKey) -> Result<Vec<Uid>> {
        let q = query.prepared();
        let _pin = self.pin_mailbox(mailbox.0).await?;
        if !q.needs_fields() {
            let mut none = || None;
            let mut none2 = || None;
            // Flags, UIDs, dates, sizes, modseqs: the index alone answers.
            let st = self.lock()?;
            let mb = st.mailbox(mailbox.0)?;
            let empty = codec::SearchView::EMPTY;
            let mut out = Vec::new();
            for (u, m) in &mb.messages {
                let c = Candidate {
                    uid: uid(*u),
                    flags: &m.flags,
                    modseq: ModSeq(m.modseq),
                    internal_date: m.internal_date,
                    size: m.size,
                    fields: &empty,
                };
                if search::matches(&q, &c, &mut none, &mut none2) {
                    out.push(uid(*u));
                }
            }
            return Ok(out);
        }
        let snapshot: Vec<(u32, Msg)> = {
            let st = self.lock()?;
            st.mailbox(mailbox.0)?
                .messages
                .iter()
                .map(|(u, m)| (*u, m.clone()))
                .collect()
        };
        let needs_io = q.needs_body() || has_header_value(&q);
        let hashes: Vec<&[u8]> = snapshot.iter().map(|(_, m)| &m.hash[..]).collect();
        // Each candidate's search record is decoded in place (no copy) and matched.
        let mut state: Vec<Option<bool>> = vec![None; snapshot.len()];
        let backend = &self.backend;
        let visit = |state: &mut [Option<bool>], i: usize, rec: &[u8]| -> Result<()> {
            let (u, m) = &snapshot[i];
            let f = self.decode_search(rec, &m.hash)?;
            let c = Candidate {
                uid: uid(*u),
                flags: &m.flags,
                modseq: ModSeq(m.modseq),
                internal_date: m.internal_date,
                size: m.size,
                fields: &f,
            };
            let matched = if needs_io {
                let id = backend::split_refs(rec)
                    .map(|(_, id, _)| id)
                    .unwrap_or_default();
                let body_off = f.body_offset as usize;
                // Decodes part of the body record in place (damaged or gone: no match).
                let read = |part: BodyPart, len: usize| {
                    let mut out = None;
                    let _ = backend.get_each(Table::Bodies, &[&id[..]], &mut |_, v| {
                        out = codec::body_part(v, part)
                            .map(|p| String::from_utf8_lossy(&p[..len.min(p.len())]).into_owned());
                        Ok(())
                    });
                    out
                };
                let mut header = || read(BodyPart::Raw, body_off);
                let mut body = || read(BodyPart::Text, usize::MAX);
                search::matches(&q, &c, &mut header, &mut body)
            } else {
                search::matches(&q, &c, &mut || None, &mut || None)
            };
            state[i] = Some(matched);
            Ok(())
        };
        self.backend.get_each(Table::Refs, &hashes, &mut |i, rec| {
            visit(&mut state, i, rec)
        })?;
        let missing: Vec<usize> = (0..state.len()).filter(|i| state[*i].is_none()).collect();
        if !missing.is_empty() {
            // Appended but maybe not committed yet: wait for the writer, read those again.
            // Still missing: expunged and freed since the snapshot.
            self.barrier().await?;
            let keys: Vec<&[u8]> = missing.iter().map(|i| hashes[*i]).collect();
            self.backend.get_each(Table::Refs, &keys, &mut |j, rec| {
                visit(&mut state, missing[j], rec)
            })?;
        }
        Ok(snapshot
            .iter()
            .zip(state)
            .filter(|(_, s)| *s == Some(true))
            .map(|((u, _), _)| uid(*u))
            .collect())
    }

    pub(crate) async fn subscribe(&self, mailbox: MailboxId) -> Result<Subscription> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        // Check existence under the state lock, then register (the live receiver keeps the
        // account loaded from now on).
        let st = self.lock()?;
        let _ = st.mailbox(mailbox.0)?;
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let tx = map
            .entry(mailbox.0)
            .or_insert_with(|| broadcast::channel(EVENT_CAPACITY).0);
        Ok(Subscription::new(tx.subscribe()))
    }

    // ---- sharing ----

    pub(crate) async fn set_rights(
        &self,
        owner: &AccountId,
        name: &MailboxName,
        grantee: &AccountId,
        rights: Rights,
    ) -> Result<()> {
        let mut pin = self.pin(grantee, false).await?;
        pin.join(self.pin(owner, false).await?);
        self.write(|st, tx| {
            if st.account(grantee)?.deleting {
                return Err(StoreError::NoSuchAccount(grantee.to_string()));
            }
            let id = st.find(owner, name)?;
            let mb = st.mailbox_mut(id)?;
            if rights.is_empty() {
                mb.acl.remove(grantee);
                tx.del(Table::Grants, keys::account_id_key(grantee, id));
            } else {
                mb.acl.insert(grantee.clone(), rights);
                tx.put(
                    Table::Grants,
                    keys::account_id_key(grantee, id),
                    owner.as_str().as_bytes().to_vec(),
                );
            }
            st.put_mailbox(id, tx);
            Ok(())
        })
        .await
    }

    pub(crate) async fn acl(
        &self,
        owner: &AccountId,
        name: &MailboxName,
    ) -> Result<Vec<(AccountId, Rights)>> {
        let _pin = self.pin(owner, false).await?;
        let st = self.lock()?;
        let id = st.find(owner, name)?;
        Ok(st
            .mailbox(id)?
            .acl
            .iter()
            .map(|(a, r)| (a.clone(), *r))
            .collect())
    }

    pub(crate) async fn my_rights(&self, mailbox: MailboxId, who: &AccountId) -> Result<Rights> {
        let _pin = self.pin_mailbox(mailbox.0).await?;
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        if &mb.owner == who {
            return Ok(Rights::ALL);
        }
        Ok(mb.acl.get(who).copied().unwrap_or(Rights::NONE))
    }

    /// Answered from the grants table and the owners' mailbox records, without loading the
    /// owners (a loaded owner's index is used, as it may be ahead of the disk).
    pub(crate) async fn shared_with(&self, grantee: &AccountId) -> Result<Vec<SharedMailbox>> {
        let mut grants: Vec<(u64, AccountId)> = Vec::new();
        self.backend.scan_prefix(
            Table::Grants,
            &keys::account_prefix(grantee),
            &mut |k, v| {
                let id = keys::parse_account_id_key(k)
                    .ok_or_else(|| self.corrupt_err(format!("grant key of {grantee}")))?;
                let owner = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| AccountId::new(s).ok())
                    .ok_or_else(|| self.corrupt_err(format!("grant of mailbox {id}")))?;
                grants.push((id, owner));
                Ok(())
            },
        )?;
        let mut out = Vec::new();
        for (id, owner) in grants {
            if &owner == grantee {
                continue;
            }
            let loaded = {
                let st = self.lock()?;
                st.accounts.contains_key(&owner).then(|| {
                    st.mailboxes
                        .get(&id)
                        .map(|mb| (mb.name.clone(), mb.acl.get(grantee).copied()))
                })
            };
            let (name, rights) = match loaded {
                Some(Some(x)) => x,
                Some(None) => continue,
                None => {
                    let Some(v) = self
                        .backend
                        .get(Table::Mailboxes, &keys::account_id_key(&owner, id))?
                    else {
                        continue;
                    };
                    let rec: MailboxRec = serde_json::from_slice(&v)
                        .map_err(|e| self.corrupt_err(format!("mailbox {id}: {e}")))?;
                    let r = rec.acl.iter().find(|(a, _)| a == grantee).map(|(_, r)| *r);
                    (rec.name, r)
                }
            };
            if let Some(r) = rights
                && r.contains(Rights::LOOKUP)
            {
                out.push(SharedMailbox {
                    owner,
                    name,
                    id: MailboxId(id),
                    rights: r,
                });
            }
        }
        out.sort_by(|a, b| (&a.owner, &a.name).cmp(&(&b.owner, &b.name)));
        Ok(out)
    }

    // ---- archive ----

    pub(crate) async fn list_archived(&self, account: &AccountId) -> Result<Vec<ArchivedMessage>> {
        let _pin = self.pin(account, false).await?;
        self.barrier().await?;
        let recs = self.archive_on_disk(account)?;
        let hashes: Vec<Hash> = recs
            .iter()
            .map(|(id, r)| {
                codec::unhex(&r.hash).ok_or_else(|| self.corrupt_err(format!("archive {id} hash")))
            })
            .collect::<Result<_>>()?;
        let metas = self.metas(&hashes).await?;
        recs.into_iter()
            .zip(metas)
            .map(|((id, a), meta)| {
                let meta = meta.ok_or_else(|| {
                    self.corrupt_err(format!("archive {id} refers to a missing body"))
                })?;
                Ok(ArchivedMessage {
                    id,
                    mailbox: a.mailbox,
                    uid: uid(a.uid),
                    archived_at: a.archived_at,
                    flags: a.flags.into(),
                    internal_date: a.internal_date,
                    size: meta.size,
                    meta,
                })
            })
            .collect()
    }

    pub(crate) async fn restore_archived(
        &self,
        account: &AccountId,
        id: u64,
        to: MailboxId,
    ) -> Result<Appended> {
        let mut pin = self.pin(account, false).await?;
        match self.pin_mailbox(to.0).await {
            Ok(p) => pin.join(p),
            Err(StoreError::NoSuchMailbox(_)) => {
                return Err(StoreError::NoSuchMailbox(format!("#{}", to.0)));
            }
            Err(e) => return Err(e),
        }
        self.barrier().await?;
        let key = keys::account_id_key(account, id);
        let rec: ArchivedRec = match self.backend.get(Table::Archive, &key)? {
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| self.corrupt_err(format!("archive {id}: {e}")))?,
            None => return Err(StoreError::NoSuchArchived(id)),
        };
        let hash = codec::unhex(&rec.hash)
            .ok_or_else(|| self.corrupt_err(format!("archive {id} hash")))?;
        let r = self
            .write(|st, tx| {
                if st.account(account)?.archive_removed.contains(&id) {
                    return Err(StoreError::NoSuchArchived(id));
                }
                let mb = st.mailbox(to.0)?;
                if &mb.owner != account {
                    return Err(StoreError::NoSuchMailbox(format!("#{}", to.0)));
                }
                let uv = mb.uid_validity;
                st.check_quota(account, rec.size, 1)?;
                st.account_mut(account)?.archive_removed.insert(id);
                tx.del(Table::Archive, key);
                // The archive's reference moves to the restored message.
                let mut flags: Flags = rec.flags.into();
                flags.remove(&crate::flags::Flag::Deleted);
                let (u, ms) = st.insert_msg(to.0, flags, rec.internal_date, rec.size, hash, tx)?;
                Ok(Appended {
                    uid_validity: uidv(uv),
                    uid: uid(u),
                    modseq: ModSeq(ms),
                })
            })
            .await;
        drop(pin);
        r
    }

    // ---- read tracking and mail log ----

    pub(crate) async fn read_receipts(&self, message_id: &str) -> Result<Vec<ReadReceipt>> {
        let id = normalize_message_id(message_id);
        let prefix = keys::read_prefix(&id);
        let mut out = Vec::new();
        self.backend
            .scan_prefix(Table::Reads, &prefix, &mut |k, v| {
                let account = std::str::from_utf8(&k[prefix.len()..])
                    .ok()
                    .and_then(|s| AccountId::new(s).ok())
                    .ok_or_else(|| self.corrupt_err("read receipt key".into()))?;
                let rec: ReadRec = serde_json::from_slice(v)
                    .map_err(|e| self.corrupt_err(format!("read receipt: {e}")))?;
                out.push(ReadReceipt {
                    account,
                    message_id: id.clone(),
                    first_seen: rec.first_seen,
                });
                Ok(())
            })?;
        Ok(out)
    }

    pub(crate) async fn log_mail(&self, record: MailLogRecord) -> Result<()> {
        self.write(|st, tx| {
            let seq = st.counters.next_log_seq;
            st.counters.next_log_seq += 1;
            tx.put(
                Table::MailLog,
                keys::log_key(&record.account, record.time, seq),
                json(&record),
            );
            st.put_counters(tx);
            Ok(())
        })
        .await
    }

    pub(crate) async fn mail_log(
        &self,
        account: &AccountId,
        since: i64,
        until: i64,
    ) -> Result<Vec<MailLogRecord>> {
        if since >= until {
            return Ok(Vec::new());
        }
        let start = keys::log_bound(account, since);
        let end = keys::log_bound(account, until);
        let mut out = Vec::new();
        self.backend
            .range(Table::MailLog, &start, Some(&end), &mut |_, v| {
                let rec: MailLogRecord = serde_json::from_slice(v)
                    .map_err(|e| self.corrupt_err(format!("mail log record: {e}")))?;
                out.push(rec);
                Ok(())
            })?;
        Ok(out)
    }
}

fn has_header_value(k: &SearchKey) -> bool {
    match k {
        SearchKey::Header(_, v) => !v.is_empty(),
        SearchKey::And(v) => v.iter().any(has_header_value),
        SearchKey::Or(a, b) => has_header_value(a) || has_header_value(b),
        SearchKey::Not(a) => has_header_value(a),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
