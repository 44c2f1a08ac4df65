//! The composed server state: configuration, the mail store (mailstore), the account-security
//! engine (auth2fa), local domains, and the operations the protocol sessions and the admin
//! commands share (login, maildrop locks, delivery).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use auth2fa::{AuthService, Protocol};
use bytes::Bytes;
use mailstore::{AccountId, MailboxId, MailboxName, SpecialUse, Store, Uid};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::driver::ConnInfo;

/// The auth2fa store backend used by this server.
pub type AuthBackend = auth2fa::RedbStore;
pub type Auth = AuthService<AuthBackend>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(
        "cannot open the mail store in {path}: {source} (is another `mailserver` process using it without its admin socket?)"
    )]
    MailStore {
        path: PathBuf,
        source: mailstore::StoreError,
    },
    #[error("cannot open the account store {path}: {source}")]
    AuthStore {
        path: PathBuf,
        source: auth2fa::Error,
    },
    #[error("account security engine: {0}")]
    Auth(#[from] auth2fa::Error),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

/// Which protocol a login came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Imap,
    Pop3,
    Smtp,
}

impl Proto {
    fn auth(self) -> Protocol {
        match self {
            Proto::Imap => Protocol::Imap,
            Proto::Pop3 => Protocol::Pop3,
            Proto::Smtp => Protocol::Smtp,
        }
    }
}

/// A logged-in account.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The address, as the store's account id.
    pub address: AccountId,
    /// What auth2fa says about it (kind, state, credential used).
    pub auth: auth2fa::Principal,
}

impl Principal {
    pub fn email(&self) -> &str {
        self.address.as_str()
    }
}

/// A refused login: the text tells the user what to do.
#[derive(Debug, Clone)]
pub struct LoginRefusal {
    /// A server-side failure ("try again later") rather than a refusal.
    pub temporary: bool,
    pub text: String,
    /// auth2fa's machine-readable code (`wrong_credentials`, `app_password_required`, ...).
    pub code: &'static str,
}

/// A local domain and its policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DomainEntry {
    pub require_2fa: bool,
}

/// Holds a POP3 maildrop lock until dropped.
pub struct MaildropLock {
    set: Arc<Mutex<HashSet<String>>>,
    account: String,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.account);
    }
}

/// The folders every new account gets (REQUIREMENTS P3: Chinese names, special-use).
pub fn default_folders() -> Vec<(MailboxName, Option<SpecialUse>)> {
    let mut v = vec![(MailboxName::inbox(), None)];
    for (name, su) in [
        ("草稿箱", SpecialUse::Drafts),
        ("已发送", SpecialUse::Sent),
        ("已删除", SpecialUse::Trash),
        ("垃圾邮件", SpecialUse::Junk),
    ] {
        if let Ok(n) = MailboxName::new(name) {
            v.push((n, Some(su)));
        }
    }
    v
}

pub struct App {
    pub data: PathBuf,
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub auth: Arc<Auth>,
    domains: RwLock<BTreeMap<String, DomainEntry>>,
    maildrops: Arc<Mutex<HashSet<String>>>,
    /// Wakes the outbound queue worker.
    pub queue_wake: tokio::sync::Notify,
    /// Where verification codes go.
    pub codes: Arc<OutboxSender>,
}

