//! Engine configuration.

use crate::error::Error;
use crate::ip_block::BlockPolicy;
use crate::password::{Argon2Params, PasswordPolicy};

/// Everything tunable, with the defaults of issue 3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Issuer shown in authenticator apps (default "Mail").
    pub issuer: String,
    /// argon2id cost (default OWASP: m=19456 KiB, t=2, p=1).
    pub argon2: Argon2Params,
    /// Password rules.
    pub password_policy: PasswordPolicy,
    /// Brute-force blocking.
    pub block: BlockPolicy,
    /// App passwords per account (default 20).
    pub max_app_passwords: usize,
    /// Revoke all app passwords when an administrator resets the password (default true).
    pub revoke_app_passwords_on_reset: bool,
    /// Forget all trusted devices when an administrator resets the password (default true).
    pub revoke_devices_on_reset: bool,
    /// How long a trusted device stays trusted, in days (default 7; seed 004 uses 60).
    pub trusted_device_days: u32,
    /// Lifetime of SMS / WeChat / e-mail codes in seconds (default 300).
    pub code_ttl_secs: u64,
    /// Minimum seconds between two codes to the same account and purpose (default 15).
    pub code_resend_secs: u64,
    /// Wrong tries that burn a code (default 5).
    pub code_max_tries: u32,
    /// One phone number or WeChat account may be bound to one mailbox only (seed 003; default
    /// true). Set false to let several mailboxes share a phone (seed 002).
    pub unique_phone_binding: bool,
    /// How long a web login may wait between its steps, in seconds (default 600).
    pub web_login_ttl_secs: u64,
    /// Places remembered per account for new-place alerts (default 100).
    pub max_known_places: usize,
    /// Alerts kept for the host to poll before the oldest is dropped (default 10,000).
    pub max_pending_alerts: usize,
    /// Pending codes and web logins kept at most, each (default 100,000).
    pub max_pending: usize,
    /// Recovery codes issued at a time (default 10).
    pub recovery_codes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: "Mail".into(),
            argon2: Argon2Params::OWASP,
            password_policy: PasswordPolicy::default(),
            block: BlockPolicy::default(),
            max_app_passwords: 20,
            revoke_app_passwords_on_reset: true,
            revoke_devices_on_reset: true,
            trusted_device_days: 7,
            code_ttl_secs: 300,
            code_resend_secs: 15,
            code_max_tries: 5,
            unique_phone_binding: true,
            web_login_ttl_secs: 600,
            max_known_places: 100,
            max_pending_alerts: 10_000,
            max_pending: 100_000,
            recovery_codes: 10,
        }
    }
}

impl Config {
    /// The defaults with the cheapest argon2 parameters: **for tests only**.
    pub fn insecure_fast_for_tests() -> Self {
        Config {
            argon2: Argon2Params::INSECURE_FAST_FOR_TESTS,
            ..Config::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.password_policy.validate()?;
        if self.issuer.contains(':') {
            return Err(Error::InvalidConfig("issuer must not contain ':'".into()));
        }
        if self.code_max_tries == 0 || self.code_ttl_secs == 0 {
            return Err(Error::InvalidConfig(
                "code_max_tries and code_ttl_secs must be positive".into(),
            ));
        }
        if self.block.ipv6_prefix > 128 {
            return Err(Error::InvalidConfig(
                "ipv6_prefix must be at most 128".into(),
            ));
        }
        Ok(())
    }
}
