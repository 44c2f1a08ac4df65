//! The in-memory index of the loaded accounts (see [`loader`](super::loader)), and the
//! operations on it. Every operation validates first, then mutates the index and records the
//! matching [`Mutation`]s.
//!
//! Per message the index keeps only what SELECT, STATUS, quota and the cheap search keys need
//! (UID, flags, modseq, internal date, size, body hash); parsed metadata stays on disk.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;

use super::backend::{Mutation, NewBody, Op, Table};
use super::codec::{self, AccountRec, ArchivedRec, Counters, FlagsRec, Hash, MailboxRec};
use super::keys;
use crate::acl::Rights;
use crate::error::{Result, StoreError};
use crate::flags::{Flags, Keyword, SpecialUse};
use crate::ids::{AccountId, MailboxName};
use crate::records::{MailboxEvent, Quota};

/// One message of the index.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub flags: Flags,
    pub modseq: u64,
    pub internal_date: i64,
    pub size: u64,
    pub hash: Hash,
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
    pub(crate) fn from_record(id: u64, rec: MailboxRec) -> Mailbox {
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
        }
    }

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

/// A loaded account.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub quota: Quota,
    pub archive: bool,
    pub mailboxes: BTreeMap<MailboxName, u64>,
    /// Computed at load from the messages' sizes (so it cannot drift from them).
    pub used_bytes: u64,
    pub used_messages: u64,
    /// Calls running on the account; a pinned account is never evicted.
    pub pins: u32,
    /// Tick of the last use, for LRU eviction.
    pub last_use: u64,
    /// Tick of the load (distinguishes a re-created account from the one a pin was taken on).
    pub generation: u64,
    /// Archive entries added / removed whose commits may still be queued (cleared when the
    /// last pin goes: every write holds its pin until durable).
    pub archive_added: Vec<(u64, Hash)>,
    pub archive_removed: HashSet<u64>,
    /// `delete_account` is running: no new grants to this account.
    pub deleting: bool,
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
            op: Op::Put(value.into()),
        });
    }

    pub(crate) fn del(&mut self, table: Table, key: Vec<u8>) {
        self.muts.push(Mutation {
            table,
            key,
            op: Op::Del,
        });
    }

    pub(crate) fn put_if_absent(&mut self, table: Table, key: Vec<u8>, value: impl Into<Bytes>) {
        self.muts.push(Mutation {
            table,
            key,
            op: Op::PutIfAbsent(value.into()),
        });
    }

    /// Adds a reference to a body (storing it if the store has none; `body` is needed then).
    pub(crate) fn ref_inc(&mut self, hash: &Hash, body: Option<Arc<NewBody>>) {
        self.muts.push(Mutation {
            table: Table::Refs,
            key: hash.to_vec(),
            op: Op::RefInc(body),
        });
    }

    /// Drops a reference; the body is deleted with its last reference.
    pub(crate) fn ref_dec(&mut self, hash: &Hash) {
        self.muts.push(Mutation {
            table: Table::Refs,
            key: hash.to_vec(),
            op: Op::RefDec,
        });
    }
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Serializing these plain records cannot fail (no maps with non-string keys, no I/O).
    serde_json::to_vec(v).unwrap_or_default()
}

/// The index of the loaded accounts, and the store-wide counters.
#[derive(Default)]
pub(crate) struct State {
    pub accounts: HashMap<AccountId, Account>,
    /// The mailboxes of the loaded accounts.
    pub mailboxes: HashMap<u64, Mailbox>,
    pub counters: Counters,
    pub tick: u64,
}

pub(crate) const FORMAT_KEY: &[u8] = b"format";
pub(crate) const COUNTERS_KEY: &[u8] = b"counters";

impl State {
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
            tx.put(
                Table::Mailboxes,
                keys::account_id_key(&mb.owner, id),
                json(&mb.record()),
            );
        }
    }

    pub(crate) fn put_msg(mbox: u64, uid: u32, m: &Msg, tx: &mut Tx) {
        tx.put(
            Table::Messages,
            keys::msg_key(mbox, uid),
            codec::encode_msg(&m.hash, m.modseq, m.internal_date, m.size, &m.flags),
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
        tx.put(
            Table::Owners,
            keys::u64_key(id),
            owner.as_str().as_bytes().to_vec(),
        );
        self.put_counters(tx);
        Ok(id)
    }

    /// Removes a mailbox's own records (not its messages) from the index and the disk.
    pub(crate) fn drop_mailbox(&mut self, id: u64, tx: &mut Tx) -> Option<Mailbox> {
        let mb = self.mailboxes.remove(&id)?;
        for (_, u) in &mb.vanished {
            tx.del(Table::Vanished, keys::msg_key(id, *u));
        }
        for grantee in mb.acl.keys() {
            tx.del(Table::Grants, keys::account_id_key(grantee, id));
        }
        tx.del(Table::Mailboxes, keys::account_id_key(&mb.owner, id));
        tx.del(Table::Owners, keys::u64_key(id));
        tx.events.push((id, MailboxEvent::Deleted));
        Some(mb)
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

    /// Inserts a message with the next UID and modseq. Quota must have been checked and the
    /// body's reference taken (or moved) by the caller.
    pub(crate) fn insert_msg(
        &mut self,
        mbox: u64,
        flags: Flags,
        internal_date: i64,
        size: u64,
        hash: Hash,
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
        let msg = Msg {
            flags: flags.clone(),
            modseq,
            internal_date,
            size,
            hash,
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
                tx.del(Table::Messages, keys::msg_key(mbox, uid));
                tx.put(
                    Table::Vanished,
                    keys::msg_key(mbox, uid),
                    keys::u64_key(modseq),
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
            if let Ok(a) = self.account_mut(&owner) {
                a.used_bytes = a.used_bytes.saturating_sub(m.size);
                a.used_messages = a.used_messages.saturating_sub(1);
            }
            if archive_on {
                self.archive_msg(&owner, &name, uid, m, now, tx);
            } else if !keep_refs {
                tx.ref_dec(&m.hash);
            }
        }
        Ok(modseq)
    }

    /// Moves a message's body reference to a new archive entry.
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
            hash: codec::hex(&m.hash),
            size: m.size,
        };
        tx.put(Table::Archive, keys::account_id_key(owner, id), json(&rec));
        self.put_counters(tx);
        if let Some(a) = self.accounts.get_mut(owner) {
            a.archive_added.push((id, m.hash));
        }
    }
}
