//! The `Received:` trace header (RFC 5321 section 4.4).

use std::fmt::Write;
use std::net::IpAddr;

/// What goes into a `Received:` header. The date is formatted by the host (RFC 5322
/// `date-time`, e.g. `Sun, 06 Dec 2026 10:00:00 +0000`), since the core reads no clock.
#[derive(Debug, Clone)]
pub struct ReceivedInfo<'a> {
    /// Name the client gave in HELO/EHLO.
    pub helo: &'a str,
    /// Client IP address.
    pub client_ip: IpAddr,
    /// Client host name from reverse DNS, if verified.
    pub client_name: Option<&'a str>,
    /// Our host name.
    pub by: &'a str,
    /// `with` protocol, see [`Server::protocol`](crate::Server::protocol).
    pub protocol: &'a str,
    /// TLS details for a comment, e.g. `TLSv1.3 TLS_AES_256_GCM_SHA384`.
    pub tls: Option<&'a str>,
    /// Queue id.
    pub id: Option<&'a str>,
    /// The recipient (only when the message has exactly one; never list several).
    pub recipient: Option<&'a str>,
    /// RFC 5322 date-time.
    pub date: &'a str,
}

/// Keeps only characters that cannot break out of a header, comment or angle address.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '\\' | '<' | '>' | ';'))
        .map(|c| if c == ' ' { '_' } else { c })
        .collect()
}

/// Writes the header, folded, ending in CRLF:
///
/// ```text
/// Received: from client.example (mail.client.example [192.0.2.1])
///         by mx.example.org with ESMTPS id 4ABC
///         (TLSv1.3 TLS_AES_256_GCM_SHA384)
///         for <user@example.org>; Sun, 06 Dec 2026 10:00:00 +0000
/// ```
pub fn received_header(info: &ReceivedInfo<'_>) -> String {
    let mut h = String::with_capacity(256);
    let ip = match info.client_ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("IPv6:{a}"),
    };
    let helo = clean(info.helo);
    let _ = write!(
        h,
        "Received: from {}",
        if helo.is_empty() { "unknown" } else { &helo }
    );
    match info.client_name {
        Some(n) => {
            let _ = write!(h, " ({} [{ip}])", clean(n));
        }
        None => {
            let _ = write!(h, " ([{ip}])");
        }
    }
    let _ = write!(
        h,
        "\r\n\tby {} with {}",
        clean(info.by),
        clean(info.protocol)
    );
    if let Some(id) = info.id {
        let _ = write!(h, " id {}", clean(id));
    }
    if let Some(t) = info.tls {
        let t: String = t
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '\\'))
            .collect();
        let _ = write!(h, "\r\n\t({t})");
    }
    if let Some(r) = info.recipient {
        let _ = write!(
            h,
            "\r\n\tfor <{}>",
            r.chars()
                .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ';'))
                .collect::<String>()
        );
    }
    let date: String = info.date.chars().filter(|c| !c.is_control()).collect();
    let _ = write!(h, "; {date}\r\n");
    h
}
