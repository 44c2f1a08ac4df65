//! [`Event`]: what the session asks the host, and the host's typed answers' parameters.

use crate::{Secret, Uid};

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// `USER` then `PASS` (RFC 1939).
    UserPass,
    /// `AUTH PLAIN` (RFC 4616 over RFC 5034).
    Plain,
    /// `AUTH LOGIN` (the de-facto mechanism used by many mail clients).
    Login,
}

/// Something the host must decide or do. Answer each with the method named in its docs;
/// until it is answered no further command is processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Check a user name and password. Answer with [`crate::Server::auth_accept`] or
    /// [`crate::Server::auth_reject`].
    Authenticate {
        /// How the credentials arrived.
        mechanism: Mechanism,
        /// The identity to act as, if the client asked for one different from `username`
        /// (SASL PLAIN authzid, for shared mailboxes). The host must check the right.
        authzid: Option<String>,
        /// The login name, as sent.
        username: String,
        /// The password, as sent (any bytes; PLAIN and LOGIN require UTF-8 in theory).
        password: Secret,
    },
    /// Check an APOP digest: `digest` should equal the lowercase hex MD5 of
    /// `timestamp` followed by the shared secret. Only raised when APOP is enabled
    /// ([`crate::Config::apop_timestamp`]). Answer like [`Event::Authenticate`].
    Apop {
        /// The login name.
        username: String,
        /// The greeting's timestamp, `<...>` included.
        timestamp: String,
        /// 32 lowercase hex digits.
        digest: String,
    },
    /// Authentication succeeded: lock and open `mailbox`. Answer with
    /// [`crate::Server::maildrop_ready`] (the listing) or [`crate::Server::maildrop_reject`]
    /// (for example [`MaildropFailure::InUse`] when another session holds the lock).
    LockMaildrop {
        /// The mailbox to open: the authzid if one was given, otherwise the user name.
        mailbox: String,
    },
    /// Send message `index` (0-based in the listing; the client's message number is
    /// `index + 1`). Answer with [`crate::Server::retrieve`] (whole message), or
    /// [`crate::Server::retrieve_chunk`]... then [`crate::Server::retrieve_end`], or
    /// [`crate::Server::retrieve_failed`]. Give the message as stored: the core byte-stuffs,
    /// turns bare LF into CRLF and, for TOP, cuts after the header and `top` body lines.
    Retrieve {
        /// 0-based index into the listing.
        index: usize,
        /// The message's unique id.
        uid: Uid,
        /// `Some(n)` for `TOP msg n`: only the header and `n` body lines are sent.
        top: Option<u32>,
    },
    /// The client sent QUIT in the TRANSACTION state: the session is in UPDATE. Remove the
    /// messages listed, release the lock, and answer with [`crate::Server::update_done`] or
    /// [`crate::Server::update_failed`]. Never raised for a dropped connection.
    Update {
        /// 0-based indexes of the messages marked deleted, ascending (may be empty).
        deleted: Vec<usize>,
    },
    /// The client asked for STLS and `+OK` is queued. Write out everything
    /// [`crate::Server::transmit`] returns in plaintext, run the TLS handshake, then call
    /// [`crate::Server::tls_established`] (or drop the connection if it fails). Input fed
    /// before that is discarded (no plaintext command injection).
    StartTls,
    /// The session is over. Write out what [`crate::Server::transmit`] still returns, then
    /// close the connection. If a maildrop was locked and no [`Event::Update`] was answered,
    /// release the lock without deleting anything.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// No client activity for [`crate::Config::idle_timeout`].
    IdleTimeout,
    /// [`crate::Config::max_bad_commands`] reached.
    TooManyBadCommands,
    /// [`crate::Config::max_auth_failures`] reached.
    TooManyAuthFailures,
    /// [`crate::Config::max_buffered_input`] exceeded by a client that does not read.
    InputOverflow,
    /// The host could not deliver a message after its first bytes were sent.
    RetrieveAborted,
    /// The host called [`crate::Server::close_by_host`].
    Host,
}

/// Why an authentication attempt failed; chooses the RFC 2449/3206 response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Wrong name or password (also: blocked address): `-ERR [AUTH]`.
    Credentials,
    /// Logging in again too soon: `-ERR [LOGIN-DELAY]`.
    LoginDelay,
    /// A temporary failure (back end down): `-ERR [SYS/TEMP]`.
    Temporary,
    /// A permanent condition (account disabled, banned, not allowed POP3): `-ERR [SYS/PERM]`.
    Permanent,
}

/// Why the maildrop could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaildropFailure {
    /// Another session holds the lock: `-ERR [IN-USE]`.
    InUse,
    /// A temporary failure: `-ERR [SYS/TEMP]`.
    Temporary,
    /// A permanent failure: `-ERR [SYS/PERM]`.
    Permanent,
}
