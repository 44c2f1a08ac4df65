//! SASL PLAIN (RFC 4616) and LOGIN decoding for `AUTH` (RFC 5034).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Secret;

/// Decodes a client's base64 SASL response. `=` is the empty response (RFC 5034).
pub(crate) fn decode_response(b64: &[u8]) -> Option<Secret> {
    if b64 == b"=" {
        return Some(Secret::new(Vec::new()));
    }
    STANDARD.decode(b64).ok().map(Secret::new)
}

/// The parts of a PLAIN message `[authzid] NUL authcid NUL passwd`.
pub(crate) struct Plain {
    pub(crate) authzid: Option<String>,
    pub(crate) authcid: String,
    pub(crate) password: Secret,
}

/// Splits a decoded PLAIN message. Identities must be non-empty UTF-8 (authzid may be empty,
/// meaning none); the password must be non-empty and free of NUL.
pub(crate) fn parse_plain(msg: &[u8]) -> Option<Plain> {
    let mut parts = msg.splitn(3, |&b| b == 0);
    let authzid = parts.next()?;
    let authcid = parts.next()?;
    let password = parts.next()?;
    if authcid.is_empty() || password.is_empty() || password.contains(&0) {
        return None;
    }
    let authzid = if authzid.is_empty() {
        None
    } else {
        Some(identity(authzid)?)
    };
    Some(Plain {
        authzid,
        authcid: identity(authcid)?,
        password: Secret::new(password.to_vec()),
    })
}

/// A login name: UTF-8 without control characters or spaces.
pub(crate) fn identity(b: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    (!s.is_empty() && !s.chars().any(|c| c.is_control() || c == ' ')).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let p = parse_plain(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!(p.authzid, None);
        assert_eq!(p.authcid, "tim");
        assert_eq!(p.password.expose(), b"tanstaaftanstaaf");
        let p = parse_plain(b"shared@x\0tim\0pw").unwrap();
        assert_eq!(p.authzid.as_deref(), Some("shared@x"));
        assert!(parse_plain(b"tim\0pw").is_none());
        assert!(parse_plain(b"\0\0pw").is_none());
        assert!(parse_plain(b"\0tim\0").is_none());
        assert!(parse_plain(b"\0tim\0p\0w").is_none());
        assert!(parse_plain(b"\0t\xffm\0pw").is_none());
    }

    #[test]
    fn base64() {
        assert_eq!(decode_response(b"=").unwrap().expose(), b"");
        assert_eq!(decode_response(b"dGlt").unwrap().expose(), b"tim");
        assert!(decode_response(b"dGl").is_none());
        assert!(decode_response(b"*").is_none());
    }
}
