//! The web login state machine (REQUIREMENTS F2, F3, A1) and trusted devices.
//!
//! ```text
//! web_login(password) ──► [SecondFactor] ──► [ChangePassword] ──► [BindFactor] ──► Done
//!                          skipped on a        only if the         only if 2FA is
//!                          trusted device      flag is set         forced and no
//!                                                                  factor is bound
//! ```
//! Each step returns a [`WebStep`]; all but `Done` carry an opaque ticket (a random token the
//! host keeps in the session) that the next call presents. A ticket lives
//! `web_login_ttl_secs` (10 min) and allows `code_max_tries` wrong codes; answering the wrong
//! step is [`Error::WrongStep`].

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::account::{Account, AccountState, Channel, CredentialUsed, Principal};
use crate::address::Address;
use crate::device::{self, DeviceId, TrustedDeviceInfo, TrustedDeviceRecord};
use crate::error::Error;
use crate::factor::{CodePurpose, FactorId, FactorInfo, FactorTarget};
use crate::log::LoginEvent;
use crate::network::Place;
use crate::password;
use crate::second_factor::{BindStart, BoundFactor};
use crate::secret::{SecretString, Tag};
use crate::service::{AuthService, lock};
use crate::store::AuthStore;
use crate::time::Timestamp;

/// Where a web login is waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebStage {
    /// A second factor (or a recovery code).
    SecondFactor,
    /// A new password (the current one was set by an administrator).
    ChangePassword,
    /// Binding a first factor (2FA is forced and none is bound).
    BindFactor,
}

