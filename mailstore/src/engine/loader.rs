//! Lazy account loading: an account's index is read from disk on first use, pinned while a
//! call runs on it, and evicted (least recently used first) when more than
//! [`StoreConfig::max_loaded_accounts`](super::StoreConfig) are loaded, unless it is pinned
//! or one of its mailboxes has a live subscriber.
//!
//! Why reading from disk is safe: every write holds a pin on the accounts it changes until
//! its commit is acknowledged, so an account that is not loaded has nothing queued; a
//! loader still waits for the queue (a barrier) before reading, and a per-account loader
//! lock makes concurrent first uses load once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Engine;
use super::backend::Table;
use super::codec::{self, AccountRec, MailboxRec};
use super::keys;
use super::state::{Account, Mailbox, Msg, Tx};
use crate::error::{Result, StoreError};
use crate::ids::AccountId;

/// Accounts pinned by one call; unpinned on drop.
pub(crate) struct Pin<'a> {
    engine: &'a Engine,
    /// (account, load generation): a pin never releases a later load of the same name.
    accounts: Vec<(AccountId, u64)>,
}

impl Pin<'_> {
    /// Adds another pin's accounts to this one.
    pub(crate) fn join(&mut self, mut other: Pin<'_>) {
        self.accounts.append(&mut other.accounts);
    }
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        if self.accounts.is_empty() {
            return;
        }
        let mut st = self.engine.state.lock().unwrap_or_else(|p| p.into_inner());
        for (a, generation) in &self.accounts {
            if let Some(acc) = st.accounts.get_mut(a)
                && acc.generation == *generation
            {
                acc.pins = acc.pins.saturating_sub(1);
                if acc.pins == 0 {
                    // Nothing of this account is queued any more: the disk has it all.
                    acc.archive_added.clear();
                    acc.archive_removed.clear();
                    acc.deleting = false;
                }
            }
        }
    }
}

/// An account as read from disk.
struct Loaded {
    account: Account,
    mailboxes: Vec<Mailbox>,
}

