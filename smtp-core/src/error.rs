//! The crate's error type, returned by every state-checked method.

use thiserror::Error;

/// Everything that can go wrong when the host drives a [`Server`](crate::Server) or a
/// [`Client`](crate::Client) (protocol errors of the peer are answered on the wire, not here).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The method does not fit the current state (for example `accept()` with no pending event).
    #[error("{action} is not allowed in state {state}")]
    WrongState {
        /// What the host tried to do.
        action: &'static str,
        /// The state the machine is in.
        state: &'static str,
    },
    /// The reply code does not fit the answer (for example `reject()` with a 250).
    #[error("reply code {code} is not valid here: {reason}")]
    InvalidReply {
        /// The code the host supplied.
        code: u16,
        /// Which codes are allowed.
        reason: &'static str,
    },
    /// An argument the host supplied cannot be sent (for example an address with a CR or LF).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The peer sent something that cannot be parsed (client side: a malformed reply).
    #[error("protocol violation by the peer: {0}")]
    Protocol(&'static str),
}
