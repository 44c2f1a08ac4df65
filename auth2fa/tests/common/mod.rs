//! Shared test fixtures.
#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use auth2fa::{
    Address, AuthService, CodePurpose, CodeSender, Config, FactorKind, MemoryStore, NewAccount,
    SecretString, SeededRandom, ServerKey, Timestamp,
};

pub const T0: Timestamp = Timestamp(1_800_000_000);
pub const PW: &str = "Tq9!vLm2#pRz";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Records every code sent.
#[derive(Default)]
pub struct Outbox(pub Mutex<Vec<(FactorKind, String, String, CodePurpose)>>);

impl Outbox {
    pub fn last_code(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .last()
            .expect("a code was sent")
            .2
            .clone()
    }
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl CodeSender for Outbox {
    fn send_code(
        &self,
        kind: FactorKind,
        target: &str,
        _account: &Address,
        code: &SecretString,
        purpose: CodePurpose,
    ) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((kind, target.to_string(), code.expose().to_string(), purpose));
        Ok(())
    }
}

pub fn service_with(config: Config) -> (AuthService<MemoryStore>, Arc<Outbox>) {
    let outbox = Arc::new(Outbox::default());
    let s = AuthService::new(MemoryStore::new(), ServerKey::from_bytes([42; 32]), config)
        .unwrap()
        .with_random(Arc::new(SeededRandom::new(7)))
        .with_code_sender(outbox.clone());
    (s, outbox)
}

pub fn service() -> (AuthService<MemoryStore>, Arc<Outbox>) {
    service_with(Config::insecure_fast_for_tests())
}

/// Creates an active account with password `PW` that need not change it.
pub fn user(s: &AuthService<MemoryStore>, addr: &str) {
    let mut n = NewAccount::new(addr, PW);
    n.must_change_password = false;
    s.create_account(n, T0).unwrap();
}

/// Binds an SMS factor to `addr` (which must have none) and returns the recovery codes.
pub fn bind_sms(
    s: &AuthService<MemoryStore>,
    out: &Outbox,
    addr: &str,
    phone: &str,
    now: Timestamp,
) -> Vec<SecretString> {
    s.begin_bind_factor(addr, auth2fa::FactorTarget::Sms(phone.into()), now)
        .unwrap();
    s.confirm_bind_factor(addr, &out.last_code(), now)
        .unwrap()
        .recovery_codes
}