fn now() -> auth2fa::Timestamp {
    auth2fa::Timestamp::now()
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl App {
    /// Opens the stores under `data`.
    pub async fn open(data: &Path, config: Config) -> Result<Arc<App>, AppError> {
        let store_dir = data.join("store");
        let store = {
            let dir = store_dir.clone();
            let store_config = mailstore::StoreConfig {
                max_message_size: config.limits.max_message_bytes,
                max_loaded_accounts: config.store.max_loaded_accounts.max(1),
                metadata_cache_entries: config.store.metadata_cache_entries,
            };
            tokio::task::spawn_blocking(move || mailstore::RedbStore::open_with(&dir, store_config))
                .await
                .map_err(|e| AppError::Corrupt {
                    path: store_dir.clone(),
                    detail: e.to_string(),
                })?
                .map_err(|source| AppError::MailStore {
                    path: store_dir.clone(),
                    source,
                })?
        };
        let key = load_or_create_key(&data.join("auth.key"))?;
        let auth_path = data.join("auth.redb");
        let auth_store = AuthBackend::open(&auth_path).map_err(|source| AppError::AuthStore {
            path: auth_path.clone(),
            source,
        })?;
        let mut auth_config = if config.security.fast_password_hashing_for_tests {
            auth2fa::Config::insecure_fast_for_tests()
        } else {
            auth2fa::Config::default()
        };
        auth_config.issuer = config.hostname.clone();
        let codes = Arc::new(OutboxSender::new(data));
        let mut auth = AuthService::new(auth_store, key, auth_config)?
            .with_code_sender(codes.clone() as Arc<dyn auth2fa::CodeSender>);
        if let Some(f) = &config.security.locator_file {
            let path = Config::resolve(data, f);
            let text = std::fs::read_to_string(&path).map_err(|source| AppError::File {
                path: path.clone(),
                source,
            })?;
            let table = auth2fa::CidrLocator::parse(&text).map_err(|e| AppError::Corrupt {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            auth = auth.with_locator(Arc::new(table));
        }
        let domains_path = data.join("domains.json");
        let mut domains: BTreeMap<String, DomainEntry> = match std::fs::read(&domains_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| AppError::Corrupt {
                path: domains_path.clone(),
                detail: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(AppError::File {
                    path: domains_path,
                    source,
                });
            }
        };
        domains.entry(config.domain.clone()).or_default();
        Ok(Arc::new(App {
            data: data.to_path_buf(),
            config,
            store: Arc::new(store),
            auth: Arc::new(auth),
            domains: RwLock::new(domains),
            maildrops: Arc::default(),
            queue_wake: tokio::sync::Notify::new(),
            codes,
        }))
    }

    /// Whether plaintext logins (before STARTTLS) are allowed from `ip`.
    pub fn plaintext_allowed(&self, ip: IpAddr) -> bool {
        self.config.security.allow_plaintext_anywhere
            || (self.config.security.allow_plaintext_from_loopback && ip.is_loopback())
    }

    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&domain.to_ascii_lowercase())
    }

    pub fn add_domain(&self, domain: &str, entry: DomainEntry) -> Result<(), AppError> {
        let mut d = self.domains.write().unwrap_or_else(|e| e.into_inner());
        d.insert(domain.to_ascii_lowercase(), entry);
        let path = self.data.join("domains.json");
        let text = serde_json::to_vec_pretty(&*d).unwrap_or_default();
        write_atomic(&path, &text).map_err(|source| AppError::File { path, source })
    }

    /// Every protocol login: auth2fa decides (off the async threads: argon2 is slow on
    /// purpose); the refusal text says what the user must do.
    pub async fn login(
        &self,
        proto: Proto,
        login: &str,
        secret: &[u8],
        conn: &ConnInfo,
    ) -> Result<Principal, LoginRefusal> {
        let Ok(secret) = std::str::from_utf8(secret) else {
            return Err(LoginRefusal {
                temporary: false,
                text: auth2fa::Error::WrongCredentials.to_string(),
                code: "wrong_credentials",
            });
        };
        let secret = auth2fa::SecretString::new(secret.to_string());
        let auth = self.auth.clone();
        let login_owned = login.to_string();
        let ip = conn.ip();
        let result = tokio::task::spawn_blocking(move || {
            auth.authenticate(proto.auth(), &login_owned, secret.expose(), ip, now())
        })
        .await;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "authentication task failed");
                return Err(LoginRefusal {
                    temporary: true,
                    text: "temporary server error, try again later".into(),
                    code: "internal",
                });
            }
        };
        match result {
            Ok(p) => {
                let Ok(address) = AccountId::new(p.address.as_str()) else {
                    return Err(LoginRefusal {
                        temporary: true,
                        text: "this account's address cannot be used by the mail store".into(),
                        code: "internal",
                    });
                };
                // The mailbox is created on first use if `user add` ran elsewhere.
                if let Err(e) = self.ensure_mailbox(&address).await {
                    tracing::error!(account = %address.as_str(), error = %e, "cannot open the mailbox");
                    return Err(LoginRefusal {
                        temporary: true,
                        text: "your mailbox is temporarily unavailable, try again later".into(),
                        code: "store",
                    });
                }
                tracing::info!(account = %address.as_str(), protocol = ?proto, %ip, "login");
                Ok(Principal { address, auth: p })
            }
            Err(e) => {
                tracing::info!(login = %login.chars().take(254).collect::<String>(), protocol = ?proto, %ip, code = e.code(), "login refused");
                Err(LoginRefusal {
                    temporary: e.is_temporary(),
                    text: e.to_string(),
                    code: e.code(),
                })
            }
        }
    }

    /// Creates the account's mailbox and default folders unless it exists (a read when it does).
    pub async fn ensure_mailbox(&self, account: &AccountId) -> Result<(), mailstore::StoreError> {
        if self.store.account_exists(account).await? {
            return Ok(());
        }
        self.store.create_account(account, &default_folders()).await
    }

    /// Takes the POP3 lock of an account; `None` when another session holds it.
    pub fn lock_maildrop(&self, account: &AccountId) -> Option<MaildropLock> {
        let mut set = self.maildrops.lock().unwrap_or_else(|e| e.into_inner());
        if !set.insert(account.as_str().to_string()) {
            return None;
        }
        Some(MaildropLock {
            set: self.maildrops.clone(),
            account: account.as_str().to_string(),
        })
    }

    /// The INBOX listing for POP3: (uid, size, unique id).
    pub async fn pop3_listing(
        &self,
        account: &AccountId,
    ) -> Result<(MailboxId, Vec<(Uid, u64, String)>), mailstore::StoreError> {
        let mbox = self
            .store
            .mailbox_id(account, &MailboxName::inbox())
            .await?;
        let sel = self.store.select(mbox).await?;
        let uids: Vec<Uid> = sel.messages.iter().map(|m| m.uid).collect();
        let infos = self.store.messages(mbox, &uids).await?;
        let v = sel.uid_validity.get();
        Ok((
            mbox,
            infos
                .into_iter()
                .map(|m| (m.uid, m.size, format!("{v}.{}", m.uid.get())))
                .collect(),
        ))
    }

    /// Marks and expunges the given messages.
    pub async fn delete_messages(
        &self,
        mbox: MailboxId,
        uids: &[Uid],
    ) -> Result<(), mailstore::StoreError> {
        let deleted = mailstore::Flags::from_flags([mailstore::Flag::Deleted]);
        self.store
            .store_flags(mbox, uids, mailstore::FlagOp::Add, &deleted, None)
            .await?;
        self.store.expunge(mbox, Some(uids)).await?;
        Ok(())
    }

    /// Delivers one message to a local account's INBOX, durably; returns the UID.
    pub async fn deliver_local(
        &self,
        account: &AccountId,
        raw: Bytes,
    ) -> Result<Uid, mailstore::StoreError> {
        let mbox = match self.store.mailbox_id(account, &MailboxName::inbox()).await {
            Ok(m) => m,
            Err(_) => {
                self.ensure_mailbox(account).await?;
                self.store
                    .mailbox_id(account, &MailboxName::inbox())
                    .await?
            }
        };
        let a = self
            .store
            .append(mbox, raw, mailstore::Flags::empty(), unix_now())
            .await?;
        Ok(a.uid)
    }

    /// The auth2fa account behind a local address, if any.
    pub fn account(&self, email: &str) -> Option<auth2fa::Account> {
        self.auth.account(email).ok()
    }
}

