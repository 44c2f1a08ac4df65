//! The crate's one error type.

use crate::account::{AccountKind, Protocol};
use crate::password::PolicyViolation;
use crate::time::Timestamp;

/// Everything that can go wrong, with a message a user (or an administrator, for management
/// calls) can act on.
///
/// The first group is what [`AuthService::authenticate`](crate::AuthService::authenticate)
/// returns; the server maps each to a protocol reply (see [`Error::code`] for a stable
/// machine-readable name). See the crate documentation for the no-password-oracle rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- protocol and web login failures -------------------------------------------------
    /// The login was not a full address (REQUIREMENTS P2).
    #[error("log in with your full e-mail address (user@domain), not just the user name")]
    LoginNotFullAddress,
    /// Unknown account or wrong secret (never says which).
    #[error("wrong e-mail address or password")]
    WrongCredentials,
    /// 2FA is on: mail clients must use an app password (REQUIREMENTS C1).
    #[error(
        "two-factor authentication is on for this account: mail clients must use an app password; create one on the web (Settings, Client passwords) and use it instead of your account password"
    )]
    AppPasswordRequired,
    /// The app password is right but its scope excludes this protocol.
    #[error("this app password is not allowed for {protocol}: create one that is, on the web")]
    AppPasswordNotForProtocol {
        /// The protocol that was refused.
        protocol: Protocol,
    },
    /// The password was set by an administrator (creation or reset) and must be changed first.
    #[error(
        "your password must be changed before use: log in on the web, change it, then use the new password here"
    )]
    MustChangePassword,
    /// The account is banned (REQUIREMENTS A3).
    #[error("this account has been banned and cannot be used; you may apply for a new account")]
    Banned,
    /// The account's kind may not use this protocol (delivery accounts are web only, D3).
    #[error("{kind} accounts cannot use {protocol} clients: please use the web interface")]
    ProtocolNotAllowed {
        /// The account kind.
        kind: AccountKind,
        /// The protocol that was refused.
        protocol: Protocol,
    },
    /// The account's region rule does not allow this network or place (D7).
    #[error(
        "logins to this account are not allowed from your network or region; ask your administrator"
    )]
    RegionNotAllowed,
    /// Too many failures from this IP address (C4).
    #[error("too many failed logins from your IP address: try again after {until}")]
    IpBlocked {
        /// When the block ends.
        until: Timestamp,
    },

    // --- passwords and accounts ------------------------------------------------------------
    /// A new password breaks a rule of the policy.
    #[error("password not accepted: {0}")]
    WeakPassword(PolicyViolation),
    /// A string is not an acceptable address.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// No such account.
    #[error("no account {0}")]
    NoSuchAccount(String),
    /// The account exists already.
    #[error("account {0} already exists")]
    AccountExists(String),
    /// The account is banned and cannot be changed this way.
    #[error("account {0} is banned: this operation is not allowed")]
    AccountBanned(String),
    /// Restricted accounts get no password reset (A2).
    #[error(
        "account {0} is restricted: its password cannot be reset until the restriction is lifted"
    )]
    AccountRestricted(String),
    /// The current password given for a change was wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,

    // --- app passwords ---------------------------------------------------------------------
    /// App passwords need 2FA first (C2).
    #[error("turn on two-factor authentication first; app passwords exist only with it")]
    TwoFactorNotEnabled,
    /// Name empty, too long or with control characters.
    #[error("app password name must be 1-64 characters without control characters")]
    InvalidAppPasswordName,
    /// Name already used on this account.
    #[error("an app password named {0:?} exists already: choose another name")]
    AppPasswordNameTaken(String),
    /// Too many app passwords.
    #[error("at most {max} app passwords per account: remove one you no longer use first")]
    TooManyAppPasswords {
        /// The configured maximum.
        max: usize,
    },
    /// No app password with that name.
    #[error("no app password named {0:?}")]
    NoSuchAppPassword(String),
    /// An app password scope with no protocol.
    #[error("an app password must allow at least one of IMAP, POP3, SMTP")]
    EmptyScope,

    // --- second factors --------------------------------------------------------------------
    /// No factor with that id.
    #[error("no such second factor on this account")]
    NoSuchFactor,
    /// The account already has this factor bound.
    #[error("this {0} is already bound to your account")]
    FactorAlreadyBound(&'static str),
    /// Policy: one phone or WeChat per mailbox, and this one is bound elsewhere.
    #[error("this {0} is already bound to another mailbox; one may be bound to only one mailbox")]
    FactorBoundElsewhere(&'static str),
    /// A phone number, WeChat id or e-mail address that cannot be used.
    #[error("invalid {kind}: {reason}")]
    InvalidFactorTarget {
        /// What was given (phone number, ...).
        kind: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// No code was sent, or it was used up.
    #[error("no verification code is pending: request a new code")]
    NoCodePending,
    /// The factor is an authenticator app: nothing is sent, the app shows the code.
    #[error("nothing is sent for an authenticator app: enter the 6-digit code it shows")]
    NothingToSend,
    /// The code expired.
    #[error("the verification code has expired: request a new one")]
    CodeExpired,
    /// Wrong code.
    #[error("wrong verification code ({remaining} tries left)")]
    WrongCode {
        /// Tries left before the code is burnt.
        remaining: u32,
    },
    /// Too many wrong tries burnt the code.
    #[error("too many wrong codes: this code is no longer valid, request a new one")]
    CodeBurned,
    /// A code was sent too recently.
    #[error("a code was sent moments ago: you can ask for another after {retry_at}")]
    ResendTooSoon {
        /// When a new code may be requested.
        retry_at: Timestamp,
    },
    /// A TOTP code already used (RFC 6238 section 5.2).
    #[error("this code has been used already: wait for the next one in your app")]
    CodeReplayed,
    /// The last factor cannot be removed while 2FA is forced.
    #[error(
        "two-factor authentication is required for this account: bind another factor before removing this one"
    )]
    LastFactorForced,
    /// The code sender failed.
    #[error("could not send the verification code: {0}")]
    CodeDelivery(String),

    // --- web login and trusted devices -------------------------------------------------------
    /// The web login ticket is unknown or expired.
    #[error("this login has expired: start again with your password")]
    LoginExpired,
    /// A web login step answered in the wrong state.
    #[error("this step is not expected now (the login is at: {expected})")]
    WrongStep {
        /// The step the login is waiting for.
        expected: &'static str,
    },
    /// No trusted device with that id.
    #[error("no such trusted device")]
    NoSuchDevice,

    // --- configuration, parsing and infrastructure -------------------------------------------
    /// A malformed network.
    #[error("invalid IP network {0:?}: use CIDR notation such as 10.0.0.0/8 or 2001:db8::/32")]
    InvalidNetwork(String),
    /// A malformed place.
    #[error("invalid place {0:?}: use codes such as CN or CN/Beijing")]
    InvalidPlace(String),
    /// A bad line in a locator table.
    #[error("locator table line {line}: expected `CIDR PLACE`")]
    InvalidLocatorLine {
        /// 1-based line number.
        line: usize,
    },
    /// A configuration value out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The storage backend failed.
    #[error("account storage failed: {0}")]
    Store(String),
    /// The random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// Password hashing failed (bad parameters or a corrupt stored hash).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// TOTP setup failed.
    #[error("TOTP setup failed: {0}")]
    Totp(String),
}

