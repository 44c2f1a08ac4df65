//! Binding, using, changing and removing second factors (REQUIREMENTS F1-F5), and recovery
//! codes.
//!
//! * Codes sent by SMS / WeChat / e-mail: 6 digits, valid `code_ttl_secs` (5 min), a new one
//!   no sooner than `code_resend_secs` (15 s) after the last, burnt after `code_max_tries` (5)
//!   wrong tries; kept only as keyed hashes, in memory.
//! * TOTP: one step of skew either way; a step once accepted is never accepted again.
//! * Adding a factor to an account that has one, removing a factor and new recovery codes all
//!   need a fresh proof from a current factor ([`AuthService::confirm_current_factor`], valid
//!   for `code_ttl_secs`).
//! * Policy `unique_phone_binding`: a phone number or WeChat account binds one mailbox only.

use crate::account::Account;
use crate::address::Address;
use crate::app_password;
use crate::error::Error;
use crate::factor::{
    self, CodePurpose, FactorId, FactorInfo, FactorKind, FactorRecord, FactorTarget, TotpEnrollment,
};
use crate::random::draw_symbols;
use crate::secret::{SecretBytes, SecretString, Tag};
use crate::service::{AuthService, lock};
use crate::store::AuthStore;
use crate::time::Timestamp;

/// A code waiting to be typed in, or a TOTP binding waiting for its first code.
#[derive(Clone, Debug)]
pub(crate) struct PendingCode {
    tag: Option<Tag>,
    kind: FactorKind,
    /// The factor the code was sent to, when it is bound already.
    factor: Option<FactorId>,
    /// The new target being bound.
    target: Option<String>,
    totp_key: Option<SecretBytes>,
    sent_at: Timestamp,
    expires: Timestamp,
    wrong: u32,
}

/// Slots in the pending-code table, per account.
pub(crate) const SLOT_LOGIN: u8 = 0;
pub(crate) const SLOT_BIND: u8 = 1;
pub(crate) const SLOT_CONFIRM: u8 = 2;
/// TOTP wrong-try counter (no code is sent for TOTP).
pub(crate) const SLOT_TOTP_GUARD: u8 = 3;
/// Proof of a current factor, for changes.
pub(crate) const SLOT_PROOF: u8 = 4;

/// How binding a factor starts.
#[derive(Debug)]
pub enum BindStart {
    /// Scan the QR code (or type the secret) into the app, then confirm with its first code.
    Totp(TotpEnrollment),
    /// A code was sent to the new phone / WeChat / e-mail; confirm with it.
    CodeSent {
        /// Where it went, masked.
        masked_target: String,
        /// When it expires.
        expires: Timestamp,
    },
}

/// A factor bound by [`AuthService::confirm_bind_factor`].
#[derive(Debug, PartialEq, Eq)]
pub struct BoundFactor {
    /// The new factor.
    pub info: FactorInfo,
    /// Ten single-use recovery codes when this is the account's first factor (shown once),
    /// else empty.
    pub recovery_codes: Vec<SecretString>,
}

fn slot_name(purpose: CodePurpose) -> u8 {
    match purpose {
        CodePurpose::Login => SLOT_LOGIN,
        CodePurpose::Bind => SLOT_BIND,
        CodePurpose::Confirm => SLOT_CONFIRM,
    }
}

impl<S: AuthStore> AuthService<S> {
    fn code_tag(&self, address: &Address, slot: u8, code: &str) -> Tag {
        self.key.tag(
            b"code",
            &[address.as_str().as_bytes(), &[slot], code.as_bytes()],
        )
    }

    fn insert_pending(&self, address: &Address, slot: u8, p: PendingCode, now: Timestamp) {
        let mut codes = lock(&self.codes);
        if codes.len() >= self.config.max_pending.max(1) {
            codes.retain(|_, c| c.expires > now);
            if codes.len() >= self.config.max_pending.max(1) {
                // Still full of live entries: drop the oldest one.
                if let Some(k) = codes
                    .iter()
                    .min_by_key(|(_, c)| c.sent_at)
                    .map(|(k, _)| k.clone())
                {
                    codes.remove(&k);
                }
            }
        }
        codes.insert((address.clone(), slot), p);
    }

