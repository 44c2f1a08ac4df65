//! [`RedbStore`]: the [`AuthStore`] on a redb database file (feature `redb`).

use std::path::Path;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::account::{Account, DomainPolicy};
use crate::address::Address;
use crate::error::Error;
use crate::factor::FactorKind;
use crate::ip_block::BlockInfo;
use crate::log::{AuditEvent, LoginEvent};
use crate::network::Network;
use crate::store::AuthStore;
use crate::time::Timestamp;

const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("auth2fa_accounts");
const DOMAINS: TableDefinition<&str, &[u8]> = TableDefinition::new("auth2fa_domains");
const LOGINS: TableDefinition<u64, &[u8]> = TableDefinition::new("auth2fa_logins");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("auth2fa_audit");
const BLOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("auth2fa_blocks");
/// Index: `kind \0 target \0 address` for every bound phone, WeChat id and backup e-mail.
const FACTORS: TableDefinition<&str, ()> = TableDefinition::new("auth2fa_factor_index");
/// Index: `address \0 seq` (seq big-endian) for every login-log entry that names an account.
const LOGINS_BY_ACCOUNT: TableDefinition<&[u8], ()> =
    TableDefinition::new("auth2fa_logins_by_account");
/// Which indexes have been built (stores written before they existed get them at open).
const META: TableDefinition<&str, u64> = TableDefinition::new("auth2fa_meta");
const META_FACTOR_INDEX: &str = "factor_index";
const META_LOGIN_INDEX: &str = "login_index";

/// Login-log entries committed without fsync before a durable commit (see [`RedbStore`]).
pub const DEFAULT_LOG_BATCH: u32 = 128;
/// Age of the oldest non-durable login-log entry that makes the next append durable.
const LOG_BATCH_AGE: Duration = Duration::from_secs(1);

/// Accounts, domain policies, IP blocks and both logs in one redb file. Records are JSON. Each
/// call is one transaction.
///
/// Durability: everything that changes an account, a policy, a block or the audit log is
/// committed durably (fsync) before the call returns. Login-log appends are not: they are
/// committed without fsync, and every [`DEFAULT_LOG_BATCH`]-th append (or the first one more
/// than a second after the last durable commit), any durable write, [`flush`](Self::flush)
/// and dropping the store make them durable. A crash of the process or machine therefore loses
/// at most the last `log_batch - 1` login-log entries; hosts bound that by time by calling
/// [`AuthService::flush`](crate::AuthService::flush) on a timer (e.g. every second) and at
/// shutdown. This keeps logins from being capped at the disk's fsync rate under an attack.
pub struct RedbStore {
    db: Database,
    log_batch: u32,
    /// Non-durable login-log commits since the last durable commit, and when that was.
    unflushed: Mutex<(u32, Instant)>,
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbStore")
    }
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