impl WebStage {
    fn name(self) -> &'static str {
        match self {
            WebStage::SecondFactor => "second factor",
            WebStage::ChangePassword => "change password",
            WebStage::BindFactor => "bind a second factor",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct WebLoginState {
    address: Address,
    stage: WebStage,
    expires: Timestamp,
    ip: IpAddr,
    place: Option<Place>,
    wrong: u32,
    credential: CredentialUsed,
    trust_device: Option<String>,
    recovery_codes: Vec<SecretString>,
}

/// A successful web login.
#[derive(Debug)]
pub struct WebSession {
    /// Who logged in.
    pub principal: Principal,
    /// A new trusted-device token for the browser's cookie, if trust was asked for.
    pub trusted_device_token: Option<SecretString>,
    /// Recovery codes to show once, when the first factor was bound during this login.
    pub recovery_codes: Vec<SecretString>,
}

/// The result of a web login step.
#[derive(Debug)]
pub enum WebStep {
    /// Logged in.
    Done(WebSession),
    /// Waiting for a second factor: send a code ([`AuthService::web_send_code`]) or ask for
    /// the app's code, then [`AuthService::web_verify_factor`].
    SecondFactor {
        /// The ticket for the next step.
        ticket: SecretString,
        /// The factors to choose from.
        factors: Vec<FactorInfo>,
        /// Unused recovery codes ([`AuthService::web_use_recovery_code`]).
        recovery_codes_left: usize,
    },
    /// Waiting for a new password ([`AuthService::web_change_password`]).
    ChangePassword {
        /// The ticket for the next step.
        ticket: SecretString,
    },
    /// Waiting for a first factor to be bound ([`AuthService::web_begin_bind`], then
    /// [`AuthService::web_confirm_bind`]).
    BindFactor {
        /// The ticket for the next step.
        ticket: SecretString,
    },
}

fn decode_token(s: &str) -> Option<[u8; 32]> {
    let v = URL_SAFE_NO_PAD.decode(s.trim().as_bytes()).ok()?;
    v.try_into().ok()
}

impl<S: AuthStore> AuthService<S> {
    fn device_tag(&self, address: &Address, token: &[u8; 32]) -> Tag {
        self.key
            .tag(b"trusted-device", &[address.as_str().as_bytes(), token])
    }

    /// If `token` names a live trusted device of the account, its name (last seen updated).
    fn check_device(
        &self,
        account: &Account,
        token: &str,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<Option<String>, Error> {
        let Some(raw) = decode_token(token) else {
            return Ok(None);
        };
        let tag = self.device_tag(&account.address, &raw);
        let mut found: Option<DeviceId> = None;
        for d in &account.trusted_devices {
            if d.tag.ct_eq(&tag) && d.expires > now && found.is_none() {
                found = Some(d.id);
            }
        }
        let Some(id) = found else {
            return Ok(None);
        };
        self.modify(&account.address, |a| {
            a.trusted_devices.retain(|d| d.expires > now);
            Ok(a.trusted_devices.iter_mut().find(|d| d.id == id).map(|d| {
                d.last_seen = now;
                d.last_ip = ip;
                d.name.clone()
            }))
        })
    }

    fn next_stage(&self, account: &Account, factor_done: bool) -> Result<Option<WebStage>, Error> {
        if !factor_done && !account.factors.is_empty() {
            return Ok(Some(WebStage::SecondFactor));
        }
        if account.must_change_password {
            return Ok(Some(WebStage::ChangePassword));
        }
        let domain = self.domain_policy_of(&account.address)?;
        if account.factors.is_empty() && account.two_factor_required(domain.as_ref()) {
            return Ok(Some(WebStage::BindFactor));
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    fn log_web(
        &self,
        state_addr: Option<&Address>,
        login: &str,
        ip: IpAddr,
        place: Option<&Place>,
        credential: CredentialUsed,
        failure: Option<&Error>,
        now: Timestamp,
    ) {
        let _ = self.store.append_login(&LoginEvent {
            at: now,
            login: login.chars().take(254).collect(),
            account: state_addr.cloned(),
            channel: Channel::Web,
            ip,
            place: place.cloned(),
            credential,
            failure: failure.map(|e| e.code().to_string()),
        });
    }

    /// Moves a login to its next stage, or finishes it.
    fn advance(&self, mut st: WebLoginState, now: Timestamp) -> Result<WebStep, Error> {
        let account = self.load(&st.address)?;
        let factor_done = st.stage != WebStage::SecondFactor;
        match self.next_stage(&account, factor_done)? {
            Some(stage) => {
                st.stage = stage;
                st.expires = now.plus(self.config.web_login_ttl_secs);
                st.wrong = 0;
                let raw = self.random_token()?;
                let ticket = SecretString::new(URL_SAFE_NO_PAD.encode(raw));
                {
                    let mut web = lock(&self.web);
                    if web.len() >= self.config.max_pending.max(1) {
                        web.retain(|_, s| s.expires > now);
                    }
                    if web.len() >= self.config.max_pending.max(1) {
                        return Err(Error::Store(
                            "too many logins in progress: try again shortly".into(),
                        ));
                    }
                    web.insert(raw, st);
                }
                Ok(match stage {
                    WebStage::SecondFactor => WebStep::SecondFactor {
                        ticket,
                        factors: account.factors.iter().map(FactorInfo::from).collect(),
                        recovery_codes_left: account.recovery_codes.len(),
                    },
                    WebStage::ChangePassword => WebStep::ChangePassword { ticket },
                    WebStage::BindFactor => WebStep::BindFactor { ticket },
                })
            }
            None => {
                let trusted_device_token = match &st.trust_device {
                    Some(name) => Some(self.trust_device(&account, name, st.ip, now)?),
                    None => None,
                };
                self.record_success(&account, Channel::Web, st.ip, st.place.as_ref(), now, None)?;
                self.log_web(
                    Some(&account.address),
                    account.address.as_str(),
                    st.ip,
                    st.place.as_ref(),
                    st.credential.clone(),
                    None,
                    now,
                );
                Ok(WebStep::Done(WebSession {
                    principal: Principal {
                        address: account.address.clone(),
                        kind: account.kind,
                        state: account.state,
                        credential: st.credential,
                        place: st.place,
                    },
                    trusted_device_token,
                    recovery_codes: std::mem::take(&mut st.recovery_codes),
                }))
            }
        }
    }

    fn trust_device(
        &self,
        account: &Account,
        name: &str,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<SecretString, Error> {
        let raw = self.random_token()?;
        let tag = self.device_tag(&account.address, &raw);
        let expires = now.plus(u64::from(self.config.trusted_device_days) * 86_400);
        let name = device::clean_name(name);
        self.modify(&account.address, |a| {
            a.trusted_devices.retain(|d| d.expires > now);
            // Bounded: the oldest device goes first.
            if a.trusted_devices.len() >= 50 {
                a.trusted_devices.remove(0);
            }
            let id = DeviceId(a.next_device_id.max(1));
            a.next_device_id = id.0 + 1;
            a.trusted_devices.push(TrustedDeviceRecord {
                id,
                tag,
                name,
                created: now,
                expires,
                last_seen: now,
                last_ip: ip,
            });
            Ok(())
        })?;
        Ok(SecretString::new(URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Takes the login named by `ticket` if it waits at `stage`.
    fn take_ticket(
        &self,
        ticket: &str,
        stage: WebStage,
        now: Timestamp,
    ) -> Result<WebLoginState, Error> {
        let raw = decode_token(ticket).ok_or(Error::LoginExpired)?;
        let mut web = lock(&self.web);
        let st = web.get(&raw).ok_or(Error::LoginExpired)?;
        if now >= st.expires {
            web.remove(&raw);
            return Err(Error::LoginExpired);
        }
        if st.stage != stage {
            return Err(Error::WrongStep {
                expected: st.stage.name(),
            });
        }
        Ok(web.remove(&raw).expect("present: checked above"))
    }

    /// Puts a login back after a wrong answer; burns it after `code_max_tries`.
    fn return_ticket(&self, ticket: &str, mut st: WebLoginState, e: Error) -> Error {
        st.wrong += 1;
        if st.wrong >= self.config.code_max_tries {
            return Error::LoginExpired;
        }
        if let Some(raw) = decode_token(ticket) {
            lock(&self.web).insert(raw, st);
        }
        e
    }

    /// First step of a web login: the account password. `device_token` is the trusted-device
    /// cookie, if the browser has one. Errors as for [`authenticate`](Self::authenticate),
    /// except that delivery accounts may log in here and 2FA does not require app passwords.
    pub fn web_login(
        &self,
        login: &str,
        password_in: &str,
        client_ip: IpAddr,
        device_token: Option<&str>,
        now: Timestamp,
    ) -> Result<WebStep, Error> {
        let place = self.locator.locate(client_ip);
        let address = Address::parse(login).ok();
        let r = self.web_login_inner(
            login,
            address.as_ref(),
            password_in,
            client_ip,
            place.as_ref(),
            device_token,
            now,
        );
        if let Err(e) = &r {
            let known = match address.as_ref() {
                Some(a) if !matches!(e, Error::WrongCredentials) => Some(a.clone()),
                Some(a) => self.store.account(a).ok().flatten().map(|_| a.clone()),
                None => None,
            };
            let shown = address
                .as_ref()
                .map_or_else(|| login.trim().to_string(), |a| a.to_string());
            self.log_web(
                known.as_ref(),
                &shown,
                client_ip,
                place.as_ref(),
                CredentialUsed::None,
                Some(e),
                now,
            );
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn web_login_inner(
        &self,
        login: &str,
        address: Option<&Address>,
        password_in: &str,
        ip: IpAddr,
        place: Option<&Place>,
        device_token: Option<&str>,
        now: Timestamp,
    ) -> Result<WebStep, Error> {
        if let Some(until) = self.blocked_until(ip, now) {
            return Err(Error::IpBlocked { until });
        }
        let fail = |e: Error| self.count_failure(ip, login, password_in, now, e);
        let Some(address) = address else {
            return Err(fail(match Address::parse(login) {
                Err(crate::address::AddressError::NotFullAddress) => Error::LoginNotFullAddress,
                _ => Error::WrongCredentials,
            }));
        };
        if password_in.len() > crate::protocol_auth::MAX_SECRET_BYTES {
            return Err(fail(Error::WrongCredentials));
        }
        let Some(account) = self.store.account(address)? else {
            let _ = password::verify_password(password_in, &self.dummy_hash);
            return Err(fail(Error::WrongCredentials));
        };
        if account.state == AccountState::Banned {
            return Err(fail(Error::Banned));
        }
        if !account.region.allows(ip, place) {
            return Err(fail(Error::RegionNotAllowed));
        }
        if !password::verify_password(password_in, &account.password) {
            return Err(fail(Error::WrongCredentials));
        }
        lock(&self.blocks).record_success(ip);
        let mut credential = CredentialUsed::Password;
        let mut stage = WebStage::SecondFactor;
        if !account.factors.is_empty()
            && let Some(tok) = device_token
            && let Some(name) = self.check_device(&account, tok, ip, now)?
        {
            credential = CredentialUsed::TrustedDevice { name };
            // Skips the second factor.
            stage = WebStage::ChangePassword;
        }
        let st = WebLoginState {
            address: account.address.clone(),
            stage,
            expires: now.plus(self.config.web_login_ttl_secs),
            ip,
            place: place.cloned(),
            wrong: 0,
            credential,
            trust_device: None,
            recovery_codes: Vec::new(),
        };
        self.advance(st, now)
    }

    /// At the second-factor step: sends a code to the chosen SMS / WeChat / e-mail factor.
    /// Returns when the code expires.
    pub fn web_send_code(
        &self,
        ticket: &str,
        factor: FactorId,
        now: Timestamp,
    ) -> Result<Timestamp, Error> {
        let st = self.take_ticket(ticket, WebStage::SecondFactor, now)?;
        let account = self.load(&st.address);
        let r = account.and_then(|a| self.send_factor_code(&a, factor, CodePurpose::Login, now));
        if let Some(raw) = decode_token(ticket) {
            lock(&self.web).insert(raw, st);
        }
        r
    }

    /// At the second-factor step: checks the code of factor `factor`. With `trust_device`
    /// (a device name or user agent), the finished login returns a trusted-device token.
    pub fn web_verify_factor(
        &self,
        ticket: &str,
        factor: FactorId,
        code: &str,
        trust_device: Option<&str>,
        now: Timestamp,
    ) -> Result<WebStep, Error> {
        let mut st = self.take_ticket(ticket, WebStage::SecondFactor, now)?;
        let account = self.load(&st.address)?;
        match self.verify_factor(&account, factor, CodePurpose::Login, code, now) {
            Ok(kind) => {
                st.credential = CredentialUsed::SecondFactor { kind };
                st.trust_device = trust_device.map(str::to_string);
                st.stage = WebStage::ChangePassword;
                self.advance(st, now)
            }
            Err(e) => {
                let (ip, place, addr) = (st.ip, st.place.clone(), st.address.clone());
                let e = match e {
                    Error::WrongCode { .. } => self.count_failure(ip, addr.as_str(), code, now, e),
                    e => e,
                };
                self.log_web(
                    Some(&addr),
                    addr.as_str(),
                    ip,
                    place.as_ref(),
                    CredentialUsed::Password,
                    Some(&e),
                    now,
                );
                Err(self.return_ticket(ticket, st, e))
            }
        }
    }

    /// At the second-factor step: uses a single-use recovery code instead of a factor.
    pub fn web_use_recovery_code(
        &self,
        ticket: &str,
        code: &str,
        now: Timestamp,
    ) -> Result<WebStep, Error> {
        let mut st = self.take_ticket(ticket, WebStage::SecondFactor, now)?;
        match self.use_recovery_code(&st.address, code) {
            Ok(()) => {
                st.credential = CredentialUsed::RecoveryCode;
                st.stage = WebStage::ChangePassword;
                self.advance(st, now)
            }
            Err(e) => {
                let e = self.count_failure(st.ip, st.address.as_str(), code, now, e);
                Err(self.return_ticket(ticket, st, e))
            }
        }
    }

    /// At the change-password step: sets the new password (policy-checked) and continues.
    pub fn web_change_password(
        &self,
        ticket: &str,
        new_password: &str,
        now: Timestamp,
    ) -> Result<WebStep, Error> {
        let st = self.take_ticket(ticket, WebStage::ChangePassword, now)?;
        let kind = match self.load(&st.address) {
            Ok(a) => a.kind,
            Err(e) => return Err(e),
        };
        match self.set_new_password(&st.address, kind, new_password, now) {
            Ok(()) => self.advance(st, now),
            Err(e) => {
                let raw = decode_token(ticket);
                if let Some(raw) = raw {
                    lock(&self.web).insert(raw, st);
                }
                Err(e)
            }
        }
    }

    /// At the bind-factor step: starts binding (see
    /// [`begin_bind_factor`](Self::begin_bind_factor)).
    pub fn web_begin_bind(
        &self,
        ticket: &str,
        target: FactorTarget,
        now: Timestamp,
    ) -> Result<BindStart, Error> {
        let st = self.take_ticket(ticket, WebStage::BindFactor, now)?;
        let r = self
            .load(&st.address)
            .and_then(|a| self.begin_bind_unchecked(&a, target, now));
        if let Some(raw) = decode_token(ticket) {
            lock(&self.web).insert(raw, st);
        }
        r
    }

    /// At the bind-factor step: confirms the binding with its code and finishes the login;
    /// the session carries the new recovery codes.
    pub fn web_confirm_bind(
        &self,
        ticket: &str,
        code: &str,
        now: Timestamp,
    ) -> Result<WebStep, Error> {
        let mut st = self.take_ticket(ticket, WebStage::BindFactor, now)?;
        match self.confirm_bind_factor(st.address.as_str(), code, now) {
            Ok(BoundFactor {
                info,
                recovery_codes,
            }) => {
                st.credential = CredentialUsed::SecondFactor { kind: info.kind };
                st.recovery_codes = recovery_codes;
                st.stage = WebStage::ChangePassword;
                self.advance(st, now)
            }
            Err(e) => {
                if let Some(raw) = decode_token(ticket) {
                    lock(&self.web).insert(raw, st);
                }
                Err(e)
            }
        }
    }

    /// The account's live trusted devices.
    pub fn trusted_devices(
        &self,
        address: &str,
        now: Timestamp,
    ) -> Result<Vec<TrustedDeviceInfo>, Error> {
        Ok(self
            .account(address)?
            .trusted_devices
            .iter()
            .filter(|d| d.expires > now)
            .map(TrustedDeviceInfo::from)
            .collect())
    }

    /// Revokes one trusted device.
    pub fn revoke_trusted_device(&self, address: &str, id: DeviceId) -> Result<(), Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            let before = a.trusted_devices.len();
            a.trusted_devices.retain(|d| d.id != id);
            if before == a.trusted_devices.len() {
                return Err(Error::NoSuchDevice);
            }
            Ok(())
        })
    }

    /// Revokes all trusted devices; how many there were.
    pub fn revoke_all_trusted_devices(&self, address: &str) -> Result<usize, Error> {
        self.modify(&Self::parse_address(address)?, |a| {
            let n = a.trusted_devices.len();
            a.trusted_devices.clear();
            Ok(n)
        })
    }
}
