//! Persistence: the [`AuthStore`] trait and the in-memory [`MemoryStore`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::RwLock;

use crate::account::{Account, DomainPolicy};
use crate::address::Address;
use crate::error::Error;
use crate::factor::FactorKind;
use crate::ip_block::BlockInfo;
use crate::log::{AuditEvent, LoginEvent};
use crate::network::Network;
use crate::time::Timestamp;

/// What the engine persists: account records, domain policies, the login log and the audit
/// log. Implementations must be safe to share between threads; each call is atomic on its own
/// (the engine serializes read-modify-write cycles of one account itself).
pub trait AuthStore: Send + Sync {
    /// The account, if it exists.
    fn account(&self, address: &Address) -> Result<Option<Account>, Error>;
    /// Inserts a new account; `Ok(false)` if one with that address exists (nothing changed).
    fn insert_account(&self, account: &Account) -> Result<bool, Error>;
    /// Replaces an existing account record (or inserts it).
    fn put_account(&self, account: &Account) -> Result<(), Error>;
    /// Deletes an account; whether it existed.
    fn delete_account(&self, address: &Address) -> Result<bool, Error>;
    /// All account addresses, sorted.
    fn account_addresses(&self) -> Result<Vec<Address>, Error>;
    /// The policy of a domain, if one was set.
    fn domain_policy(&self, domain: &str) -> Result<Option<DomainPolicy>, Error>;
    /// Sets a domain's policy.
    fn set_domain_policy(&self, domain: &str, policy: &DomainPolicy) -> Result<(), Error>;
    /// Appends to the login log.
    fn append_login(&self, event: &LoginEvent) -> Result<(), Error>;
    /// The newest `limit` login events (of one account, or all), newest first. Stores with a
    /// long log should index it by account (`RedbStore` does) so that one account's query
    /// does not read the whole log.
    fn logins(&self, account: Option<&Address>, limit: usize) -> Result<Vec<LoginEvent>, Error>;
    /// Appends to the audit log.
    fn append_audit(&self, event: &AuditEvent) -> Result<(), Error>;
    /// The newest `limit` audit events, newest first.
    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>, Error>;