impl RedbStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let db = Database::create(path).map_err(store_err)?;
        let tx = db.begin_write().map_err(store_err)?;
        {
            tx.open_table(ACCOUNTS).map_err(store_err)?;
            tx.open_table(DOMAINS).map_err(store_err)?;
            tx.open_table(LOGINS).map_err(store_err)?;
            tx.open_table(AUDIT).map_err(store_err)?;
            tx.open_table(BLOCKS).map_err(store_err)?;
            tx.open_table(FACTORS).map_err(store_err)?;
            tx.open_table(LOGINS_BY_ACCOUNT).map_err(store_err)?;
            let mut meta = tx.open_table(META).map_err(store_err)?;
            if meta.get(META_FACTOR_INDEX).map_err(store_err)?.is_none() {
                build_factor_index(&tx)?;
                meta.insert(META_FACTOR_INDEX, 1).map_err(store_err)?;
            }
            if meta.get(META_LOGIN_INDEX).map_err(store_err)?.is_none() {
                build_login_index(&tx)?;
                meta.insert(META_LOGIN_INDEX, 1).map_err(store_err)?;
            }
        }
        tx.commit().map_err(store_err)?;
        Ok(RedbStore {
            db,
            log_batch: DEFAULT_LOG_BATCH,
            unflushed: Mutex::new((0, Instant::now())),
        })
    }

    /// Sets how many login-log entries may be committed without fsync before a durable
    /// commit (at least 1; 1 makes every append durable, the behaviour before batching).
    pub fn with_log_batch(mut self, n: u32) -> Self {
        self.log_batch = n.max(1);
        self
    }

    /// Makes every login-log entry appended so far durable (one fsync if any is pending).
    pub fn flush(&self) -> Result<(), Error> {
        // The write transaction first, then the counter: the order append_login takes them.
        let tx = self.db.begin_write().map_err(store_err)?;
        let mut u = self.unflushed.lock().unwrap_or_else(|e| e.into_inner());
        if u.0 == 0 {
            return tx.abort().map_err(store_err);
        }
        // An empty durable commit makes the earlier non-durable ones durable.
        tx.commit().map_err(store_err)?;
        *u = (0, Instant::now());
        Ok(())
    }

    fn append_login_batched(&self, event: &LoginEvent) -> Result<(), Error> {
        let bytes = serde_json::to_vec(event).map_err(store_err)?;
        let mut tx = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = tx.open_table(LOGINS).map_err(store_err)?;
            let next = t
                .last()
                .map_err(store_err)?
                .map_or(0, |(k, _)| k.value() + 1);
            t.insert(next, bytes.as_slice()).map_err(store_err)?;
            if let Some(a) = &event.account {
                let mut ix = tx.open_table(LOGINS_BY_ACCOUNT).map_err(store_err)?;
                ix.insert(login_key(a.as_str(), next).as_slice(), ())
                    .map_err(store_err)?;
            }
        }
        // Write transactions are serialized by redb, so this lock is never contended long.
        let mut u = self.unflushed.lock().unwrap_or_else(|e| e.into_inner());
        let durable = u.0 + 1 >= self.log_batch || u.1.elapsed() >= LOG_BATCH_AGE;
        if durable {
            tx.commit().map_err(store_err)?;
            *u = (0, Instant::now());
        } else {
            tx.set_durability(Durability::None).map_err(store_err)?;
            tx.commit().map_err(store_err)?;
            u.0 += 1;
        }
        Ok(())
    }

    /// Deletes login-log and audit-log entries older than `before` (both logs are kept in
    /// append order, so this walks from the oldest entry and stops at the first newer one).
    /// Returns how many entries were deleted. Hosts call it periodically with their
    /// retention period.
    pub fn prune_logs(&self, before: crate::time::Timestamp) -> Result<usize, Error> {
        #[derive(serde::Deserialize)]
        struct At {
            at: crate::time::Timestamp,
            #[serde(default)]
            account: Option<String>,
        }
        let tx = self.db.begin_write().map_err(store_err)?;
        let mut deleted = 0;
        for (table, is_login_log) in [(LOGINS, true), (AUDIT, false)] {
            let mut t = tx.open_table(table).map_err(store_err)?;
            let mut old = Vec::new();
            for item in t.iter().map_err(store_err)? {
                let (k, v) = item.map_err(store_err)?;
                let at: At = serde_json::from_slice(v.value()).map_err(store_err)?;
                if at.at >= before {
                    break;
                }
                old.push((k.value(), at.account));
            }
            let mut ix = tx.open_table(LOGINS_BY_ACCOUNT).map_err(store_err)?;
            for (k, account) in &old {
                t.remove(*k).map_err(store_err)?;
                if is_login_log && let Some(a) = account {
                    ix.remove(login_key(a, *k).as_slice()).map_err(store_err)?;
                }
            }
            deleted += old.len();
        }
        tx.commit().map_err(store_err)?;
        Ok(deleted)
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, Error> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(table).map_err(store_err)?;
        match t.get(key).map_err(store_err)? {
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|e| Error::Store(format!("corrupt record {key:?}: {e}"))),
            None => Ok(None),
        }
    }

    fn put<T: serde::Serialize>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
        value: &T,
    ) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(store_err)?;
        let tx = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = tx.open_table(table).map_err(store_err)?;
            t.insert(key, bytes.as_slice()).map_err(store_err)?;
        }
        tx.commit().map_err(store_err)
    }

    fn append<T: serde::Serialize>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        value: &T,
    ) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(store_err)?;
        let tx = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = tx.open_table(table).map_err(store_err)?;
            let next = t
                .last()
                .map_err(store_err)?
                .map_or(0, |(k, _)| k.value() + 1);
            t.insert(next, bytes.as_slice()).map_err(store_err)?;
        }
        tx.commit().map_err(store_err)
    }

    fn newest<T: serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, Error> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(table).map_err(store_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(store_err)?.rev() {
            if out.len() >= limit {
                break;
            }
            let (_, v) = item.map_err(store_err)?;
            let e: T = serde_json::from_slice(v.value()).map_err(store_err)?;
            if keep(&e) {
                out.push(e);
            }
        }
        Ok(out)
    }
}

