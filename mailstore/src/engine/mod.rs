//! The engine shared by every built-in backend: an in-memory index of everything but the
//! bodies, persisted as key-value mutations through a [`Backend`].

pub(crate) mod backend;
pub(crate) mod codec;
pub(crate) mod commit;
pub(crate) mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::broadcast;

use self::backend::{Ack, Backend, Batch, Table};
use self::codec::Hash;
use self::state::{Blob, Msg, NewBody, State, Tx};
use crate::acl::Rights;
use crate::error::{Result, StoreError};
use crate::events::Subscription;
use crate::flags::{FlagOp, Flags, SpecialUse};
use crate::ids::{AccountId, MailboxId, MailboxName, ModSeq, Uid, UidValidity};
use crate::records::*;
use crate::search::{self, Candidate, SearchKey};

/// Version of the on-disk format this build writes and the highest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Capacity of each mailbox's event channel.
const EVENT_CAPACITY: usize = 4096;

/// Settings shared by every backend.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Largest message accepted by [`Store::append`](crate::Store::append), in bytes.
    pub max_message_size: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_message_size: 64 << 20,
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

/// The shared engine.
pub(crate) struct Engine {
    state: Mutex<State>,
    backend: Box<dyn Backend>,
    events: Mutex<HashMap<u64, broadcast::Sender<MailboxEvent>>>,
    config: StoreConfig,
}