impl Engine {
    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.backend.location(),
            detail,
        }
    }

    /// Pins a loaded account; `None` if it is not loaded.
    fn pin_loaded(&self, a: &AccountId) -> Result<Option<Pin<'_>>> {
        let mut st = self.lock()?;
        st.tick += 1;
        let tick = st.tick;
        match st.accounts.get_mut(a) {
            Some(acc) => {
                acc.pins += 1;
                acc.last_use = tick;
                Ok(Some(Pin {
                    engine: self,
                    accounts: vec![(a.clone(), acc.generation)],
                }))
            }
            None => Ok(None),
        }
    }

    /// Loads (if needed) and pins `a`. With `create`, a missing account is created (its record
    /// is committed before this returns); otherwise it is [`StoreError::NoSuchAccount`].
    pub(crate) async fn pin(&self, a: &AccountId, create: bool) -> Result<Pin<'_>> {
        if let Some(pin) = self.pin_loaded(a)? {
            return Ok(pin);
        }
        let lock = self
            .loaders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(a.clone())
            .or_default()
            .clone();
        let _guard = lock.lock().await;
        if let Some(pin) = self.pin_loaded(a)? {
            return Ok(pin);
        }
        // Nothing is queued for an unloaded account, but wait for the queue all the same.
        self.barrier().await?;
        let loaded = self.read_account(a)?;
        let (pin, ack) = {
            let mut st = self.lock()?;
            let created = loaded.is_none();
            let Loaded {
                mut account,
                mailboxes,
            } = match loaded {
                Some(l) => l,
                None if create => Loaded {
                    account: Account::default(),
                    mailboxes: Vec::new(),
                },
                None => {
                    self.loaders
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(a);
                    return Err(StoreError::NoSuchAccount(a.to_string()));
                }
            };
            st.tick += 1;
            account.pins = 1;
            account.last_use = st.tick;
            account.generation = st.tick;
            let pin = Pin {
                engine: self,
                accounts: vec![(a.clone(), account.generation)],
            };
            for mb in mailboxes {
                st.mailboxes.insert(mb.id, mb);
            }
            st.accounts.insert(a.clone(), account);
            self.loads.fetch_add(1, Ordering::Relaxed);
            self.evict_over_cap(&mut st);
            self.loaders
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(a);
            if created {
                let mut tx = Tx::default();
                st.put_account(a, &mut tx);
                (pin, Some(self.submit(tx)))
            } else {
                (pin, None)
            }
        };
        if let Some(ack) = ack {
            Engine::wait(ack).await?;
        }
        Ok(pin)
    }

    /// Pins the owner of a mailbox (loading it).
    pub(crate) async fn pin_mailbox(&self, id: u64) -> Result<Pin<'_>> {
        let owner = self.lock()?.mailboxes.get(&id).map(|m| m.owner.clone());
        let owner = match owner {
            Some(o) => o,
            None => self
                .owner_on_disk(id)?
                .ok_or_else(|| StoreError::NoSuchMailbox(format!("#{id}")))?,
        };
        self.pin(&owner, false).await.map_err(|e| match e {
            StoreError::NoSuchAccount(_) => StoreError::NoSuchMailbox(format!("#{id}")),
            e => e,
        })
    }

    pub(crate) fn owner_on_disk(&self, id: u64) -> Result<Option<AccountId>> {
        match self.backend.get(Table::Owners, &keys::u64_key(id))? {
            None => Ok(None),
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| AccountId::new(s).ok())
                .map(Some)
                .ok_or_else(|| self.corrupt(format!("owner record of mailbox {id}"))),
        }
    }

    /// Reads one account's index from disk.
    fn read_account(&self, a: &AccountId) -> Result<Option<Loaded>> {
        let Some(v) = self.backend.get(Table::Accounts, a.as_str().as_bytes())? else {
            return Ok(None);
        };
        let rec: AccountRec =
            serde_json::from_slice(&v).map_err(|e| self.corrupt(format!("account {a}: {e}")))?;
        let mut account = Account {
            quota: rec.quota,
            archive: rec.archive,
            ..Default::default()
        };
        let mut mailboxes = Vec::new();
        self.backend
            .scan_prefix(Table::Mailboxes, &keys::account_prefix(a), &mut |k, v| {
                let id = keys::parse_account_id_key(k)
                    .ok_or_else(|| self.corrupt(format!("mailbox key of {a}")))?;
                let rec: MailboxRec = serde_json::from_slice(v)
                    .map_err(|e| self.corrupt(format!("mailbox {id}: {e}")))?;
                if &rec.owner != a {
                    return Err(self.corrupt(format!("mailbox {id} filed under {a}")));
                }
                mailboxes.push(Mailbox::from_record(id, rec));
                Ok(())
            })?;
        for mb in &mut mailboxes {
            let (id, uid_next) = (mb.id, mb.uid_next);
            let messages = &mut mb.messages;
            let (mut bytes, mut count) = (0u64, 0u64);
            self.backend
                .scan_prefix(Table::Messages, &keys::u64_key(id), &mut |k, v| {
                    let (mid, uid) = keys::parse_msg_key(k)
                        .ok_or_else(|| self.corrupt(format!("message key in mailbox {id}")))?;
                    let rec = codec::decode_msg(v)
                        .ok_or_else(|| self.corrupt(format!("message {mid}/{uid} record")))?;
                    if uid == 0 || uid >= uid_next {
                        return Err(
                            self.corrupt(format!("message {mid}/{uid} at or above UIDNEXT"))
                        );
                    }
                    bytes += rec.size;
                    count += 1;
                    messages.insert(
                        uid,
                        Msg {
                            flags: rec.flags,
                            modseq: rec.modseq,
                            internal_date: rec.internal_date,
                            size: rec.size,
                            hash: rec.hash,
                        },
                    );
                    Ok(())
                })?;
            account.used_bytes += bytes;
            account.used_messages += count;
            let vanished = &mut mb.vanished;
            self.backend
                .scan_prefix(Table::Vanished, &keys::u64_key(id), &mut |k, v| {
                    let (_, uid) = keys::parse_msg_key(k)
                        .ok_or_else(|| self.corrupt(format!("vanished key in mailbox {id}")))?;
                    let ms = keys::parse_u64(v)
                        .ok_or_else(|| self.corrupt(format!("vanished value in mailbox {id}")))?;
                    vanished.push((ms, uid));
                    Ok(())
                })?;
            mb.vanished.sort_unstable();
            account.mailboxes.insert(mb.name.clone(), id);
        }
        Ok(Some(Loaded { account, mailboxes }))
    }

    /// Evicts least recently used accounts down to 7/8 of the cap, skipping pinned accounts
    /// and accounts with a live subscriber.
    fn evict_over_cap(&self, st: &mut super::state::State) {
        let cap = self.config.max_loaded_accounts.max(1);
        if st.accounts.len() <= cap {
            return;
        }
        let target = (cap - cap / 8).max(1);
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let live = |id: &u64| events.get(id).is_some_and(|s| s.receiver_count() > 0);
        let mut candidates: Vec<(u64, AccountId)> = st
            .accounts
            .iter()
            .filter(|(_, acc)| acc.pins == 0 && !acc.mailboxes.values().any(live))
            .map(|(a, acc)| (acc.last_use, a.clone()))
            .collect();
        candidates.sort_unstable();
        let excess = st.accounts.len() - target;
        for (_, a) in candidates.into_iter().take(excess) {
            if let Some(acc) = st.accounts.remove(&a) {
                for id in acc.mailboxes.values() {
                    st.mailboxes.remove(id);
                }
            }
        }
    }

    /// How many accounts are loaded, and how many loads happened since open (for tests).
    #[cfg(test)]
    pub(crate) fn load_stats(&self) -> (usize, u64) {
        let n = self
            .state
            .lock()
            .map(|s| s.accounts.len())
            .unwrap_or_default();
        (n, self.loads.load(Ordering::Relaxed))
    }
}

/// The per-account loader locks.
pub(crate) type Loaders = std::sync::Mutex<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>;
