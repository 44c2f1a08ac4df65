//! Server configuration.

use std::time::Duration;

use crate::data::BareLinePolicy;

/// Whether AUTH is offered and whether it is needed before MAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthPolicy {
    /// No AUTH (an inbound MX). The default.
    #[default]
    Disabled,
    /// AUTH offered, mail accepted without it too.
    Optional,
    /// AUTH needed before MAIL (submission): 530 5.7.0 otherwise.
    Required,
}

/// Server settings. Build with [`Config::new`] and change the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Our host name, used in the greeting, EHLO reply and 221/421 replies.
    pub hostname: String,
    /// Text after the host name in the 220 greeting.
    pub greeting: String,
    /// Largest message in octets (SIZE, checked at MAIL and while streaming; 552 5.3.4).
    pub max_message_size: u64,
    /// Most recipients per transaction (452 4.5.3 after that).
    pub max_recipients: usize,
    /// Longest command line in octets, without CRLF (500 5.5.6 after that). Also bounds AUTH
    /// responses.
    pub max_line_length: usize,
    /// AUTH offered / required.
    pub auth: AuthPolicy,
    /// Whether AUTH PLAIN/LOGIN may be used on this connection when it is not (yet) under TLS.
    /// The host decides (loopback, trusted network); under TLS AUTH is always allowed when
    /// offered. Can be changed later with [`Server::set_plaintext_auth`](crate::Server::set_plaintext_auth).
    pub plaintext_auth: bool,
    /// Offer STARTTLS (only while the connection is not TLS yet).
    pub starttls: bool,
    /// The connection is already TLS (implicit TLS port, e.g. 465).
    pub implicit_tls: bool,
    /// What to do with bare CR / bare LF in message data.
    pub bare_line: BareLinePolicy,
    /// After this many error replies the session ends with 421 4.7.0.
    pub max_errors: u32,
    /// Offer CHUNKING / BDAT (RFC 3030).
    pub chunking: bool,
    /// Offer SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// Offer DSN (RFC 3461) and accept its parameters.
    pub dsn: bool,
    /// Idle time after which the server says 421 4.4.2 and closes.
    pub idle_timeout: Duration,
}

impl Config {
    /// Defaults: 25 MiB messages, 100 recipients, 4096-octet lines, no AUTH, no STARTTLS, bare
    /// CR/LF rejected, 20 errors, CHUNKING, SMTPUTF8 and DSN offered, 5 minutes idle timeout.
    pub fn new(hostname: impl Into<String>) -> Self {
        Config {
            hostname: hostname.into(),
            greeting: "ESMTP ready".into(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_line_length: 4096,
            auth: AuthPolicy::Disabled,
            plaintext_auth: false,
            starttls: false,
            implicit_tls: false,
            bare_line: BareLinePolicy::Reject,
            max_errors: 20,
            chunking: true,
            smtputf8: true,
            dsn: true,
            idle_timeout: Duration::from_secs(300),
        }
    }
}