impl Error {
    /// A stable, machine-readable name for logs and the login log (`wrong_credentials`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::LoginNotFullAddress => "login_not_full_address",
            Error::WrongCredentials => "wrong_credentials",
            Error::AppPasswordRequired => "app_password_required",
            Error::AppPasswordNotForProtocol { .. } => "app_password_not_for_protocol",
            Error::MustChangePassword => "must_change_password",
            Error::Banned => "banned",
            Error::ProtocolNotAllowed { .. } => "protocol_not_allowed",
            Error::RegionNotAllowed => "region_not_allowed",
            Error::IpBlocked { .. } => "ip_blocked",
            Error::WeakPassword(_) => "weak_password",
            Error::InvalidAddress(_) => "invalid_address",
            Error::NoSuchAccount(_) => "no_such_account",
            Error::AccountExists(_) => "account_exists",
            Error::AccountBanned(_) => "account_banned",
            Error::AccountRestricted(_) => "account_restricted",
            Error::WrongCurrentPassword => "wrong_current_password",
            Error::TwoFactorNotEnabled => "two_factor_not_enabled",
            Error::InvalidAppPasswordName => "invalid_app_password_name",
            Error::AppPasswordNameTaken(_) => "app_password_name_taken",
            Error::TooManyAppPasswords { .. } => "too_many_app_passwords",
            Error::NoSuchAppPassword(_) => "no_such_app_password",
            Error::EmptyScope => "empty_scope",
            Error::NoSuchFactor => "no_such_factor",
            Error::FactorAlreadyBound(_) => "factor_already_bound",
            Error::FactorBoundElsewhere(_) => "factor_bound_elsewhere",
            Error::InvalidFactorTarget { .. } => "invalid_factor_target",
            Error::NoCodePending => "no_code_pending",
            Error::NothingToSend => "nothing_to_send",
            Error::CodeExpired => "code_expired",
            Error::WrongCode { .. } => "wrong_code",
            Error::CodeBurned => "code_burned",
            Error::ResendTooSoon { .. } => "resend_too_soon",
            Error::CodeReplayed => "code_replayed",
            Error::LastFactorForced => "last_factor_forced",
            Error::CodeDelivery(_) => "code_delivery",
            Error::LoginExpired => "login_expired",
            Error::WrongStep { .. } => "wrong_step",
            Error::NoSuchDevice => "no_such_device",
            Error::InvalidNetwork(_) => "invalid_network",
            Error::InvalidPlace(_) => "invalid_place",
            Error::InvalidLocatorLine { .. } => "invalid_locator_line",
            Error::InvalidConfig(_) => "invalid_config",
            Error::Store(_) => "store",
            Error::Random => "random",
            Error::Hash(_) => "hash",
            Error::Totp(_) => "totp",
        }
    }

    /// Whether this is a temporary server-side failure (storage, randomness, code delivery)
    /// rather than something about the request: protocols answer these with a "try later"
    /// reply (IMAP `[UNAVAILABLE]`, SMTP 454) instead of "authentication failed".
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Error::Store(_) | Error::Random | Error::CodeDelivery(_) | Error::Hash(_)
        )
    }
}
