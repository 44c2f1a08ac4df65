//! [`Error`]: the one error type of this crate's API.

/// Errors returned by the host-facing methods of [`crate::Server`] and by constructors.
///
/// Protocol errors made by the *client* are never returned here: they are answered on the wire
/// with `-ERR` and counted. These errors mean the *host* called something it should not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An answer method was called while the session was not waiting for that answer.
    #[error("`{method}` called in the wrong state (session is {state})")]
    WrongState {
        /// The method that was called.
        method: &'static str,
        /// A short description of what the session was doing.
        state: &'static str,
    },
    /// A unique id is not 1 to 70 characters in the range 0x21..=0x7E (RFC 1939 section 7).
    #[error("invalid unique id: must be 1 to 70 printable ASCII characters without space")]
    InvalidUid,
    /// The APOP timestamp is not of the form `<...>` with printable ASCII inside.
    #[error("invalid APOP timestamp: must look like <unique@host>")]
    InvalidApopTimestamp,
    /// The configuration is inconsistent (the message says how).
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}
