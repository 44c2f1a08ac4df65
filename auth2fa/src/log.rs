//! The login log, new-place alerts and the administrators' audit log (REQUIREMENTS D5/D6).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::account::{Channel, CredentialUsed};
use crate::address::Address;
use crate::network::Place;
use crate::time::Timestamp;

/// One login attempt, successful or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginEvent {
    /// When.
    pub at: Timestamp,
    /// The login as typed, normalized when it parsed (at most 254 characters).
    pub login: String,
    /// The account, if the login named an existing one.
    pub account: Option<Address>,
    /// Protocol or web.
    pub channel: Channel,
    /// Client IP address.
    pub ip: IpAddr,
    /// Where the IP is located, if known.
    pub place: Option<Place>,
    /// Which credential was accepted (`None` on most failures).
    pub credential: CredentialUsed,
    /// `None` on success, else the [`Error::code`](crate::Error::code) of the failure.
    pub failure: Option<String>,
}

impl LoginEvent {
    /// Whether the attempt succeeded.
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
}

/// Something the host should tell the user about at once (by SMS and e-mail).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alert {
    /// A successful login from a place this account had not logged in from before.
    NewPlace {
        /// The account.
        account: Address,
        /// The new place.
        place: Place,
        /// The client's IP address.
        ip: IpAddr,
        /// Protocol or web.
        channel: Channel,
        /// When.
        at: Timestamp,
    },
}

/// Whether an administrator action succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditResult {
    /// It succeeded.
    Ok,
    /// It failed, with the reason.
    Failed(String),
}

/// One administrator action (create, delete, edit account, list, change region rules...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who did it (an administrator's login or a tool's name).
    pub admin: String,
    /// What (`account.create`, `account.delete`, `region.set`...).
    pub action: String,
    /// On what (usually an account address).
    pub target: String,
    /// Free-form details (never secrets).
    pub details: String,
    /// The outcome.
    pub result: AuditResult,
}
