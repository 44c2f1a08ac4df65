//! DATA/config.toml: listeners, TLS files, limits, relay. Serde with defaults for every field,
//! so an operator's file only needs what differs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors reading or writing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read {path}: {source} (run `mailserver --data DIR init --domain DOMAIN` first)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialise the configuration: {0}")]
    Serialise(#[from] toml::ser::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The first local domain (others are added with `domain add`).
    pub domain: String,
    /// Host name used in greetings and Received headers.
    pub hostname: String,
    #[serde(default)]
    pub listeners: Listeners,
    #[serde(default)]
    pub tls: TlsFiles,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub store: StoreSettings,
    /// Outbound relay; without one, mail to other domains is bounced with a clear reason.
    #[serde(default)]
    pub smarthost: Option<Smarthost>,
}

/// Listener addresses; a listener set to `""` is disabled. Port 0 picks a free port (the
/// "listening" line prints the real one).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listeners {
    pub imap: String,
    pub imaps: String,
    pub pop3: String,
    pub pop3s: String,
    pub smtp: String,
    pub submission: String,
    pub submissions: String,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners {
            imap: "127.0.0.1:1143".into(),
            imaps: "127.0.0.1:1993".into(),
            pop3: "127.0.0.1:1110".into(),
            pop3s: "127.0.0.1:1995".into(),
            smtp: "127.0.0.1:1025".into(),
            submission: "127.0.0.1:1587".into(),
            submissions: "127.0.0.1:1465".into(),
        }
    }
}

/// Which protocol a listener speaks and how TLS starts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    Imap,
    Imaps,
    Pop3,
    Pop3s,
    Smtp,
    Submission,
    Submissions,
}

impl ListenerKind {
    pub const ALL: [ListenerKind; 7] = [
        ListenerKind::Imap,
        ListenerKind::Imaps,
        ListenerKind::Pop3,
        ListenerKind::Pop3s,
        ListenerKind::Smtp,
        ListenerKind::Submission,
        ListenerKind::Submissions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Imap => "imap",
            ListenerKind::Imaps => "imaps",
            ListenerKind::Pop3 => "pop3",
            ListenerKind::Pop3s => "pop3s",
            ListenerKind::Smtp => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
        }
    }

    /// TLS from the first byte (as opposed to STARTTLS / STLS on a plaintext port).
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            ListenerKind::Imaps | ListenerKind::Pop3s | ListenerKind::Submissions
        )
    }
}

impl Listeners {
    pub fn addr(&self, kind: ListenerKind) -> &str {
        match kind {
            ListenerKind::Imap => &self.imap,
            ListenerKind::Imaps => &self.imaps,
            ListenerKind::Pop3 => &self.pop3,
            ListenerKind::Pop3s => &self.pop3s,
            ListenerKind::Smtp => &self.smtp,
            ListenerKind::Submission => &self.submission,
            ListenerKind::Submissions => &self.submissions,
        }
    }