/// The server key for app-password and device tags: 32 random bytes in DATA/auth.key (0600).
fn load_or_create_key(path: &Path) -> Result<auth2fa::ServerKey, AppError> {
    match std::fs::read(path) {
        Ok(b) => {
            let arr: [u8; 32] = b.as_slice().try_into().map_err(|_| AppError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("expected 32 bytes, found {}", b.len()),
            })?;
            Ok(auth2fa::ServerKey::from_bytes(arr))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let rng = ring::rand::SystemRandom::new();
            let mut k = [0u8; 32];
            ring::rand::SecureRandom::fill(&rng, &mut k).map_err(|_| AppError::Corrupt {
                path: path.to_path_buf(),
                detail: "the system random generator failed".into(),
            })?;
            write_private_atomic(path, &k).map_err(|source| AppError::File {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(auth2fa::ServerKey::from_bytes(k))
        }
        Err(source) => Err(AppError::File {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes via a temporary file, fsync and rename, so a crash leaves the old or the new file.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_private_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Delivers auth2fa's alerts (a login from a new place, D5) until the task is aborted: a
/// message in the user's INBOX, a line in DATA/outbox.log (where an SMS gateway would pick it
/// up), and a warning in the server log.
pub async fn alert_worker(app: Arc<App>) {
    loop {
        while let Some(alert) = app.auth.poll_alert() {
            let auth2fa::Alert::NewPlace {
                account,
                place,
                ip,
                channel,
                at,
            } = alert;
            let when = crate::ops::rfc3339(at.as_secs() as i64);
            tracing::warn!(account = %account, %place, %ip, %channel, "login from a new place");
            let line = serde_json::json!({
                "to": account.as_str(), "kind": "new_place", "place": place.to_string(),
                "ip": ip.to_string(), "channel": channel.to_string(), "at": when,
            });
            let data = app.data.clone();
            let _ = tokio::task::spawn_blocking(move || append_outbox(&data, &line)).await;
            let msg = format!(
                "From: Security <postmaster@{host}>\r\nTo: <{to}>\r\n\
                 Subject: =?UTF-8?B?{subject}?=\r\nDate: {date}\r\nAuto-Submitted: auto-generated\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n\
                 Your account {to} was used from a place it has not been used from before:\r\n\r\n\
                 \x20 place: {place}\r\n  address: {ip}\r\n  via: {channel}\r\n  at: {when}\r\n\r\n\
                 If this was not you, change your password and remove unknown app passwords.\r\n",
                host = app.config.hostname,
                to = account.as_str(),
                subject = base64_utf8("新地点登录提醒 / Sign-in from a new place"),
                date = crate::smtp::rfc2822_now(),
            );
            if let Ok(id) = AccountId::new(account.as_str())
                && let Err(e) = app.deliver_local(&id, Bytes::from(msg)).await
            {
                tracing::error!(error = %e, "cannot deliver the new-place alert");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn base64_utf8(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// Appends one JSON line to DATA/outbox.log (created mode 0600): what an SMS / WeChat / e-mail
/// gateway would pick up.
pub fn append_outbox(data: &Path, line: &serde_json::Value) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(data.join("outbox.log"))?;
    writeln!(f, "{line}")
}

/// auth2fa's code sender for this server: verification codes go to DATA/outbox.log (never to
/// the log). The last binding code per account is kept so that a binding the administrator
/// made after checking the user's identity (`user add --phone`) can be confirmed at once.
pub struct OutboxSender {
    data: PathBuf,
    bind_codes: Mutex<HashMap<String, auth2fa::SecretString>>,
}

impl OutboxSender {
    pub fn new(data: &Path) -> OutboxSender {
        OutboxSender {
            data: data.to_path_buf(),
            bind_codes: Mutex::default(),
        }
    }

    /// The binding code last sent for `account`, once.
    pub fn take_bind_code(&self, account: &str) -> Option<auth2fa::SecretString> {
        self.bind_codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account)
    }
}

impl auth2fa::CodeSender for OutboxSender {
    fn send_code(
        &self,
        kind: auth2fa::FactorKind,
        target: &str,
        account: &auth2fa::Address,
        code: &auth2fa::SecretString,
        purpose: auth2fa::CodePurpose,
    ) -> Result<(), String> {
        let line = serde_json::json!({
            "kind": format!("{kind:?}"),
            "to": target,
            "account": account.as_str(),
            "purpose": format!("{purpose:?}"),
            "code": code.expose(),
            "at": crate::ops::rfc3339(unix_now()),
        });
        append_outbox(&self.data, &line).map_err(|e| format!("outbox: {e}"))?;
        tracing::info!(account = %account, kind = ?kind, purpose = ?purpose, "verification code queued in the outbox");
        if purpose == auth2fa::CodePurpose::Bind {
            self.bind_codes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(account.as_str().to_string(), code.clone());
        }
        Ok(())
    }
}
