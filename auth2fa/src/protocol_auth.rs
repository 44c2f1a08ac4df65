//! The protocol entry point: [`AuthService::authenticate`].

use std::net::IpAddr;

use crate::account::{
    Account, AccountKind, AccountState, Channel, CredentialUsed, Principal, Protocol,
};
use crate::address::Address;
use crate::app_password;
use crate::error::Error;
use crate::log::{Alert, LoginEvent};
use crate::network::Place;
use crate::password;
use crate::service::{AuthService, lock};
use crate::store::AuthStore;
use crate::time::Timestamp;

/// An app password's last-use record is rewritten at most this often for the same IP and
/// protocol.
const USAGE_REFRESH_SECS: u64 = 300;

/// Secrets longer than this are refused without hashing (no argon2 work for junk).
pub const MAX_SECRET_BYTES: usize = 1024;

impl<S: AuthStore> AuthService<S> {
    /// Authenticates a mail client (IMAP, POP3 or SMTP) with its login and secret.
    ///
    /// The checks, in order:
    /// 1. the client IP is blocked -> [`Error::IpBlocked`] (even for right credentials);
    /// 2. the login is not a full address -> [`Error::LoginNotFullAddress`];
    /// 3. facts of the account that do not depend on the secret: banned ->
    ///    [`Error::Banned`], delivery kind -> [`Error::ProtocolNotAllowed`], region rule ->
    ///    [`Error::RegionNotAllowed`];
    /// 4. the secret: an app password (normalized; its scope must include `protocol`), else
    ///    the account password (argon2id). Unknown account or wrong secret ->
    ///    [`Error::WrongCredentials`] (an unknown account still costs one argon2 verification,
    ///    so timing does not tell them apart);
    /// 5. with the right account password only: must change it ->
    ///    [`Error::MustChangePassword`]; 2FA applies -> [`Error::AppPasswordRequired`].
    ///
    /// Every failure except those of a right secret in step 4-5 counts toward the IP block
    /// (the same wrong secret repeated counts once); a success resets the count. Every attempt
    /// is written to the login log; a success from a new place queues an [`Alert`].
    pub fn authenticate(
        &self,
        protocol: Protocol,
        login: &str,
        secret: &str,
        client_ip: IpAddr,
        now: Timestamp,
    ) -> Result<Principal, Error> {
        let place = self.locator.locate(client_ip);
        let channel = Channel::Protocol(protocol);
        let login_shown: String = login.trim().chars().take(254).collect();
        let address = Address::parse(login).ok();
        let result = self.authenticate_inner(
            protocol,
            login,
            address.as_ref(),
            secret,
            client_ip,
            place.as_ref(),
            now,
        );
        let (account, credential, failure) = match &result {
            Ok(p) => (Some(p.address.clone()), p.credential.clone(), None),
            Err(e) => (
                address.clone(),
                CredentialUsed::None,
                Some(e.code().to_string()),
            ),
        };
        let account_known = match (&result, &account) {
            (Ok(_), _) => account,
            // Do not log guessed addresses as if they were accounts.
            (Err(Error::WrongCredentials), Some(a)) => {
                self.store.account(a).ok().flatten().map(|_| a.clone())
            }
            (Err(_), a) => a.clone(),
        };
        let event = LoginEvent {
            at: now,
            login: address.as_ref().map_or(login_shown, |a| a.to_string()),
            account: account_known,
            channel,
            ip: client_ip,
            place,
            credential,
            failure,
        };
        // A failing log must not stop logins; the store reports its own errors.
        let _ = self.store.append_login(&event);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn authenticate_inner(
        &self,
        protocol: Protocol,
        login: &str,
        address: Option<&Address>,
        secret: &str,
        ip: IpAddr,
        place: Option<&Place>,
        now: Timestamp,
    ) -> Result<Principal, Error> {
        if let Some(until) = self.blocked_until(ip, now) {
            return Err(Error::IpBlocked { until });
        }
        let fail = |e: Error| -> Error { self.count_failure(ip, login, secret, now, e) };
        let Some(address) = address else {
            return Err(fail(match Address::parse(login) {
                Err(crate::address::AddressError::NotFullAddress) => Error::LoginNotFullAddress,
                _ => Error::WrongCredentials,
            }));
        };
        if secret.len() > MAX_SECRET_BYTES {
            return Err(fail(Error::WrongCredentials));
        }
        let Some(account) = self.store.account(address)? else {
            // Same cost as a real verification.
            let _ = password::verify_password(secret, &self.dummy_hash);
            return Err(fail(Error::WrongCredentials));
        };
        if account.state == AccountState::Banned {
            return Err(fail(Error::Banned));
        }
        if account.kind == AccountKind::Delivery {
            return Err(fail(Error::ProtocolNotAllowed {
                kind: account.kind,
                protocol,
            }));
        }
        if !account.region.allows(ip, place) {
            return Err(fail(Error::RegionNotAllowed));
        }
        // App password: HMAC then constant-time compare against each of the account's tags.
        {
            if let Some(i) = self.match_app_password(&account, secret) {
                let rec = &account.app_passwords[i];
                if !rec.scope.contains(protocol) {
                    return Err(Error::AppPasswordNotForProtocol { protocol });
                }
                if account.must_change_password {
                    return Err(Error::MustChangePassword);
                }
                let name = rec.name.clone();
                self.record_success(
                    &account,
                    Channel::Protocol(protocol),
                    ip,
                    place,
                    now,
                    Some(&name),
                )?;
                return Ok(Principal {
                    address: account.address.clone(),
                    kind: account.kind,
                    state: account.state,
                    credential: CredentialUsed::AppPassword { name },
                    place: place.cloned(),
                });
            }
        }
        if !password::verify_password(secret, &account.password) {
            return Err(fail(Error::WrongCredentials));
        }
        // The password is right: only now may the answer say something the user acts on.
        if account.must_change_password {
            return Err(fail(Error::MustChangePassword));
        }
        let domain = self.domain_policy_of(address)?;
        if account.two_factor_required(domain.as_ref()) {
            return Err(fail(Error::AppPasswordRequired));
        }
        self.record_success(&account, Channel::Protocol(protocol), ip, place, now, None)?;
        Ok(Principal {
            address: account.address.clone(),
            kind: account.kind,
            state: account.state,
            credential: CredentialUsed::Password,
            place: place.cloned(),
        })
    }

    /// The index of the app password of `account` that `secret` is, if any: one HMAC-SHA256
    /// of the normalized secret, then a constant-time comparison with every stored tag (no
    /// early exit).
    pub(crate) fn match_app_password(&self, account: &Account, secret: &str) -> Option<usize> {
        if account.app_passwords.is_empty() {
            return None;
        }
        let norm = app_password::normalize(secret)?;
        let tag = self.app_password_tag(&account.address, &norm);
        let mut found: Option<usize> = None;
        for (i, p) in account.app_passwords.iter().enumerate() {
            if p.tag.ct_eq(&tag) && found.is_none() {
                found = Some(i);
            }
        }
        found
    }

    /// Checks an app password **without** any bookkeeping (no blocking, no log, no last-use
    /// update): the name of the matching app password, or `None`. For tools and benchmarks;
    /// servers call [`authenticate`](Self::authenticate).
    pub fn check_app_password(&self, login: &str, secret: &str) -> Result<Option<String>, Error> {
        let address = Self::parse_address(login)?;
        let Some(account) = self.store.account(&address)? else {
            return Ok(None);
        };
        Ok(self
            .match_app_password(&account, secret)
            .map(|i| account.app_passwords[i].name.clone()))
    }

    /// Counts a failure for `ip` and passes the error through (or replaces it with
    /// `IpBlocked` when this failure starts a block).
    pub(crate) fn count_failure(
        &self,
        ip: IpAddr,
        login: &str,
        secret: &str,
        now: Timestamp,
        e: Error,
    ) -> Error {
        let norm_login = login.trim().to_lowercase();
        let fp = self
            .key
            .tag(
                b"failed-secret",
                &[norm_login.as_bytes(), secret.as_bytes()],
            )
            .short() as u32;
        let started = lock(&self.blocks).record_failure_block(ip, fp, &norm_login, now);
        match started {
            Some(block) => {
                self.persist_block(&block);
                Error::IpBlocked { until: block.until }
            }
            None => e,
        }
    }

    /// Resets the IP's failure count, records app-password use and known places, and queues
    /// a new-place alert.
    pub(crate) fn record_success(
        &self,
        account: &Account,
        channel: Channel,
        ip: IpAddr,
        place: Option<&Place>,
        now: Timestamp,
        app_password: Option<&str>,
    ) -> Result<(), Error> {
        lock(&self.blocks).record_success(ip);
        let new_place = place.filter(|p| !account.known_places.contains(p));
        // A phone reconnecting every minute should not rewrite the account each time: the
        // last-use record is refreshed when the IP or protocol changes, or after 5 minutes.
        let usage_stale = match (app_password, channel) {
            (Some(name), Channel::Protocol(protocol)) => account
                .app_passwords
                .iter()
                .find(|r| r.name == name)
                .and_then(|r| r.last_used.as_ref())
                .is_none_or(|u| {
                    u.ip != ip || u.protocol != protocol || now.since(u.at) >= USAGE_REFRESH_SECS
                }),
            _ => false,
        };
        if new_place.is_none() && !usage_stale {
            return Ok(());
        }
        let max_places = self.config.max_known_places.max(1);
        let mut alert = None;
        self.modify(&account.address, |a| {
            if usage_stale
                && let (Some(name), Channel::Protocol(protocol)) = (app_password, channel)
                && let Some(rec) = a.app_passwords.iter_mut().find(|r| r.name == name)
            {
                rec.last_used = Some(app_password::Usage {
                    at: now,
                    ip,
                    protocol,
                });
            }
            if let Some(p) = new_place
                && !a.known_places.contains(p)
            {
                // The first place ever seen is the baseline, not an alert.
                if !a.known_places.is_empty() {
                    alert = Some(Alert::NewPlace {
                        account: a.address.clone(),
                        place: p.clone(),
                        ip,
                        channel,
                        at: now,
                    });
                }
                if a.known_places.len() >= max_places {
                    a.known_places.remove(0);
                }
                a.known_places.push(p.clone());
            }
            Ok(())
        })?;
        if let Some(a) = alert {
            self.push_alert(a);
        }
        Ok(())
    }
}