    /// The enabled listeners with their parsed addresses.
    pub fn enabled(&self) -> Result<Vec<(ListenerKind, SocketAddr)>, String> {
        let mut out = Vec::new();
        for kind in ListenerKind::ALL {
            let a = self.addr(kind).trim();
            if a.is_empty() {
                continue;
            }
            let addr: SocketAddr = a.parse().map_err(|e| {
                format!(
                    "listeners.{} = {a:?} is not an IP:port address: {e}",
                    kind.name()
                )
            })?;
            out.push((kind, addr));
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain, relative to the data directory unless absolute.
    pub cert: PathBuf,
    /// PEM private key, relative to the data directory unless absolute.
    pub key: PathBuf,
}

impl Default for TlsFiles {
    fn default() -> Self {
        TlsFiles {
            cert: PathBuf::from("tls/cert.pem"),
            key: PathBuf::from("tls/key.pem"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    /// Allow LOGIN / USER+PASS / AUTH PLAIN before STARTTLS from loopback addresses.
    pub allow_plaintext_from_loopback: bool,
    /// Allow plaintext logins from anywhere (never in production).
    pub allow_plaintext_anywhere: bool,
    /// Cheap password hashing for tests (never in production).
    pub fast_password_hashing_for_tests: bool,
    /// IP-to-place table (`CIDR PLACE` per line, e.g. `10.1.0.0/16 CN/Beijing`), relative to
    /// the data directory unless absolute. With it, the login log records places and a login
    /// from a place the account has not used before alerts the user (D5).
    pub locator_file: Option<PathBuf>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            allow_plaintext_from_loopback: true,
            allow_plaintext_anywhere: false,
            fast_password_hashing_for_tests: false,
            locator_file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Simultaneous connections from one IP address, all listeners together.
    pub max_connections_per_ip: usize,
    pub imap_idle_timeout_secs: u64,
    pub pop3_idle_timeout_secs: u64,
    pub smtp_idle_timeout_secs: u64,
    /// A client that stops in the middle of a command or a write for this long is dropped.
    pub slow_client_timeout_secs: u64,
    /// Largest message accepted by SMTP and IMAP APPEND, in bytes.
    pub max_message_bytes: u64,
    /// Default quota of a new account, in bytes (0 = unlimited).
    pub default_quota_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections_per_ip: 50,
            imap_idle_timeout_secs: 30 * 60,
            pop3_idle_timeout_secs: 10 * 60,
            smtp_idle_timeout_secs: 5 * 60,
            slow_client_timeout_secs: 60,
            max_message_bytes: 50 * 1024 * 1024,
            default_quota_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Memory the mail store may use for its indexes (everything is on disk; these bound what is
/// kept in memory at once).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// Accounts whose message index is kept in memory (loaded on first use, least recently
    /// used dropped first; never one with a session in IDLE).
    pub max_loaded_accounts: usize,
    /// Decoded message metadata records (envelope, MIME tree) cached in memory.
    pub metadata_cache_entries: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        let d = mailstore::StoreConfig::default();
        StoreSettings {
            max_loaded_accounts: d.max_loaded_accounts,
            metadata_cache_entries: d.metadata_cache_entries,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smarthost {
    /// host:port of the relay.
    pub address: String,
    /// Attempts before the message is bounced to its sender.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay; doubled after each failure.
    #[serde(default = "default_backoff")]
    pub initial_backoff_secs: u64,
    /// PEM file of the CA (or self-signed certificate) the smarthost's certificate must chain
    /// to. When set, STARTTLS is required and the certificate is verified against `tls_name`
    /// (default: the host part of `address`); without it the relay is plain SMTP.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The name (or IP) the smarthost's certificate must carry.
    #[serde(default)]
    pub tls_name: Option<String>,
    /// AUTH user name at the smarthost (only after STARTTLS).
    #[serde(default)]
    pub auth_user: Option<String>,
    /// File holding the AUTH password, relative to the data directory unless absolute.
    #[serde(default)]
    pub auth_password_file: Option<PathBuf>,
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    60
}

impl Config {
    pub fn new(domain: &str, hostname: Option<&str>) -> Config {
        Config {
            domain: domain.to_ascii_lowercase(),
            hostname: hostname
                .map(str::to_string)
                .unwrap_or_else(|| format!("mail.{}", domain.to_ascii_lowercase())),
            listeners: Listeners::default(),
            tls: TlsFiles::default(),
            security: Security::default(),
            limits: Limits::default(),
            store: StoreSettings::default(),
            smarthost: None,
        }
    }

    pub fn path(data: &Path) -> PathBuf {
        data.join("config.toml")
    }

    pub fn load(data: &Path) -> Result<Config, ConfigError> {
        let path = Config::path(data);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source })
    }

    pub fn save(&self, data: &Path) -> Result<(), ConfigError> {
        let path = Config::path(data);
        let text = toml::to_string_pretty(self)?;
        std::fs::write(&path, text).map_err(|source| ConfigError::Write { path, source })
    }

    /// A path from the config, relative to the data directory unless absolute.
    pub fn resolve(data: &Path, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            data.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_listeners_parse() {
        let c = Config::new("Example.EDU", None);
        assert_eq!(c.hostname, "mail.example.edu");
        let text = toml::to_string_pretty(&c).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        let l = back.listeners.enabled().unwrap();
        assert_eq!(l.len(), 7);
        assert_eq!(l[0].1.to_string(), "127.0.0.1:1143");
        assert_eq!(l[6].1.to_string(), "127.0.0.1:1465");
    }

    #[test]
    fn minimal_file_gets_defaults_and_bad_address_is_named() {
        let c: Config = toml::from_str(
            "domain = \"a.example\"\nhostname = \"mx.a.example\"\n[listeners]\nimap = \"nope\"\npop3 = \"\"\n",
        )
        .unwrap();
        assert_eq!(c.limits.pop3_idle_timeout_secs, 600);
        assert_eq!(
            c.store.max_loaded_accounts,
            mailstore::StoreConfig::default().max_loaded_accounts
        );
        let s: Config = toml::from_str(
            "domain = \"a.example\"\nhostname = \"mx.a.example\"\n[store]\nmax_loaded_accounts = 7\n",
        )
        .unwrap();
        assert_eq!(s.store.max_loaded_accounts, 7);
        assert_eq!(
            s.store.metadata_cache_entries,
            mailstore::StoreConfig::default().metadata_cache_entries
        );
        let err = c.listeners.enabled().unwrap_err();
        assert!(err.contains("listeners.imap"), "{err}");
    }
}
