//! The crate's one error type.

/// Everything that can go wrong at the crate boundary.
///
/// Protocol errors made by the *peer* are never returned as `Error`: they are answered on the
/// wire (tagged `BAD`/`NO`, or `BYE`). `Error` is for the host (answering an event in the wrong
/// state, building an invalid value) and for the client codec (a response that does not parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An answer method was called while the session was not waiting for it.
    #[error("wrong state: {method} called while {state}")]
    WrongState {
        /// The method that was called.
        method: &'static str,
        /// What the session was doing instead.
        state: &'static str,
    },
    /// A UID passed by the host is not in the selected mailbox's map, or is not ascending.
    #[error("invalid UID {0} for this mailbox")]
    InvalidUid(u32),
    /// A value given by the host cannot be represented on the wire.
    #[error("invalid value: {0}")]
    InvalidValue(&'static str),
    /// Input that does not parse (client codec, or the standalone parsers).
    #[error("parse error: {0}")]
    Parse(&'static str),
    /// Input ends before the item is complete (client codec).
    #[error("incomplete input")]
    Incomplete,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