    fn throttle(&self, address: &Address, slot: u8, now: Timestamp) -> Result<(), Error> {
        if let Some(p) = lock(&self.codes).get(&(address.clone(), slot)) {
            let retry_at = p.sent_at.plus(self.config.code_resend_secs);
            if p.tag.is_some() && now < retry_at && now < p.expires {
                return Err(Error::ResendTooSoon { retry_at });
            }
        }
        Ok(())
    }

    fn new_code(&self) -> Result<SecretString, Error> {
        Ok(SecretString::new(draw_symbols(
            self.random.as_ref(),
            b"0123456789",
            6,
        )?))
    }

    /// Sends a fresh code over a bound code factor (SMS / WeChat / e-mail).
    pub(crate) fn send_factor_code(
        &self,
        account: &Account,
        id: FactorId,
        purpose: CodePurpose,
        now: Timestamp,
    ) -> Result<Timestamp, Error> {
        let rec = account
            .factors
            .iter()
            .find(|f| f.id == id)
            .ok_or(Error::NoSuchFactor)?;
        let Some(target) = rec.target.clone() else {
            // TOTP: nothing to send; the app shows the code.
            return Err(Error::NothingToSend);
        };
        let slot = slot_name(purpose);
        self.throttle(&account.address, slot, now)?;
        let code = self.new_code()?;
        self.sender
            .send_code(rec.kind, &target, &account.address, &code, purpose)
            .map_err(Error::CodeDelivery)?;
        let expires = now.plus(self.config.code_ttl_secs);
        self.insert_pending(
            &account.address,
            slot,
            PendingCode {
                tag: Some(self.code_tag(&account.address, slot, code.expose())),
                kind: rec.kind,
                factor: Some(id),
                target: None,
                totp_key: None,
                sent_at: now,
                expires,
                wrong: 0,
            },
            now,
        );
        Ok(expires)
    }

    /// Checks a sent code in `slot`; a right code is consumed, wrong ones count toward burning.
    fn take_code(
        &self,
        address: &Address,
        slot: u8,
        code: &str,
        now: Timestamp,
    ) -> Result<PendingCode, Error> {
        let key = (address.clone(), slot);
        let mut codes = lock(&self.codes);
        let p = codes.get_mut(&key).ok_or(Error::NoCodePending)?;
        if now >= p.expires {
            codes.remove(&key);
            return Err(Error::CodeExpired);
        }
        let Some(tag) = p.tag else {
            return Err(Error::NoCodePending);
        };
        let code = code.trim();
        let ok = code.len() == 6 && tag.ct_eq(&self.code_tag(address, slot, code));
        if ok {
            return Ok(codes.remove(&key).expect("entry exists: checked above"));
        }
        p.wrong += 1;
        if p.wrong >= self.config.code_max_tries {
            codes.remove(&key);
            return Err(Error::CodeBurned);
        }
        Err(Error::WrongCode {
            remaining: self.config.code_max_tries - p.wrong,
        })
    }

    /// Verifies a TOTP code for a bound factor, with replay protection and a wrong-try limit.
    fn verify_totp_factor(
        &self,
        address: &Address,
        id: FactorId,
        code: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let guard_key = (address.clone(), SLOT_TOTP_GUARD);
        {
            let mut codes = lock(&self.codes);
            if let Some(g) = codes.get(&guard_key) {
                if now >= g.expires {
                    codes.remove(&guard_key);
                } else if g.wrong >= self.config.code_max_tries {
                    return Err(Error::CodeBurned);
                }
            }
        }
        let issuer = self.config.issuer.clone();
        let result = self.modify(address, |a| {
            let rec = a
                .factors
                .iter_mut()
                .find(|f| f.id == id && f.kind == FactorKind::Totp)
                .ok_or(Error::NoSuchFactor)?;
            let key = rec.totp_key.as_ref().ok_or(Error::NoSuchFactor)?;
            let t = factor::totp(key.expose(), &issuer, address)?;
            let step = factor::check_totp(&t, code, now, rec.last_totp_step)?;
            rec.last_totp_step = Some(step);
            Ok(())
        });
        if let Err(Error::WrongCode { .. }) = result {
            let mut codes = lock(&self.codes);
            let g = codes.entry(guard_key).or_insert(PendingCode {
                tag: None,
                kind: FactorKind::Totp,
                factor: Some(id),
                target: None,
                totp_key: None,
                sent_at: now,
                expires: now.plus(self.config.code_ttl_secs),
                wrong: 0,
            });
            g.wrong += 1;
            let remaining = self.config.code_max_tries.saturating_sub(g.wrong);
            return Err(if remaining == 0 {
                Error::CodeBurned
            } else {
                Error::WrongCode { remaining }
            });
        }
        if result.is_ok() {
            lock(&self.codes).remove(&guard_key);
        }
        result
    }

