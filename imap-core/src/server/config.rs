//! Server configuration: limits, timeouts, TLS and capability choices.

use std::time::Duration;

use crate::syntax::NamespaceDesc;

/// A SASL mechanism the server implements itself (the host only checks the credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMechanism {
    /// `PLAIN` (RFC 4616)
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login)
    Login,
}

/// Optional extensions, all on by default. Turning one off removes it from CAPABILITY and
/// makes its commands `BAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Extensions {
    pub imap4rev2: bool,
    pub condstore: bool,
    pub qresync: bool,
    pub acl: bool,
    pub quota: bool,
    pub idle: bool,
    pub id: bool,
    pub utf8_accept: bool,
    pub literal_plus: bool,
    /// Offer `LITERAL-` instead of `LITERAL+` (only if `literal_plus` is false).
    pub literal_minus: bool,
    pub special_use: bool,
    pub list_status: bool,
    pub multiappend: bool,
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            imap4rev2: true,
            condstore: true,
            qresync: true,
            acl: true,
            quota: true,
            idle: true,
            id: true,
            utf8_accept: true,
            literal_plus: true,
            literal_minus: false,
            special_use: true,
            list_status: true,
            multiappend: true,
        }
    }
}

/// NAMESPACE answer (RFC 2342). Empty vectors are sent as NIL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// Personal namespaces (normally `("" "/")`).
    pub personal: Vec<NamespaceDesc>,
    /// Other users' namespaces, for shared mailboxes (e.g. `("Other Users/" "/")`).
    pub other: Vec<NamespaceDesc>,
    /// Shared namespaces.
    pub shared: Vec<NamespaceDesc>,
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces {
            personal: vec![NamespaceDesc {
                prefix: String::new(),
                delimiter: Some('/'),
            }],
            other: vec![NamespaceDesc {
                prefix: "Other Users/".into(),
                delimiter: Some('/'),
            }],
            shared: vec![],
        }
    }
}

/// Everything the host decides about a session before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// Text of the greeting (`* OK [CAPABILITY ...] <greeting>`).
    pub greeting: String,
    /// The connection is already encrypted (implicit TLS port).
    pub tls: bool,
    /// Offer STARTTLS (ignored once `tls`).
    pub starttls: bool,
    /// Refuse LOGIN and plaintext AUTHENTICATE until TLS is up (advertises LOGINDISABLED).
    pub login_disabled_without_tls: bool,
    /// SASL mechanisms to offer.
    pub auth_mechanisms: Vec<AuthMechanism>,
    /// Optional extensions.
    pub extensions: Extensions,
    /// NAMESPACE answer.
    pub namespaces: Namespaces,
    /// Hierarchy delimiter (for `LIST "" ""`).
    pub delimiter: char,
    /// Longest command line (without literals), bytes. Longer: tagged BAD, line discarded.
    pub max_line_length: usize,
    /// Largest total of literal data in one non-APPEND command. Larger: tagged `BAD [TOOBIG]`
    /// (a non-synchronizing literal's data is skipped, never buffered).
    pub max_literal_size: u64,
    /// Largest APPEND message; advertised as APPENDLIMIT. Larger: tagged `NO [TOOBIG]`.
    pub max_append_size: u64,
    /// How many complete commands may wait while one is being answered. More: BYE.
    pub max_pipelined: usize,
    /// Failed authentications allowed on one connection before BYE.
    pub max_auth_failures: u32,
    /// Idle time allowed before authentication.
    pub login_timeout: Duration,
    /// Idle time allowed after authentication (RFC 9051: at least 30 minutes).
    pub idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            greeting: "IMAP server ready".into(),
            tls: false,
            starttls: true,
            login_disabled_without_tls: true,
            auth_mechanisms: vec![AuthMechanism::Plain, AuthMechanism::Login],
            extensions: Extensions::default(),
            namespaces: Namespaces::default(),
            delimiter: '/',
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024,
            max_append_size: 64 * 1024 * 1024,
            max_pipelined: 64,
            max_auth_failures: 3,
            login_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
        }
    }
}