    /// An account other than `except` with a factor of `kind` bound to `target` (normalized),
    /// if any: the one-phone-per-mailbox policy asks this at every bind. The default walks
    /// every account, which is fine for small stores; stores for many accounts index it
    /// (`RedbStore` does).
    fn account_with_factor(
        &self,
        kind: FactorKind,
        target: &str,
        except: &Address,
    ) -> Result<Option<Address>, Error> {
        for a in self.account_addresses()? {
            if &a == except {
                continue;
            }
            if let Some(acc) = self.account(&a)?
                && acc.has_factor_target(kind, target)
            {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// Makes every log entry appended so far durable, for stores that batch log writes
    /// (`RedbStore` does). The default does nothing.
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Persists an IP block (replacing any stored block of the same network). Called once
    /// when a block starts, never per failed attempt. The default keeps nothing: blocks then
    /// live in memory only and are lost on restart.
    fn put_block(&self, block: &BlockInfo) -> Result<(), Error> {
        let _ = block;
        Ok(())
    }
    /// Removes the stored block of exactly `network` (lifted or expired); no error if none.
    fn remove_block(&self, network: &Network) -> Result<(), Error> {
        let _ = network;
        Ok(())
    }
    /// Every stored block, expired or not (the engine drops expired ones as it meets them).
    fn stored_blocks(&self) -> Result<Vec<BlockInfo>, Error> {
        Ok(Vec::new())
    }
    /// Removes stored blocks that ended at or before `now`; how many.
    fn remove_expired_blocks(&self, now: Timestamp) -> Result<usize, Error> {
        let _ = now;
        Ok(0)
    }
}

/// An in-memory store, for tests and small deployments. Logs keep the newest
/// `log_capacity` entries each (default 100,000).
#[derive(Debug)]
pub struct MemoryStore {
    accounts: RwLock<BTreeMap<Address, Account>>,
    domains: RwLock<HashMap<String, DomainPolicy>>,
    logins: RwLock<VecDeque<LoginEvent>>,
    audit: RwLock<VecDeque<AuditEvent>>,
    blocks: RwLock<HashMap<Network, BlockInfo>>,
    log_capacity: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_log_capacity(100_000)
    }

    /// An empty store keeping at most `n` entries in each log.
    pub fn with_log_capacity(n: usize) -> Self {
        MemoryStore {
            accounts: RwLock::default(),
            domains: RwLock::default(),
            logins: RwLock::default(),
            audit: RwLock::default(),
            blocks: RwLock::default(),
            log_capacity: n.max(1),
        }
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Store("a thread panicked while holding the store lock".into())
}

impl AuthStore for MemoryStore {
    fn account(&self, address: &Address) -> Result<Option<Account>, Error> {
        Ok(self
            .accounts
            .read()
            .map_err(poisoned)?
            .get(address)
            .cloned())
    }

    fn insert_account(&self, account: &Account) -> Result<bool, Error> {
        let mut m = self.accounts.write().map_err(poisoned)?;
        if m.contains_key(&account.address) {
            return Ok(false);
        }
        m.insert(account.address.clone(), account.clone());
        Ok(true)
    }

    fn put_account(&self, account: &Account) -> Result<(), Error> {
        self.accounts
            .write()
            .map_err(poisoned)?
            .insert(account.address.clone(), account.clone());
        Ok(())
    }

    fn delete_account(&self, address: &Address) -> Result<bool, Error> {
        Ok(self
            .accounts
            .write()
            .map_err(poisoned)?
            .remove(address)
            .is_some())
    }

    fn account_addresses(&self) -> Result<Vec<Address>, Error> {
        Ok(self
            .accounts
            .read()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect())
    }

    fn domain_policy(&self, domain: &str) -> Result<Option<DomainPolicy>, Error> {
        Ok(self.domains.read().map_err(poisoned)?.get(domain).cloned())
    }

    fn set_domain_policy(&self, domain: &str, policy: &DomainPolicy) -> Result<(), Error> {
        self.domains
            .write()
            .map_err(poisoned)?
            .insert(domain.to_ascii_lowercase(), policy.clone());
        Ok(())
    }

    fn append_login(&self, event: &LoginEvent) -> Result<(), Error> {
        let mut l = self.logins.write().map_err(poisoned)?;
        if l.len() >= self.log_capacity {
            l.pop_front();
        }
        l.push_back(event.clone());
        Ok(())
    }

    fn logins(&self, account: Option<&Address>, limit: usize) -> Result<Vec<LoginEvent>, Error> {
        let l = self.logins.read().map_err(poisoned)?;
        Ok(l.iter()
            .rev()
            .filter(|e| account.is_none() || e.account.as_ref() == account)
            .take(limit)
            .cloned()
            .collect())
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<(), Error> {
        let mut l = self.audit.write().map_err(poisoned)?;
        if l.len() >= self.log_capacity {
            l.pop_front();
        }
        l.push_back(event.clone());
        Ok(())
    }

    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>, Error> {
        let l = self.audit.read().map_err(poisoned)?;
        Ok(l.iter().rev().take(limit).cloned().collect())
    }

    fn put_block(&self, block: &BlockInfo) -> Result<(), Error> {
        self.blocks
            .write()
            .map_err(poisoned)?
            .insert(block.network, block.clone());
        Ok(())
    }

    fn remove_block(&self, network: &Network) -> Result<(), Error> {
        self.blocks.write().map_err(poisoned)?.remove(network);
        Ok(())
    }

    fn stored_blocks(&self) -> Result<Vec<BlockInfo>, Error> {
        Ok(self
            .blocks
            .read()
            .map_err(poisoned)?
            .values()
            .cloned()
            .collect())
    }

    fn remove_expired_blocks(&self, now: Timestamp) -> Result<usize, Error> {
        let mut m = self.blocks.write().map_err(poisoned)?;
        let before = m.len();
        m.retain(|_, b| b.until > now);
        Ok(before - m.len())
    }
}