    /// Verifies `code` from the bound factor `id` (a TOTP code, or the code last sent to it for
    /// `purpose`).
    pub(crate) fn verify_factor(
        &self,
        account: &Account,
        id: FactorId,
        purpose: CodePurpose,
        code: &str,
        now: Timestamp,
    ) -> Result<FactorKind, Error> {
        let rec = account
            .factors
            .iter()
            .find(|f| f.id == id)
            .ok_or(Error::NoSuchFactor)?;
        if rec.kind == FactorKind::Totp {
            self.verify_totp_factor(&account.address, id, code, now)?;
            return Ok(FactorKind::Totp);
        }
        let slot = slot_name(purpose);
        {
            let codes = lock(&self.codes);
            match codes.get(&(account.address.clone(), slot)) {
                Some(p) if p.factor == Some(id) => {}
                _ => return Err(Error::NoCodePending),
            }
        }
        self.take_code(&account.address, slot, code, now)?;
        Ok(rec.kind)
    }

    /// Uses one recovery code (consumed on success).
    pub(crate) fn use_recovery_code(&self, address: &Address, code: &str) -> Result<(), Error> {
        let norm: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let tag = self
            .key
            .tag(b"recovery", &[address.as_str().as_bytes(), norm.as_bytes()]);
        self.modify(address, |a| {
            let mut found = None;
            for (i, t) in a.recovery_codes.iter().enumerate() {
                if t.ct_eq(&tag) && found.is_none() {
                    found = Some(i);
                }
            }
            match found {
                Some(i) => {
                    a.recovery_codes.remove(i);
                    Ok(())
                }
                None => Err(Error::WrongCode { remaining: 0 }),
            }
        })
    }

    fn make_recovery_codes(
        &self,
        address: &Address,
    ) -> Result<(Vec<SecretString>, Vec<Tag>), Error> {
        let mut shown = Vec::new();
        let mut tags = Vec::new();
        for _ in 0..self.config.recovery_codes {
            let raw = draw_symbols(self.random.as_ref(), app_password::ALPHABET, 10)?;
            tags.push(
                self.key
                    .tag(b"recovery", &[address.as_str().as_bytes(), raw.as_bytes()]),
            );
            shown.push(SecretString::new(format!("{}-{}", &raw[..5], &raw[5..])));
        }
        Ok((shown, tags))
    }

    // ---- public API ----------------------------------------------------------------------

    /// The account's bound factors (targets masked).
    pub fn factors(&self, address: &str) -> Result<Vec<FactorInfo>, Error> {
        Ok(self
            .account(address)?
            .factors
            .iter()
            .map(FactorInfo::from)
            .collect())
    }

    fn has_proof(&self, address: &Address, now: Timestamp) -> bool {
        lock(&self.codes)
            .get(&(address.clone(), SLOT_PROOF))
            .is_some_and(|p| now < p.expires)
    }

    /// Sends a code to the bound factor `id` so the user can prove control of it before a
    /// change ([`confirm_current_factor`](Self::confirm_current_factor)). Not needed for TOTP.
    pub fn send_confirm_code(
        &self,
        address: &str,
        id: FactorId,
        now: Timestamp,
    ) -> Result<Timestamp, Error> {
        let acc = self.account(address)?;
        self.send_factor_code(&acc, id, CodePurpose::Confirm, now)
    }

    /// Proves control of the bound factor `id` with its code (or a recovery code when `id` is
    /// `None`); for the next `code_ttl_secs` the account may add or remove factors and renew
    /// recovery codes.
    pub fn confirm_current_factor(
        &self,
        address: &str,
        id: Option<FactorId>,
        code: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let acc = self.account(address)?;
        match id {
            Some(id) => {
                self.verify_factor(&acc, id, CodePurpose::Confirm, code, now)?;
            }
            None => self.use_recovery_code(&acc.address, code)?,
        }
        self.insert_pending(
            &acc.address,
            SLOT_PROOF,
            PendingCode {
                tag: None,
                kind: FactorKind::Totp,
                factor: id,
                target: None,
                totp_key: None,
                sent_at: now,
                expires: now.plus(self.config.code_ttl_secs),
                wrong: 0,
            },
            now,
        );
        Ok(())
    }

