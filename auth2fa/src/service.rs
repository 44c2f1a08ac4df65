//! [`AuthService`]: the engine. Construction, accounts, app passwords, blocks and logs live
//! here; protocol authentication, second factors and web login in their own modules.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::account::{Account, AccountKind, AccountState, DomainPolicy, ProtocolSet};
use crate::address::{Address, AddressError};
use crate::app_password::{self, AppPasswordInfo, AppPasswordRecord};
use crate::config::Config;
use crate::error::Error;
use crate::factor::{CodeSender, NoCodeSender};
use crate::ip_block::{BlockInfo, BlockReason, BlockTable};
use crate::log::{Alert, AuditEvent, LoginEvent};
use crate::network::{Locator, Network, NoLocator, RegionRule};
use crate::password::{self, PasswordHash};
use crate::random::{RandomSource, SystemRandomSource, draw_symbols};
use crate::second_factor::PendingCode;
use crate::secret::{SecretString, ServerKey, Tag};
use crate::store::AuthStore;
use crate::time::Timestamp;
use crate::web::WebLoginState;

const LOCK_STRIPES: usize = 64;

/// What an administrator gives to create an account.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// The full address.
    pub address: String,
    /// The initial password (checked against the policy).
    pub password: SecretString,
    /// Kind (default normal).
    pub kind: AccountKind,
    /// Display name.
    pub display_name: String,
    /// Whether the user must change the password before protocol use (default true, as
    /// REQUIREMENTS A1 asks; set false only for accounts migrated with a user-chosen password).
    pub must_change_password: bool,
}

impl NewAccount {
    /// A normal account that must change its initial password.
    pub fn new(address: impl Into<String>, password: impl Into<SecretString>) -> Self {
        NewAccount {
            address: address.into(),
            password: password.into(),
            kind: AccountKind::Normal,
            display_name: String::new(),
            must_change_password: true,
        }
    }
}

/// The account-security engine. Synchronous and without I/O of its own: state goes through
/// the [`AuthStore`], time comes in as `now`, randomness from the [`RandomSource`]. Share it
/// between threads behind an `Arc`; call argon2-bound methods (`authenticate`, the web login,
/// password changes) from a blocking thread (`tokio::task::spawn_blocking`).
pub struct AuthService<S: AuthStore> {
    pub(crate) store: S,
    pub(crate) config: Config,
    pub(crate) key: ServerKey,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) locator: Arc<dyn Locator>,
    pub(crate) sender: Arc<dyn CodeSender>,
    pub(crate) blocks: Mutex<BlockTable>,
    locks: Vec<Mutex<()>>,
    lock_hasher: std::collections::hash_map::RandomState,
    pub(crate) codes: Mutex<HashMap<(Address, u8), PendingCode>>,
    pub(crate) web: Mutex<HashMap<[u8; 32], WebLoginState>>,
    alerts: Mutex<VecDeque<Alert>>,
    pub(crate) dummy_hash: PasswordHash,
}

