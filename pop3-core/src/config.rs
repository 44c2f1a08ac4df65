//! [`Config`]: per-connection settings chosen by the host.

use std::time::Duration;

use crate::Error;

/// Settings for one POP3 session. Build with [`Config::default`] and adjust the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Text of the greeting after `+OK ` (the APOP timestamp, if any, is appended).
    pub greeting: String,
    /// The connection is already encrypted (implicit TLS, port 995). STLS is then not offered
    /// and plaintext authentication is always allowed.
    pub tls: bool,
    /// Offer STLS (RFC 2595) on a plaintext connection. The host must be able to start TLS.
    pub stls: bool,
    /// Allow USER/PASS and AUTH PLAIN/LOGIN on a connection that is not (yet) encrypted.
    /// The host decides (for example: only from loopback). When false, those commands get
    /// `-ERR [AUTH] Plaintext authentication disallowed on non-secure connection` until STLS
    /// has succeeded, and CAPA does not advertise USER or SASL.
    pub allow_plaintext_auth: bool,
    /// APOP (RFC 1939 section 7), off by default. When `Some`, this is the connection's unique
    /// timestamp banner, such as `<1896.697170952@dbc.mtview.ca.us>`; it is put in the greeting
    /// and APOP is accepted. Check it with [`Config::validate`].
    pub apop_timestamp: Option<String>,
    /// Advertise and accept the RFC 6856 `UTF8` command.
    pub utf8: bool,
    /// Longest command line accepted, in octets including CRLF (RFC 2449: 255).
    pub max_line_len: usize,
    /// Longest `AUTH` command line or SASL response line, in octets including CRLF.
    pub max_auth_line_len: usize,
    /// Close the session after this many bad commands (unknown, malformed, too long, or not
    /// allowed in the current state).
    pub max_bad_commands: u32,
    /// Close the session after this many failed authentication attempts.
    pub max_auth_failures: u32,
    /// Close the session after this much time without client activity (RFC 1939: at least
    /// 10 minutes).
    pub idle_timeout: Duration,
    /// Stop asking for input ([`crate::Server::wants_input`]) while this many unprocessed
    /// input octets are buffered (pipelined commands waiting for a long RETR, say).
    pub max_buffered_input: usize,
    /// `IMPLEMENTATION` capability text, if any.
    pub implementation: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            greeting: "POP3 server ready".to_owned(),
            tls: false,
            stls: false,
            allow_plaintext_auth: false,
            apop_timestamp: None,
            utf8: true,
            max_line_len: 255,
            max_auth_line_len: 8192,
            max_bad_commands: 10,
            max_auth_failures: 3,
            idle_timeout: Duration::from_secs(600),
            max_buffered_input: 64 * 1024,
            implementation: None,
        }
    }
}

impl Config {
    /// Checks the settings; [`crate::Server::new`] calls this too.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(ts) = &self.apop_timestamp {
            let b = ts.as_bytes();
            let ok = b.len() >= 3
                && b[0] == b'<'
                && b[b.len() - 1] == b'>'
                && b[1..b.len() - 1]
                    .iter()
                    .all(|&c| (0x21..=0x7e).contains(&c) && c != b'<' && c != b'>');
            if !ok {
                return Err(Error::InvalidApopTimestamp);
            }
        }
        if self.max_line_len < 16 {
            return Err(Error::InvalidConfig("max_line_len must be at least 16"));
        }
        if self.max_auth_line_len < self.max_line_len {
            return Err(Error::InvalidConfig(
                "max_auth_line_len must be at least max_line_len",
            ));
        }
        if self.max_bad_commands == 0 || self.max_auth_failures == 0 {
            return Err(Error::InvalidConfig(
                "max_bad_commands and max_auth_failures must be at least 1",
            ));
        }
        if self.max_buffered_input < self.max_auth_line_len {
            return Err(Error::InvalidConfig(
                "max_buffered_input must be at least max_auth_line_len",
            ));
        }
        for text in [Some(&self.greeting), self.implementation.as_ref()]
            .into_iter()
            .flatten()
        {
            if text.bytes().any(|c| c.is_ascii_control()) {
                return Err(Error::InvalidConfig(
                    "greeting and implementation must not contain control characters",
                ));
            }
        }
        Ok(())
    }
}