    /// Starts binding a factor. For TOTP returns the enrolment (otpauth URL, QR PNG); for
    /// SMS / WeChat / e-mail sends a code to the new target. An account that already has a
    /// factor must first [`confirm_current_factor`](Self::confirm_current_factor).
    pub fn begin_bind_factor(
        &self,
        address: &str,
        target: FactorTarget,
        now: Timestamp,
    ) -> Result<BindStart, Error> {
        let acc = self.account(address)?;
        if !acc.factors.is_empty() && !self.has_proof(&acc.address, now) {
            return Err(Error::WrongStep {
                expected: "confirm a current factor first",
            });
        }
        self.begin_bind_unchecked(&acc, target, now)
    }

    pub(crate) fn begin_bind_unchecked(
        &self,
        acc: &Account,
        target: FactorTarget,
        now: Timestamp,
    ) -> Result<BindStart, Error> {
        let kind = target.kind();
        let norm = target.normalized()?;
        if let Some(t) = &norm {
            if acc
                .factors
                .iter()
                .any(|f| f.kind == kind && f.target.as_deref() == Some(t))
            {
                return Err(Error::FactorAlreadyBound(kind.target_name()));
            }
            if self.config.unique_phone_binding
                && matches!(kind, FactorKind::Sms | FactorKind::WeChat)
                && self.bound_elsewhere(&acc.address, kind, t)?
            {
                return Err(Error::FactorBoundElsewhere(kind.target_name()));
            }
        } else if acc.factors.iter().any(|f| f.kind == FactorKind::Totp) {
            return Err(Error::FactorAlreadyBound(kind.target_name()));
        }
        let expires = now.plus(self.config.code_ttl_secs);
        match norm {
            None => {
                let mut key = vec![0u8; 20];
                self.random.fill(&mut key)?;
                let t = factor::totp(&key, &self.config.issuer, &acc.address)?;
                let enrollment = TotpEnrollment {
                    secret_base32: SecretString::new(t.get_secret_base32()),
                    otpauth_url: SecretString::new(t.get_url()),
                    qr_png: t.get_qr_png().map_err(Error::Totp)?,
                };
                self.insert_pending(
                    &acc.address,
                    SLOT_BIND,
                    PendingCode {
                        tag: None,
                        kind,
                        factor: None,
                        target: None,
                        totp_key: Some(SecretBytes::new(key)),
                        sent_at: now,
                        expires,
                        wrong: 0,
                    },
                    now,
                );
                Ok(BindStart::Totp(enrollment))
            }
            Some(t) => {
                self.throttle(&acc.address, SLOT_BIND, now)?;
                let code = self.new_code()?;
                self.sender
                    .send_code(kind, &t, &acc.address, &code, CodePurpose::Bind)
                    .map_err(Error::CodeDelivery)?;
                let masked = factor::mask_target(kind, &t);
                self.insert_pending(
                    &acc.address,
                    SLOT_BIND,
                    PendingCode {
                        tag: Some(self.code_tag(&acc.address, SLOT_BIND, code.expose())),
                        kind,
                        factor: None,
                        target: Some(t),
                        totp_key: None,
                        sent_at: now,
                        expires,
                        wrong: 0,
                    },
                    now,
                );
                Ok(BindStart::CodeSent {
                    masked_target: masked,
                    expires,
                })
            }
        }
    }

    fn bound_elsewhere(&self, me: &Address, kind: FactorKind, target: &str) -> Result<bool, Error> {
        Ok(self.store.account_with_factor(kind, target, me)?.is_some())
    }

