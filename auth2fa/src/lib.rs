//! Account security for a mail system: primary passwords (argon2id) and their policy, app
//! passwords, TOTP and SMS / WeChat / e-mail second factors with recovery codes, trusted
//! devices, brute-force blocking by IP, account kinds and states, login region rules, a login
//! log with new-place alerts, and an administrators' audit log.
//!
//! The crate does no I/O of its own and has a synchronous API: persistence goes through an
//! [`AuthStore`] ([`MemoryStore`], or [`RedbStore`] with the `redb` feature), time is passed
//! in as a [`Timestamp`], randomness comes from a [`RandomSource`], codes go out through a
//! [`CodeSender`] and IP addresses are placed by a [`Locator`]. argon2 verification costs tens
//! of milliseconds: async servers call [`AuthService::authenticate`] and the web login through
//! `spawn_blocking`.
//!
//! # Protocol logins
//! [`AuthService::authenticate`]`(protocol, login, secret, client_ip, now)` returns a
//! [`Principal`] or an [`Error`] the server turns into an IMAP / POP3 / SMTP reply; each
//! variant's message tells the user what to do, and [`Error::code`] gives a stable name.
//!
//! # Where things are
//! * [`AuthService`]: the engine — accounts ([`AuthService::create_account`],
//!   [`AuthService::reset_password`], states, kinds, region rules, domain policy), app
//!   passwords ([`AuthService::create_app_password`]), protocol logins
//!   ([`AuthService::authenticate`]), second factors ([`AuthService::begin_bind_factor`],
//!   [`AuthService::confirm_bind_factor`], [`AuthService::confirm_current_factor`],
//!   [`AuthService::remove_factor`]), the web login ([`AuthService::web_login`] and the
//!   `web_*` steps, see [`WebStep`]), trusted devices, IP blocks
//!   ([`AuthService::blocks`], [`AuthService::lift_block`]), logs and alerts
//!   ([`AuthService::login_log`], [`AuthService::record_admin_action`],
//!   [`AuthService::poll_alert`]).
//! * [`Config`] with [`PasswordPolicy`], [`BlockPolicy`] and [`Argon2Params`]: every rule and
//!   its default.
//! * Traits the host implements or picks: [`AuthStore`], [`CodeSender`], [`Locator`],
//!   [`RandomSource`], [`Clock`].
//!
//! # The no-password-oracle rule
//! A failed login must not tell an attacker that the password they tried was right. So:
//! * facts that do not depend on the secret (IP blocked, login not a full address, account
//!   banned, delivery account on a mail protocol, region not allowed) are answered **before**
//!   the secret is checked, whatever the secret — they reveal nothing about it;
//! * an unknown account and a wrong secret give the same [`Error::WrongCredentials`], and an
//!   unknown account costs the same argon2 verification as a known one;
//! * only two answers follow a *right* account password, because only then can the user act
//!   on them: [`Error::MustChangePassword`] (change it on the web) and
//!   [`Error::AppPasswordRequired`] (2FA is on: use an app password). Both are still counted
//!   as failures for blocking (the same secret repeated counts once), so they cannot be used
//!   to test passwords faster than wrong ones;
//! * [`Error::AppPasswordNotForProtocol`] follows a right app password, an 80-bit random
//!   secret that cannot be guessed.
//!
//! # Example
//! ```
//! use std::net::IpAddr;
//! use auth2fa::{AuthService, Config, Error, MemoryStore, NewAccount, Protocol, ServerKey, Timestamp};
//!
//! # fn main() -> Result<(), Error> {
//! // Tests may use cheap argon2 parameters; production uses Config::default() (OWASP).
//! let auth = AuthService::new(MemoryStore::new(), ServerKey::from_bytes([7; 32]),
//!                             Config::insecure_fast_for_tests())?;
//! let now = Timestamp(1_800_000_000);
//! let ip: IpAddr = "192.0.2.10".parse().unwrap();
//!
//! let mut new = NewAccount::new("zhang.san@example.edu.cn", "Tq9!vLm2#pRz");
//! new.must_change_password = false; // a new account must change its password by default
//! auth.create_account(new, now)?;
//!
//! let who = auth.authenticate(Protocol::Imap, "zhang.san@example.edu.cn", "Tq9!vLm2#pRz", ip, now)?;
//! assert_eq!(who.address.as_str(), "zhang.san@example.edu.cn");
//!
//! // The part before @ alone is refused with a message the user can act on.
//! let err = auth.authenticate(Protocol::Imap, "zhang.san", "Tq9!vLm2#pRz", ip, now).unwrap_err();
//! assert_eq!(err, Error::LoginNotFullAddress);
//! assert!(err.to_string().contains("full e-mail address"));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
mod address;
mod app_password;
mod config;
mod device;
mod error;
mod factor;
mod ip_block;
mod log;
mod network;
mod password;
mod protocol_auth;
mod random;
#[cfg(feature = "redb")]
mod redb_store;
mod second_factor;
mod secret;
mod service;
mod store;
mod time;
mod web;

pub use account::{
    Account, AccountKind, AccountState, Channel, CredentialUsed, DomainPolicy, Principal, Protocol,
    ProtocolSet,
};
pub use address::{Address, AddressError};
pub use app_password::{
    ALPHABET as APP_PASSWORD_ALPHABET, AppPasswordInfo, LENGTH as APP_PASSWORD_LENGTH, Usage,
    normalize as normalize_app_password,
};
pub use config::Config;
pub use device::{DeviceId, TrustedDeviceInfo};
pub use error::Error;
pub use factor::{
    CodePurpose, CodeSender, FactorId, FactorInfo, FactorKind, FactorTarget, NoCodeSender,
    TotpEnrollment, normalize_phone, totp_code,
};
pub use ip_block::{BlockInfo, BlockPolicy, BlockReason, BlockTable};
pub use log::{Alert, AuditEvent, AuditResult, LoginEvent};
pub use network::{CidrLocator, Locator, Network, NoLocator, Place, RegionRule};
pub use password::{
    Argon2Params, PasswordHash, PasswordPolicy, PolicyViolation, common_password_count,
    hash_password, is_common_password, verify_password,
};
pub use protocol_auth::MAX_SECRET_BYTES;
pub use random::{RandomSource, SeededRandom, SystemRandomSource};
#[cfg(feature = "redb")]
pub use redb_store::{DEFAULT_LOG_BATCH, RedbStore};
pub use second_factor::{BindStart, BoundFactor};
pub use secret::{SecretBytes, SecretString, ServerKey, Tag};
pub use service::{AuthService, NewAccount};
pub use store::{AuthStore, MemoryStore};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use web::{WebSession, WebStage, WebStep};

/// The README's example runs as a doc-test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