impl Engine {
    /// Loads the index (checking the format) and writes the format record of a new store.
    pub(crate) fn open(backend: Box<dyn Backend>, config: StoreConfig) -> Result<Engine> {
        let (state, init) = State::load(backend.as_ref(), FORMAT_VERSION, now())?;
        if !init.is_empty() {
            backend.write_now(init)?;
        }
        Ok(Engine {
            state: Mutex::new(state),
            backend,
            events: Mutex::new(HashMap::new()),
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
    pub(crate) fn state_for_tests(&self) -> usize {
        self.state.lock().map(|s| s.blobs.len()).unwrap_or(0)
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

    // ---- accounts ----

    pub(crate) async fn create_account(
        &self,
        account: &AccountId,
        mailboxes: &[(MailboxName, Option<SpecialUse>)],
    ) -> Result<()> {
        let t = now();
        self.write(|st, tx| {
            if !st.accounts.contains_key(account) {
                st.accounts.insert(account.clone(), Default::default());
                st.put_account(account, tx);
            }
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
        Ok(self.lock()?.accounts.contains_key(account))
    }

    pub(crate) async fn set_quota(&self, account: &AccountId, quota: Quota) -> Result<()> {
        self.write(|st, tx| {
            st.account_mut(account)?.quota = quota;
            st.put_account(account, tx);
            Ok(())
        })
        .await
    }

    pub(crate) async fn quota(&self, account: &AccountId) -> Result<QuotaUsage> {
        let st = self.lock()?;
        let a = st.account(account)?;
        Ok(QuotaUsage {
            quota: a.quota,
            used_bytes: a.used_bytes,
            used_messages: a.used_messages,
        })
    }

    pub(crate) async fn set_archive_mode(&self, account: &AccountId, on: bool) -> Result<()> {
        self.write(|st, tx| {
            st.account_mut(account)?.archive = on;
            st.put_account(account, tx);
            Ok(())
        })
        .await
    }

    /// Removes an account: its mailboxes and message references (bodies are freed with their
    /// last reference), its archive, its quota, the grants on its mailboxes and the grants
    /// other accounts gave it. Read receipts and mail-log records stay (audit).
    pub(crate) async fn delete_account(&self, account: &AccountId) -> Result<()> {
        self.write(|st, tx| {
            st.account(account)?;
            let boxes: Vec<u64> = st.account(account)?.mailboxes.values().copied().collect();
            for id in boxes {
                let Some(mb) = st.mailboxes.remove(&id) else {
                    continue;
                };
                for (u, m) in &mb.messages {
                    tx.del(Table::Messages, codec::msg_key(id, *u));
                    st.blob_unref(&m.blob.hash, tx);
                }
                for (_, u) in &mb.vanished {
                    tx.del(Table::Vanished, codec::msg_key(id, *u));
                }
                for grantee in mb.acl.keys() {
                    if let Some(set) = st.grants.get_mut(grantee) {
                        set.remove(&id);
                        if set.is_empty() {
                            st.grants.remove(grantee);
                        }
                    }
                }
                tx.del(Table::Mailboxes, codec::u64_key(id));
                tx.events.push((id, MailboxEvent::Deleted));
            }
            // Grants others gave this account.
            if let Some(ids) = st.grants.remove(account) {
                for id in ids {
                    if let Some(mb) = st.mailboxes.get_mut(&id) {
                        mb.acl.remove(account);
                        st.put_mailbox(id, tx);
                    }
                }
            }
            let archived: Vec<u64> = st
                .archive
                .iter()
                .filter(|(_, a)| &a.account == account)
                .map(|(id, _)| *id)
                .collect();
            for id in archived {
                if let Some(a) = st.archive.remove(&id) {
                    tx.del(Table::Archive, codec::u64_key(id));
                    st.blob_unref(&a.blob.hash, tx);
                }
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
        self.write(|st, tx| {
            let id = st.find(account, name)?;
            let uids: Vec<u32> = st.mailbox(id)?.messages.keys().copied().collect();
            if !uids.is_empty() {
                st.remove_msgs(id, &uids, true, false, t, tx)?;
            }
            let mb = st
                .mailboxes
                .remove(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?;
            for (_, u) in &mb.vanished {
                tx.del(Table::Vanished, codec::msg_key(id, *u));
            }
            for grantee in mb.acl.keys() {
                if let Some(set) = st.grants.get_mut(grantee) {
                    set.remove(&id);
                }
            }
            tx.del(Table::Mailboxes, codec::u64_key(id));
            st.account_mut(account)?.mailboxes.remove(name);
            tx.events.push((id, MailboxEvent::Deleted));
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
                let uids: Vec<u32> = st.mailbox(src)?.messages.keys().copied().collect();
                for &u in &uids {
                    let m = st.mailbox(src)?.messages.get(&u).cloned();
                    if let Some(m) = m {
                        // The reference moves with the message (keep_refs below).
                        st.insert_msg(dst, m.flags, m.internal_date, m.blob, tx)?;
                    }
                }
                if !uids.is_empty() {
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
        self.lock()?.find(owner, name).map(MailboxId)
    }

    pub(crate) async fn select(&self, mailbox: MailboxId) -> Result<SelectedMailbox> {
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
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        let mut unseen = 0u32;
        let mut size = 0u64;
        for m in mb.messages.values() {
            if !m.flags.is_seen() {
                unseen += 1;
            }
            size += m.blob.meta.size;
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

    fn prepare_body(&self, raw: &Bytes) -> Result<(Hash, Option<NewBody>)> {
        let size = raw.len() as u64;
        if size > self.config.max_message_size {
            return Err(StoreError::MessageTooLarge {
                size,
                limit: self.config.max_message_size,
            });
        }
        let hash = codec::sha256(raw);
        if self.lock()?.blobs.contains_key(&hash) {
            return Ok((hash, None));
        }
        let (meta, text) = crate::meta::extract(raw);
        let meta_json = State::json(&meta);
        Ok((
            hash,
            Some(NewBody {
                raw: raw.clone(),
                text,
                meta_json,
                blob: Arc::new(Blob::new(hash, meta)),
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
        let (hash, mut new) = self.prepare_body(&raw)?;
        loop {
            let r = self
                .write(|st, tx| {
                    let owner = st.mailbox(mailbox.0)?.owner.clone();
                    st.check_quota(&owner, raw.len() as u64, 1)?;
                    let uv = st.mailbox(mailbox.0)?.uid_validity;
                    let Some(blob) = st.blob_ref(hash, new.take(), tx) else {
                        return Ok(None);
                    };
                    let (u, ms) =
                        st.insert_msg(mailbox.0, flags.clone(), internal_date, blob, tx)?;
                    Ok(Some(Appended {
                        uid_validity: uidv(uv),
                        uid: uid(u),
                        modseq: ModSeq(ms),
                    }))
                })
                .await?;
            match r {
                Some(a) => return Ok(a),
                // The body was deleted between the check and the write: parse it after all.
                None => new = self.prepare_body_force(&raw, hash),
            }
        }
    }

    fn prepare_body_force(&self, raw: &Bytes, hash: Hash) -> Option<NewBody> {
        let (meta, text) = crate::meta::extract(raw);
        let meta_json = State::json(&meta);
        Some(NewBody {
            raw: raw.clone(),
            text,
            meta_json,
            blob: Arc::new(Blob::new(hash, meta)),
        })
    }

    fn info(u: u32, m: &Msg) -> MessageInfo {
        MessageInfo {
            uid: uid(u),
            flags: m.flags.clone(),
            modseq: ModSeq(m.modseq),
            internal_date: m.internal_date,
            size: m.blob.meta.size,
            meta: m.blob.meta.clone(),
        }
    }

    pub(crate) async fn message(&self, mailbox: MailboxId, u: Uid) -> Result<MessageInfo> {
        let st = self.lock()?;
        let m = st
            .mailbox(mailbox.0)?
            .messages
            .get(&u.get())
            .ok_or(StoreError::NoSuchMessage(u.get()))?;
        Ok(Engine::info(u.get(), m))
    }

    pub(crate) async fn messages(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Vec<MessageInfo>> {
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        let mut v: Vec<u32> = uids.iter().map(|u| u.get()).collect();
        v.sort_unstable();
        v.dedup();
        Ok(v.into_iter()
            .filter_map(|u| mb.messages.get(&u).map(|m| Engine::info(u, m)))
            .collect())
    }

    fn blob_hash(&self, mailbox: MailboxId, u: Uid) -> Result<Hash> {
        let st = self.lock()?;
        let m = st
            .mailbox(mailbox.0)?
            .messages
            .get(&u.get())
            .ok_or(StoreError::NoSuchMessage(u.get()))?;
        Ok(m.blob.hash)
    }

    async fn read_table(&self, table: Table, hash: &Hash) -> Result<Bytes> {
        if let Some(b) = self.backend.get(table, hash)? {
            return Ok(b);
        }
        // Appended but not committed yet: wait for the writer, then read again.
        self.barrier().await?;
        self.backend
            .get(table, hash)?
            .ok_or_else(|| StoreError::Corrupt {
                path: self.backend.location(),
                detail: format!("body {} is missing", codec::hex(hash)),
            })
    }

    pub(crate) async fn read_message(&self, mailbox: MailboxId, u: Uid) -> Result<Bytes> {
        let hash = self.blob_hash(mailbox, u)?;
        match self.read_table(Table::Blobs, &hash).await {
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
                        && let Some(id) = &m.blob.meta.envelope.message_id
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
            for id in seen_ids {
                let per = st.reads.entry(id.clone()).or_default();
                if !per.contains_key(&owner) {
                    tx.put(
                        Table::Reads,
                        codec::read_key(&id, &owner),
                        State::read_rec(t),
                    );
                    per.insert(owner.clone(), t);
                }
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
        let bytes: u64 = msgs.iter().map(|m| m.blob.meta.size).sum();
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
            st.blob_ref(m.blob.hash, None, tx);
            let (nu, _) = st.insert_msg(to.0, m.flags, m.internal_date, m.blob, tx)?;
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

    pub(crate) async fn copy(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopiedUids> {
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
        let needs_io = q.needs_body() || has_header_value(&q);
        if !needs_io {
            let st = self.lock()?;
            let mb = st.mailbox(mailbox.0)?;
            let mut out = Vec::new();
            let mut none = || None;
            let mut none2 = || None;
            for (u, m) in &mb.messages {
                let c = Candidate {
                    uid: uid(*u),
                    flags: &m.flags,
                    modseq: ModSeq(m.modseq),
                    internal_date: m.internal_date,
                    size: m.blob.meta.size,
                    meta: &m.blob.meta,
                    subject_lc: &m.blob.subject_lc,
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
        self.barrier().await?;
        let mut out = Vec::new();
        for (u, m) in &snapshot {
            let c = Candidate {
                uid: uid(*u),
                flags: &m.flags,
                modseq: ModSeq(m.modseq),
                internal_date: m.internal_date,
                size: m.blob.meta.size,
                meta: &m.blob.meta,
                subject_lc: &m.blob.subject_lc,
            };
            let hash = m.blob.hash;
            let body_off = m.blob.meta.body_offset as usize;
            let backend = &self.backend;
            let mut header = || {
                backend.get(Table::Blobs, &hash).ok().flatten().map(|raw| {
                    let end = body_off.min(raw.len());
                    String::from_utf8_lossy(&raw[..end]).into_owned()
                })
            };
            let mut body = || {
                backend
                    .get(Table::Texts, &hash)
                    .ok()
                    .flatten()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
            };
            if search::matches(&q, &c, &mut header, &mut body) {
                out.push(uid(*u));
            }
        }
        Ok(out)
    }

    pub(crate) async fn subscribe(&self, mailbox: MailboxId) -> Result<Subscription> {
        // Check existence under the state lock, then register.
        let _ = self.lock()?.mailbox(mailbox.0)?;
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
        self.write(|st, tx| {
            st.account(grantee)?;
            let id = st.find(owner, name)?;
            let mb = st.mailbox_mut(id)?;
            if rights.is_empty() {
                mb.acl.remove(grantee);
                if let Some(set) = st.grants.get_mut(grantee) {
                    set.remove(&id);
                }
            } else {
                mb.acl.insert(grantee.clone(), rights);
                st.grants.entry(grantee.clone()).or_default().insert(id);
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
        let st = self.lock()?;
        let mb = st.mailbox(mailbox.0)?;
        if &mb.owner == who {
            return Ok(Rights::ALL);
        }
        Ok(mb.acl.get(who).copied().unwrap_or(Rights::NONE))
    }

    pub(crate) async fn shared_with(&self, grantee: &AccountId) -> Result<Vec<SharedMailbox>> {
        let st = self.lock()?;
        let Some(ids) = st.grants.get(grantee) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<SharedMailbox> = ids
            .iter()
            .filter_map(|id| st.mailboxes.get(id))
            .filter(|mb| &mb.owner != grantee)
            .filter_map(|mb| {
                let r = *mb.acl.get(grantee)?;
                r.contains(Rights::LOOKUP).then(|| SharedMailbox {
                    owner: mb.owner.clone(),
                    name: mb.name.clone(),
                    id: MailboxId(mb.id),
                    rights: r,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.owner, &a.name).cmp(&(&b.owner, &b.name)));
        Ok(out)
    }

    // ---- archive ----

    pub(crate) async fn list_archived(&self, account: &AccountId) -> Result<Vec<ArchivedMessage>> {
        let st = self.lock()?;
        st.account(account)?;
        Ok(st
            .archive
            .iter()
            .filter(|(_, a)| &a.account == account)
            .map(|(id, a)| ArchivedMessage {
                id: *id,
                mailbox: a.mailbox.clone(),
                uid: uid(a.uid),
                archived_at: a.archived_at,
                flags: a.flags.clone(),
                internal_date: a.internal_date,
                size: a.blob.meta.size,
                meta: a.blob.meta.clone(),
            })
            .collect())
    }

    pub(crate) async fn restore_archived(
        &self,
        account: &AccountId,
        id: u64,
        to: MailboxId,
    ) -> Result<Appended> {
        self.write(|st, tx| {
            let a = st
                .archive
                .get(&id)
                .filter(|a| &a.account == account)
                .ok_or(StoreError::NoSuchArchived(id))?;
            let mb = st.mailbox(to.0)?;
            if &mb.owner != account {
                return Err(StoreError::NoSuchMailbox(format!("#{}", to.0)));
            }
            let uv = mb.uid_validity;
            st.check_quota(account, a.blob.meta.size, 1)?;
            let a = st
                .archive
                .remove(&id)
                .ok_or(StoreError::NoSuchArchived(id))?;
            tx.del(Table::Archive, codec::u64_key(id));
            // The archive's reference moves to the restored message.
            let mut flags = a.flags;
            flags.remove(&crate::flags::Flag::Deleted);
            let (u, ms) = st.insert_msg(to.0, flags, a.internal_date, a.blob, tx)?;
            Ok(Appended {
                uid_validity: uidv(uv),
                uid: uid(u),
                modseq: ModSeq(ms),
            })
        })
        .await
    }

    // ---- read tracking and mail log ----

    pub(crate) async fn read_receipts(&self, message_id: &str) -> Result<Vec<ReadReceipt>> {
        let id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned();
        let st = self.lock()?;
        Ok(st
            .reads
            .get(&id)
            .map(|m| {
                m.iter()
                    .map(|(a, t)| ReadReceipt {
                        account: a.clone(),
                        message_id: id.clone(),
                        first_seen: *t,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    pub(crate) async fn log_mail(&self, record: MailLogRecord) -> Result<()> {
        self.write(|st, tx| {
            let seq = st.counters.next_log_seq;
            st.counters.next_log_seq += 1;
            tx.put(Table::MailLog, codec::u64_key(seq), State::json(&record));
            st.put_counters(tx);
            st.maillog
                .insert((record.account.clone(), record.time, seq), record);
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
        let st = self.lock()?;
        if since >= until {
            return Ok(Vec::new());
        }
        Ok(st
            .maillog
            .range((account.clone(), since, 0)..(account.clone(), until, 0))
            .map(|(_, r)| r.clone())
            .collect())
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
