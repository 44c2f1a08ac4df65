//! What a server offers in its EHLO reply.

use crate::reply::Reply;

/// Extensions parsed from an EHLO reply (keywords are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server answered EHLO (false: HELO fallback, no extensions).
    pub esmtp: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// SIZE (RFC 1870): `Some(0)` means no fixed limit.
    pub size: Option<u64>,
    /// 8BITMIME (RFC 6152).
    pub eightbitmime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// CHUNKING (RFC 3030).
    pub chunking: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// AUTH mechanisms, upper case (RFC 4954).
    pub auth: Vec<String>,
}

impl Capabilities {
    /// Parses the lines of a 250 EHLO reply (the first line is the greeting and is skipped).
    pub fn from_ehlo(reply: &Reply) -> Self {
        let mut c = Capabilities {
            esmtp: true,
            ..Default::default()
        };
        for line in reply.lines().iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(kw) = words.next() else { continue };
            let kw = kw.to_ascii_uppercase();
            match kw.as_str() {
                "PIPELINING" => c.pipelining = true,
                "SIZE" => c.size = Some(words.next().and_then(|s| s.parse().ok()).unwrap_or(0)),
                "8BITMIME" => c.eightbitmime = true,
                "SMTPUTF8" => c.smtputf8 = true,
                "CHUNKING" => c.chunking = true,
                "DSN" => c.dsn = true,
                "STARTTLS" => c.starttls = true,
                "ENHANCEDSTATUSCODES" => c.enhanced_status_codes = true,
                "AUTH" => {
                    for m in words {
                        let m = m.to_ascii_uppercase();
                        if !c.auth.contains(&m) {
                            c.auth.push(m);
                        }
                    }
                }
                _ if kw.starts_with("AUTH=") => {
                    for m in std::iter::once(&kw[5..]).chain(words) {
                        let m = m.to_ascii_uppercase();
                        if !m.is_empty() && !c.auth.contains(&m) {
                            c.auth.push(m);
                        }
                    }
                }
                _ => {}
            }
        }
        c
    }
}