impl<S: AuthStore> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take authentication down: the tables stay consistent
    // because every critical section leaves them valid at each step.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S: AuthStore> AuthService<S> {
    /// An engine over `store`, with the server `key`, the system random generator, no locator
    /// and no code sender (set them with the `with_*` methods).
    pub fn new(store: S, key: ServerKey, config: Config) -> Result<Self, Error> {
        Self::with_parts(store, key, config, Arc::new(SystemRandomSource::new()))
    }

    fn with_parts(
        store: S,
        key: ServerKey,
        config: Config,
        random: Arc<dyn RandomSource>,
    ) -> Result<Self, Error> {
        config.validate()?;
        let dummy_hash = password::hash_password(
            "no account has this password",
            config.argon2,
            random.as_ref(),
        )?;
        // Active blocks survive restarts: load what the store kept (expired ones are
        // dropped on their first lookup; the table's caps apply).
        let mut table = BlockTable::new(config.block.clone());
        table.restore(store.stored_blocks()?);
        Ok(AuthService {
            store,
            blocks: Mutex::new(table),
            config,
            key,
            random,
            locator: Arc::new(NoLocator),
            sender: Arc::new(NoCodeSender),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            lock_hasher: Default::default(),
            codes: Mutex::default(),
            web: Mutex::default(),
            alerts: Mutex::default(),
            dummy_hash,
        })
    }

    /// Replaces the random source (tests use [`SeededRandom`](crate::SeededRandom)).
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Sets the IP-to-place locator.
    pub fn with_locator(mut self, locator: Arc<dyn Locator>) -> Self {
        self.locator = locator;
        self
    }

    /// Sets the sender of SMS / WeChat / e-mail codes.
    pub fn with_code_sender(mut self, sender: Arc<dyn CodeSender>) -> Self {
        self.sender = sender;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    // ---- helpers -------------------------------------------------------------------------

    pub(crate) fn parse_address(s: &str) -> Result<Address, Error> {
        Address::parse(s).map_err(|e| match e {
            AddressError::NotFullAddress => Error::LoginNotFullAddress,
            AddressError::Invalid(why) => Error::InvalidAddress(why.to_string()),
        })
    }

    pub(crate) fn load(&self, address: &Address) -> Result<Account, Error> {
        self.store
            .account(address)?
            .ok_or_else(|| Error::NoSuchAccount(address.to_string()))
    }

    /// Runs a read-modify-write of one account under its lock; the record is written back
    /// only if `f` succeeds.
    pub(crate) fn modify<R>(
        &self,
        address: &Address,
        f: impl FnOnce(&mut Account) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let h = self.lock_hasher.hash_one(address);
        let _guard = lock(&self.locks[(h as usize) % LOCK_STRIPES]);
        let mut account = self.load(address)?;
        let r = f(&mut account)?;
        self.store.put_account(&account)?;
        Ok(r)
    }

    pub(crate) fn domain_policy_of(
        &self,
        address: &Address,
    ) -> Result<Option<DomainPolicy>, Error> {
        self.store.domain_policy(address.domain())
    }

    pub(crate) fn check_new_password(
        &self,
        address: &Address,
        kind: AccountKind,
        password: &str,
    ) -> Result<(), Error> {
        self.config
            .password_policy
            .check(password, address.local(), kind == AccountKind::Delivery)
            .map_err(Error::WeakPassword)
    }

    pub(crate) fn hash(&self, password: &str) -> Result<PasswordHash, Error> {
        password::hash_password(password, self.config.argon2, self.random.as_ref())
    }

    pub(crate) fn push_alert(&self, alert: Alert) {
        let mut q = lock(&self.alerts);
        if q.len() >= self.config.max_pending_alerts.max(1) {
            q.pop_front();
        }
        q.push_back(alert);
    }

    pub(crate) fn random_token(&self) -> Result<[u8; 32], Error> {
        let mut t = [0u8; 32];
        self.random.fill(&mut t)?;
        Ok(t)
    }

    // ---- accounts ------------------------------------------------------------------------

    /// Creates an account (REQUIREMENTS A1). The password is checked against the policy
    /// (strong rules for delivery accounts) and must be changed before protocol use unless
    /// `must_change_password` is false.
    pub fn create_account(&self, new: NewAccount, now: Timestamp) -> Result<Account, Error> {
        let address = Self::parse_address(&new.address)?;
        self.check_new_password(&address, new.kind, new.password.expose())?;
        let account = Account {
            display_name: new
                .display_name
                .chars()
                .filter(|c| !c.is_control())
                .take(128)
                .collect(),
            kind: new.kind,
            state: AccountState::Active,
            password: self.hash(new.password.expose())?,
            must_change_password: new.must_change_password,
            force_two_factor: false,
            region: RegionRule::anywhere(),
            created: now,
            password_changed: now,
            factors: Vec::new(),
            next_factor_id: 1,
            recovery_codes: Vec::new(),
            app_passwords: Vec::new(),
            trusted_devices: Vec::new(),
            next_device_id: 1,
            known_places: Vec::new(),
            address,
        };
        if !self.store.insert_account(&account)? {
            return Err(Error::AccountExists(account.address.to_string()));
        }
        Ok(account)
    }

    /// The account named `address`.
    pub fn account(&self, address: &str) -> Result<Account, Error> {
        self.load(&Self::parse_address(address)?)
    }

    /// All accounts, sorted by address.
    pub fn accounts(&self) -> Result<Vec<Account>, Error> {
        let mut v = Vec::new();
        for a in self.store.account_addresses()? {
            if let Some(acc) = self.store.account(&a)? {
                v.push(acc);
            }
        }
        Ok(v)
    }

    /// Deletes an account.
    pub fn delete_account(&self, address: &str) -> Result<(), Error> {
        let a = Self::parse_address(address)?;
        if !self.store.delete_account(&a)? {
            return Err(Error::NoSuchAccount(a.to_string()));
        }
        lock(&self.codes).retain(|(acc, _), _| *acc != a);
        Ok(())
    }

    /// Sets the account state (active, restricted, banned).
    pub fn set_state(&self, address: &str, state: AccountState) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            a.state = state;
            Ok(())
        })
    }

    /// Sets the account kind (normal, delivery).
    pub fn set_kind(&self, address: &str, kind: AccountKind) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            a.kind = kind;
            Ok(())
        })
    }

    /// Sets the display name.
    pub fn set_display_name(&self, address: &str, name: &str) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            a.display_name = name.chars().filter(|c| !c.is_control()).take(128).collect();
            Ok(())
        })
    }

    /// Forces (or stops forcing) two-factor authentication on one account (F2).
    pub fn set_force_two_factor(&self, address: &str, force: bool) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            a.force_two_factor = force;
            Ok(())
        })
    }

    /// Sets or clears the must-change-password flag.
    pub fn set_must_change_password(&self, address: &str, must: bool) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            a.must_change_password = must;
            Ok(())
        })
    }

    /// Sets the account's login region rule (D7).
    pub fn set_region_rule(&self, address: &str, rule: RegionRule) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            a.region = rule;
            Ok(())
        })
    }

    /// Sets a domain's policy (forced 2FA for everyone, F2).
    pub fn set_domain_policy(&self, domain: &str, policy: DomainPolicy) -> Result<(), Error> {
        let probe = format!("x@{domain}");
        let a = Self::parse_address(&probe)?;
        self.store.set_domain_policy(a.domain(), &policy)
    }

    /// A domain's policy (the default if none was set).
    pub fn domain_policy(&self, domain: &str) -> Result<DomainPolicy, Error> {
        Ok(self
            .store
            .domain_policy(&domain.to_ascii_lowercase())?
            .unwrap_or_default())
    }

    /// An administrator's password reset (A1): the new password is checked against the
    /// policy, must be changed before protocol use, and (by default) all app passwords and
    /// trusted devices are revoked. Refused for restricted (A2) and banned accounts.
    pub fn reset_password(
        &self,
        address: &str,
        new_password: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let addr = Self::parse_address(address)?;
        let current = self.load(&addr)?;
        match current.state {
            AccountState::Banned => return Err(Error::AccountBanned(addr.to_string())),
            AccountState::Restricted => return Err(Error::AccountRestricted(addr.to_string())),
            AccountState::Active => {}
        }
        self.check_new_password(&addr, current.kind, new_password)?;
        let hash = self.hash(new_password)?;
        let (revoke_apps, revoke_devices) = (
            self.config.revoke_app_passwords_on_reset,
            self.config.revoke_devices_on_reset,
        );
        self.modify(&addr, |a| {
            a.password = hash;
            a.must_change_password = true;
            a.password_changed = now;
            if revoke_apps {
                a.app_passwords.clear();
            }
            if revoke_devices {
                a.trusted_devices.clear();
            }
            Ok(())
        })
    }

    /// The user changes their own password, giving the current one. Clears must-change.
    pub fn change_password(
        &self,
        address: &str,
        current_password: &str,
        new_password: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let addr = Self::parse_address(address)?;
        let acc = self.load(&addr)?;
        if acc.state == AccountState::Banned {
            return Err(Error::AccountBanned(addr.to_string()));
        }
        if !password::verify_password(current_password, &acc.password) {
            return Err(Error::WrongCurrentPassword);
        }
        self.set_new_password(&addr, acc.kind, new_password, now)
    }

    pub(crate) fn set_new_password(
        &self,
        addr: &Address,
        kind: AccountKind,
        new_password: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_new_password(addr, kind, new_password)?;
        let hash = self.hash(new_password)?;
        self.modify(addr, |a| {
            if password::verify_password(new_password, &a.password) {
                return Err(Error::WeakPassword(
                    password::PolicyViolation::SameAsCurrent,
                ));
            }
            a.password = hash;
            a.must_change_password = false;
            a.password_changed = now;
            Ok(())
        })
    }

    // ---- app passwords -------------------------------------------------------------------

    pub(crate) fn app_password_tag(&self, address: &Address, normalized: &[u8]) -> Tag {
        self.key
            .tag(b"app-password", &[address.as_str().as_bytes(), normalized])
    }

    /// Creates an app password (C2) named `name` (unique per account), usable on `scope`.
    /// Needs a bound second factor. The returned secret (`abcd efgh jkmn pqrs`) is shown once
    /// and cannot be retrieved again.
    pub fn create_app_password(
        &self,
        address: &str,
        name: &str,
        scope: ProtocolSet,
        now: Timestamp,
    ) -> Result<SecretString, Error> {
        let addr = Self::parse_address(address)?;
        let name = app_password::valid_name(name).ok_or(Error::InvalidAppPasswordName)?;
        let raw = SecretString::new(draw_symbols(
            self.random.as_ref(),
            app_password::ALPHABET,
            app_password::LENGTH,
        )?);
        let tag = self.app_password_tag(&addr, raw.expose().as_bytes());
        let max = self.config.max_app_passwords;
        self.modify(&addr, |a| {
            if a.state == AccountState::Banned {
                return Err(Error::AccountBanned(a.address.to_string()));
            }
            if a.factors.is_empty() {
                return Err(Error::TwoFactorNotEnabled);
            }
            if a.app_passwords.iter().any(|p| p.name == name) {
                return Err(Error::AppPasswordNameTaken(name.clone()));
            }
            if a.app_passwords.len() >= max {
                return Err(Error::TooManyAppPasswords { max });
            }
            a.app_passwords.push(AppPasswordRecord {
                name: name.clone(),
                tag,
                created: now,
                scope,
                last_used: None,
            });
            Ok(())
        })?;
        Ok(SecretString::new(app_password::display_groups(
            raw.expose(),
        )))
    }

    /// The account's app passwords: names, creation, scope and last use; never the secrets.
    pub fn app_passwords(&self, address: &str) -> Result<Vec<AppPasswordInfo>, Error> {
        Ok(self
            .account(address)?
            .app_passwords
            .iter()
            .map(AppPasswordInfo::from)
            .collect())
    }

    /// Removes one app password by name.
    pub fn remove_app_password(&self, address: &str, name: &str) -> Result<(), Error> {
        let name = name.trim().to_string();
        self.modify(&Self::parse_address(address)?, |a| {
            let before = a.app_passwords.len();
            a.app_passwords.retain(|p| p.name != name);
            if a.app_passwords.len() == before {
                return Err(Error::NoSuchAppPassword(name));
            }
            Ok(())
        })
    }

    /// Removes all app passwords; how many there were.
    pub fn remove_all_app_passwords(&self, address: &str) -> Result<usize, Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            let n = a.app_passwords.len();
            a.app_passwords.clear();
            Ok(n)
        })
    }

    // ---- blocks --------------------------------------------------------------------------

    /// Current IP blocks, soonest-ending first. Also removes expired blocks from the store.
    pub fn blocks(&self, now: Timestamp) -> Vec<BlockInfo> {
        let list = lock(&self.blocks).list(now);
        self.forget_expired_blocks();
        // Blocks evicted from memory past the cap stay stored until they expire.
        let _ = self.store.remove_expired_blocks(now);
        list
    }

    /// Lifts every block covering `ip`, in memory and in the store; whether there was one.
    /// A store error is ignored here (the block stays lifted until a restart); use
    /// [`try_lift_block`](Self::try_lift_block) to see it.
    pub fn lift_block(&self, ip: IpAddr) -> bool {
        let (lifted, _) = self.lift_block_inner(ip);
        lifted
    }

    /// As [`lift_block`](Self::lift_block), but reports a failure to remove the block from
    /// the store (the block is lifted in memory either way; retry to make it stick).
    pub fn try_lift_block(&self, ip: IpAddr) -> Result<bool, Error> {
        let (lifted, r) = self.lift_block_inner(ip);
        r.map(|()| lifted)
    }

    fn lift_block_inner(&self, ip: IpAddr) -> (bool, Result<(), Error>) {
        let (mut nets, own) = {
            let mut t = lock(&self.blocks);
            (t.lift_networks(ip), t.network_of(ip))
        };
        let lifted = !nets.is_empty();
        // The address's own block may be stored though evicted from memory past the cap.
        if !nets.contains(&own) {
            nets.push(own);
        }
        let mut r = Ok(());
        for n in &nets {
            if let Err(e) = self.store.remove_block(n) {
                r = Err(e);
            }
        }
        (lifted, r)
    }

    /// If `ip` is blocked at `now`, until when; blocks found expired are removed from the
    /// store on the way.
    pub(crate) fn blocked_until(&self, ip: IpAddr, now: Timestamp) -> Option<Timestamp> {
        let until = lock(&self.blocks).blocked_until(ip, now);
        self.forget_expired_blocks();
        until
    }

    fn forget_expired_blocks(&self) {
        let expired = lock(&self.blocks).take_expired();
        for n in &expired {
            // Best effort: what is left is pruned when blocks are next listed.
            let _ = self.store.remove_block(n);
        }
    }

    /// Persists a block that a failure just started (once per block).
    pub(crate) fn persist_block(&self, block: &BlockInfo) {
        // A failing store must not stop the block; it then lasts until a restart only.
        let _ = self.store.put_block(block);
    }

    /// Blocks a network by hand until `until`.
    pub fn block_network(
        &self,
        network: Network,
        until: Timestamp,
        by: &str,
        note: &str,
        now: Timestamp,
    ) {
        let reason = BlockReason::Manual {
            by: by.chars().take(64).collect(),
            note: note.chars().take(256).collect(),
        };
        let mut t = lock(&self.blocks);
        // Stored under the network the table keys it by (a single IPv6 address is its /64).
        let single = match network.addr() {
            IpAddr::V4(_) => network.prefix() == 32,
            IpAddr::V6(_) => network.prefix() >= t.policy().ipv6_prefix,
        };
        let stored = if single {
            t.network_of(network.addr())
        } else {
            network
        };
        t.block(network, now, until, reason.clone());
        drop(t);
        self.persist_block(&BlockInfo {
            network: stored,
            since: now,
            until,
            reason,
        });
    }

    /// `(failure counters, blocks, approximate bytes)` of the block table.
    pub fn block_table_stats(&self) -> (usize, usize, usize) {
        let t = lock(&self.blocks);
        (t.counter_count(), t.block_count(), t.approx_memory_bytes())
    }

    // ---- logs and alerts -----------------------------------------------------------------

    /// The newest `limit` login attempts, of one account or all, newest first.
    pub fn login_log(&self, account: Option<&str>, limit: usize) -> Result<Vec<LoginEvent>, Error> {
        let a = account.map(Self::parse_address).transpose()?;
        self.store.logins(a.as_ref(), limit)
    }

    /// Makes the login log written so far durable. Hosts call it on a timer (e.g. every
    /// second) and at shutdown; see `RedbStore` for what a crash can lose
    /// otherwise.
    pub fn flush(&self) -> Result<(), Error> {
        self.store.flush()
    }

    /// Records an administrator action with its result (D6).
    pub fn record_admin_action(&self, event: AuditEvent) -> Result<(), Error> {
        self.store.append_audit(&event)
    }

    /// The newest `limit` administrator actions, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEvent>, Error> {
        self.store.audit_events(limit)
    }

    /// The next alert for the host to deliver (by SMS and e-mail), oldest first.
    pub fn poll_alert(&self) -> Option<Alert> {
        lock(&self.alerts).pop_front()
    }
}