/// `address \0 seq`: one account's login-log entries are one key range, in log order.
fn login_key(address: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(address.len() + 9);
    k.extend_from_slice(address.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// `kind \0 target \0`: the prefix of the accounts a target is bound to.
fn factor_prefix(kind: FactorKind, target: &str) -> String {
    let kind = match kind {
        FactorKind::Totp => "totp",
        FactorKind::Sms => "sms",
        FactorKind::WeChat => "wechat",
        FactorKind::Email => "email",
    };
    format!("{kind}\0{target}\0")
}

/// Adds (or removes) the index entries of an account's bound targets.
fn index_factors(
    ix: &mut redb::Table<'_, &'static str, ()>,
    account: &Account,
    add: bool,
) -> Result<(), Error> {
    for f in &account.factors {
        if let Some(target) = &f.target {
            let key = factor_prefix(f.kind, target) + account.address.as_str();
            if add {
                ix.insert(key.as_str(), ()).map_err(store_err)?;
            } else {
                ix.remove(key.as_str()).map_err(store_err)?;
            }
        }
    }
    Ok(())
}

/// Indexes the factors of every account (a store written before the index existed).
fn build_factor_index(tx: &redb::WriteTransaction) -> Result<(), Error> {
    let accounts = tx.open_table(ACCOUNTS).map_err(store_err)?;
    let mut ix = tx.open_table(FACTORS).map_err(store_err)?;
    for item in accounts.iter().map_err(store_err)? {
        let (_, v) = item.map_err(store_err)?;
        // An undecodable record has no usable factors; reading it fails elsewhere.
        if let Ok(acc) = serde_json::from_slice::<Account>(v.value()) {
            index_factors(&mut ix, &acc, true)?;
        }
    }
    Ok(())
}

/// Indexes every login-log entry by account (a store written before the index existed).
fn build_login_index(tx: &redb::WriteTransaction) -> Result<(), Error> {
    #[derive(serde::Deserialize)]
    struct Who {
        #[serde(default)]
        account: Option<String>,
    }
    let log = tx.open_table(LOGINS).map_err(store_err)?;
    let mut ix = tx.open_table(LOGINS_BY_ACCOUNT).map_err(store_err)?;
    for item in log.iter().map_err(store_err)? {
        let (k, v) = item.map_err(store_err)?;
        if let Ok(Who { account: Some(a) }) = serde_json::from_slice(v.value()) {
            ix.insert(login_key(&a, k.value()).as_slice(), ())
                .map_err(store_err)?;
        }
    }
    Ok(())
}

impl AuthStore for RedbStore {
    fn account(&self, address: &Address) -> Result<Option<Account>, Error> {
        self.get(ACCOUNTS, address.as_str())
    }

    fn insert_account(&self, account: &Account) -> Result<bool, Error> {
        let bytes = serde_json::to_vec(account).map_err(store_err)?;
        let tx = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = tx.open_table(ACCOUNTS).map_err(store_err)?;
            if t.get(account.address.as_str())
                .map_err(store_err)?
                .is_some()
            {
                return Ok(false);
            }
            t.insert(account.address.as_str(), bytes.as_slice())
                .map_err(store_err)?;
            let mut ix = tx.open_table(FACTORS).map_err(store_err)?;
            index_factors(&mut ix, account, true)?;
        }
        tx.commit().map_err(store_err)?;
        Ok(true)
    }

    fn put_account(&self, account: &Account) -> Result<(), Error> {
        let bytes = serde_json::to_vec(account).map_err(store_err)?;
        let tx = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = tx.open_table(ACCOUNTS).map_err(store_err)?;
            let old = t
                .insert(account.address.as_str(), bytes.as_slice())
                .map_err(store_err)?
                .and_then(|v| serde_json::from_slice::<Account>(v.value()).ok());
            let mut ix = tx.open_table(FACTORS).map_err(store_err)?;
            if let Some(old) = old {
                index_factors(&mut ix, &old, false)?;
            }
            index_factors(&mut ix, account, true)?;
        }
        tx.commit().map_err(store_err)
    }

    fn delete_account(&self, address: &Address) -> Result<bool, Error> {
        let tx = self.db.begin_write().map_err(store_err)?;
        let existed = {
            let mut t = tx.open_table(ACCOUNTS).map_err(store_err)?;
            let old = t.remove(address.as_str()).map_err(store_err)?;
            let existed = old.is_some();
            if let Some(old) = old.and_then(|v| serde_json::from_slice::<Account>(v.value()).ok()) {
                let mut ix = tx.open_table(FACTORS).map_err(store_err)?;
                index_factors(&mut ix, &old, false)?;
            }
            existed
        };
        tx.commit().map_err(store_err)?;
        Ok(existed)
    }

    fn account_with_factor(
        &self,
        kind: FactorKind,
        target: &str,
        except: &Address,
    ) -> Result<Option<Address>, Error> {
        let prefix = factor_prefix(kind, target);
        let candidates: Vec<String> = {
            let tx = self.db.begin_read().map_err(store_err)?;
            let t = tx.open_table(FACTORS).map_err(store_err)?;
            let mut v = Vec::new();
            for item in t.range(prefix.as_str()..).map_err(store_err)? {
                let (k, _) = item.map_err(store_err)?;
                match k.value().strip_prefix(prefix.as_str()) {
                    Some(addr) => v.push(addr.to_string()),
                    None => break,
                }
            }
            v
        };
        // Each candidate is checked against its record, so an index entry left behind by a
        // record that could not be decoded at its last change never blocks anyone.
        for addr in candidates {
            let Ok(a) = Address::parse(&addr) else {
                continue;
            };
            if &a != except
                && let Some(acc) = self.account(&a)?
                && acc.has_factor_target(kind, target)
            {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    fn account_addresses(&self) -> Result<Vec<Address>, Error> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(ACCOUNTS).map_err(store_err)?;
        let mut v = Vec::new();
        for item in t.iter().map_err(store_err)? {
            let (k, _) = item.map_err(store_err)?;
            v.push(
                Address::parse(k.value())
                    .map_err(|e| Error::Store(format!("corrupt account key: {e}")))?,
            );
        }
        Ok(v)
    }

    fn domain_policy(&self, domain: &str) -> Result<Option<DomainPolicy>, Error> {
        self.get(DOMAINS, &domain.to_ascii_lowercase())
    }

    fn set_domain_policy(&self, domain: &str, policy: &DomainPolicy) -> Result<(), Error> {
        self.put(DOMAINS, &domain.to_ascii_lowercase(), policy)
    }

    fn append_login(&self, event: &LoginEvent) -> Result<(), Error> {
        self.append_login_batched(event)
    }

    fn logins(&self, account: Option<&Address>, limit: usize) -> Result<Vec<LoginEvent>, Error> {
        let Some(account) = account else {
            return self.newest(LOGINS, limit, |_: &LoginEvent| true);
        };
        // The account's entries through the index, newest first: reads only those.
        let tx = self.db.begin_read().map_err(store_err)?;
        let ix = tx.open_table(LOGINS_BY_ACCOUNT).map_err(store_err)?;
        let log = tx.open_table(LOGINS).map_err(store_err)?;
        let (from, to) = (
            login_key(account.as_str(), 0),
            login_key(account.as_str(), u64::MAX),
        );
        let mut out = Vec::new();
        for item in ix
            .range(from.as_slice()..=to.as_slice())
            .map_err(store_err)?
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let (k, _) = item.map_err(store_err)?;
            let Some(seq) = k.value().last_chunk::<8>().map(|b| u64::from_be_bytes(*b)) else {
                continue;
            };
            if let Some(v) = log.get(seq).map_err(store_err)? {
                out.push(serde_json::from_slice(v.value()).map_err(store_err)?);
            }
        }
        Ok(out)
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<(), Error> {
        self.append(AUDIT, event)
    }

    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>, Error> {
        self.newest(AUDIT, limit, |_: &AuditEvent| true)
    }

    fn put_block(&self, block: &BlockInfo) -> Result<(), Error> {
        self.put(BLOCKS, &block.network.to_string(), block)
    }

    fn remove_block(&self, network: &Network) -> Result<(), Error> {
        let tx = self.db.begin_write().map_err(store_err)?;
        let existed = {
            let mut t = tx.open_table(BLOCKS).map_err(store_err)?;
            t.remove(network.to_string().as_str())
                .map_err(store_err)?
                .is_some()
        };
        if existed {
            tx.commit().map_err(store_err)
        } else {
            tx.abort().map_err(store_err)
        }
    }

    fn stored_blocks(&self) -> Result<Vec<BlockInfo>, Error> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(BLOCKS).map_err(store_err)?;
        let mut v = Vec::new();
        for item in t.iter().map_err(store_err)? {
            let (_, val) = item.map_err(store_err)?;
            // A record that does not parse (written by a newer version, damaged) is skipped
            // rather than keeping the service from starting; remove_expired_blocks drops it.
            if let Ok(b) = serde_json::from_slice(val.value()) {
                v.push(b);
            }
        }
        Ok(v)
    }

    fn remove_expired_blocks(&self, now: Timestamp) -> Result<usize, Error> {
        let tx = self.db.begin_write().map_err(store_err)?;
        let mut old = Vec::new();
        {
            let mut t = tx.open_table(BLOCKS).map_err(store_err)?;
            for item in t.iter().map_err(store_err)? {
                let (k, v) = item.map_err(store_err)?;
                // A record that no longer parses is removed too: it can never be loaded.
                let expired =
                    serde_json::from_slice::<BlockInfo>(v.value()).map_or(true, |b| b.until <= now);
                if expired {
                    old.push(k.value().to_string());
                }
            }
            for k in &old {
                t.remove(k.as_str()).map_err(store_err)?;
            }
        }
        if old.is_empty() {
            tx.abort().map_err(store_err)?;
        } else {
            tx.commit().map_err(store_err)?;
        }
        Ok(old.len())
    }

    fn flush(&self) -> Result<(), Error> {
        RedbStore::flush(self)
    }
}
