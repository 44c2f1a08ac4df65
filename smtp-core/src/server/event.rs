//! Events the server hands to the host.

use bytes::Bytes;

use crate::command::ReversePath;
use crate::params::{MailParams, RcptParams};
use crate::secret::Secret;

/// SASL mechanisms the server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login).
    Login,
}

impl Mechanism {
    /// Name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }
}

/// Why a message was dropped while it was streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortReason {
    /// Bigger than `max_message_size`; answered 552 5.3.4.
    TooBig,
    /// Bare CR or LF under [`BareLinePolicy::Reject`](crate::BareLinePolicy::Reject); answered
    /// 550 5.6.0.
    BareLineEnding,
}

/// Something the host sees or decides. Events marked *decision* must be answered with
/// [`Server::accept`](crate::Server::accept), [`Server::accept_with`](crate::Server::accept_with)
/// or [`Server::reject`](crate::Server::reject) before the server reads further commands; the
/// others are information.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// *Decision*: `EHLO`/`HELO`. Accept sends 250 with the capabilities.
    Helo {
        /// The name the client gave (not validated beyond being one printable token).
        domain: String,
        /// `EHLO` (true) or `HELO`.
        extended: bool,
    },
    /// *Decision*: `AUTH` with complete credentials. Accept sends 235 2.7.0.
    Auth {
        /// Mechanism used.
        mechanism: Mechanism,
        /// Authorization identity (PLAIN only), if different from empty.
        authzid: Option<String>,
        /// Authentication identity (login name).
        username: String,
        /// Password.
        password: Secret,
    },
    /// *Decision*: `STARTTLS`. Accept queues 220 2.0.0; write it, do the handshake, then call
    /// [`Server::tls_started`](crate::Server::tls_started).
    StartTls,
    /// *Decision*: `MAIL FROM`. Accept sends 250 2.1.0.
    MailFrom {
        /// Sender.
        from: ReversePath<'static>,
        /// Parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH).
        params: MailParams<'static>,
    },
    /// *Decision*: `RCPT TO`. Accept sends 250 2.1.5.
    RcptTo {
        /// Recipient address (`Postmaster` for the bare postmaster form).
        to: String,
        /// Parameters (NOTIFY, ORCPT).
        params: RcptParams<'static>,
    },
    /// *Decision*: the client wants to send the message (`DATA`, or the first `BDAT`).
    /// Accept sends 354 for DATA (nothing for BDAT).
    DataStart {
        /// Whether the message comes in BDAT chunks.
        chunking: bool,
    },
    /// A piece of the message, already unstuffed (DATA) or raw (BDAT).
    Data(Bytes),
    /// *Decision*: the message is complete. Store it durably, then accept (250 2.0.0); this may
    /// happen later (nothing is read meanwhile).
    DataEnd {
        /// Octets of message data delivered in `Data` events.
        size: u64,
    },
    /// The message being received was dropped (already answered by the server); discard what
    /// was received.
    DataAborted {
        /// Why.
        reason: AbortReason,
    },
    /// The mail transaction was abandoned (RSET, new EHLO, STARTTLS, rejected DATA).
    Reset,
}