    /// Finishes binding with the first code from the app or the code that was sent.
    pub fn confirm_bind_factor(
        &self,
        address: &str,
        code: &str,
        now: Timestamp,
    ) -> Result<BoundFactor, Error> {
        let addr = Self::parse_address(address)?;
        let key = (addr.clone(), SLOT_BIND);
        let pending = lock(&self.codes)
            .get(&key)
            .cloned()
            .ok_or(Error::NoCodePending)?;
        if now >= pending.expires {
            lock(&self.codes).remove(&key);
            return Err(Error::CodeExpired);
        }
        let mut last_step = None;
        if let Some(k) = &pending.totp_key {
            let t = factor::totp(k.expose(), &self.config.issuer, &addr)?;
            match factor::check_totp(&t, code, now, None) {
                Ok(step) => {
                    last_step = Some(step);
                    lock(&self.codes).remove(&key);
                }
                Err(_) => {
                    let mut codes = lock(&self.codes);
                    if let Some(p) = codes.get_mut(&key) {
                        p.wrong += 1;
                        if p.wrong >= self.config.code_max_tries {
                            codes.remove(&key);
                            return Err(Error::CodeBurned);
                        }
                        return Err(Error::WrongCode {
                            remaining: self.config.code_max_tries - p.wrong,
                        });
                    }
                    return Err(Error::NoCodePending);
                }
            }
        } else {
            self.take_code(&addr, SLOT_BIND, code, now)?;
        }
        let (codes_shown, tags) = self.make_recovery_codes(&addr)?;
        let unique = self.config.unique_phone_binding;
        let needs_unique_check = unique
            && matches!(pending.kind, FactorKind::Sms | FactorKind::WeChat)
            && pending
                .target
                .as_deref()
                .map(|t| self.bound_elsewhere(&addr, pending.kind, t))
                .transpose()?
                .unwrap_or(false);
        if needs_unique_check {
            return Err(Error::FactorBoundElsewhere(pending.kind.target_name()));
        }
        self.modify(&addr, |a| {
            if a.factors.iter().any(|f| {
                f.kind == pending.kind
                    && (pending.kind == FactorKind::Totp || f.target == pending.target)
            }) {
                return Err(Error::FactorAlreadyBound(pending.kind.target_name()));
            }
            let first = a.factors.is_empty();
            let id = FactorId(a.next_factor_id.max(1));
            a.next_factor_id = id.0 + 1;
            let rec = FactorRecord {
                id,
                kind: pending.kind,
                target: pending.target.clone(),
                totp_key: pending.totp_key.clone(),
                last_totp_step: last_step,
                created: now,
            };
            let info = FactorInfo::from(&rec);
            a.factors.push(rec);
            let recovery_codes = if first {
                a.recovery_codes = tags;
                codes_shown
            } else {
                Vec::new()
            };
            Ok(BoundFactor {
                info,
                recovery_codes,
            })
        })
    }

    /// Removes a factor; needs a fresh [`confirm_current_factor`](Self::confirm_current_factor).
    /// The last factor cannot be removed while 2FA is forced. Removing the last factor also
    /// drops the recovery codes.
    pub fn remove_factor(&self, address: &str, id: FactorId, now: Timestamp) -> Result<(), Error> {
        let addr = Self::parse_address(address)?;
        if !self.has_proof(&addr, now) {
            return Err(Error::WrongStep {
                expected: "confirm a current factor first",
            });
        }
        let domain = self.domain_policy_of(&addr)?;
        self.modify(&addr, |a| {
            let i = a
                .factors
                .iter()
                .position(|f| f.id == id)
                .ok_or(Error::NoSuchFactor)?;
            if a.factors.len() == 1 {
                let mut probe = a.clone();
                probe.factors.clear();
                if probe.two_factor_required(domain.as_ref()) {
                    return Err(Error::LastFactorForced);
                }
                a.recovery_codes.clear();
            }
            a.factors.remove(i);
            Ok(())
        })
    }

    /// Replaces the recovery codes with fresh ones (needs a fresh proof); returns them once.
    pub fn regenerate_recovery_codes(
        &self,
        address: &str,
        now: Timestamp,
    ) -> Result<Vec<SecretString>, Error> {
        let addr = Self::parse_address(address)?;
        if !self.has_proof(&addr, now) {
            return Err(Error::WrongStep {
                expected: "confirm a current factor first",
            });
        }
        let (shown, tags) = self.make_recovery_codes(&addr)?;
        self.modify(&addr, |a| {
            if a.factors.is_empty() {
                return Err(Error::TwoFactorNotEnabled);
            }
            a.recovery_codes = tags;
            Ok(())
        })?;
        Ok(shown)
    }
}
