//! Secrets: wrapped so that `Debug` prints nothing and memory is wiped on drop.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::random::RandomSource;

/// A secret string shown to a user once (an app password, a recovery code, a device token).
///
/// `Debug` prints `<redacted>`; the memory is zeroed on drop. Read it with [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a string.
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(Zeroizing::new(s.into()))
    }

    /// The secret text. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString::new(s)
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString::new(s)
    }
}

/// Secret bytes kept at rest (a TOTP key). Serialized as base64; `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// The secret bytes. Never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(URL_SAFE_NO_PAD.encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        URL_SAFE_NO_PAD
            .decode(s.as_bytes())
            .map(SecretBytes::new)
            .map_err(serde::de::Error::custom)
    }
}

/// The server's 32-byte secret key: app passwords, recovery codes, trusted-device tokens and
/// failed-secret fingerprints are stored as HMAC-SHA256 tags under it.
///
/// The host keeps it outside the store (a file readable only by the server). Replacing it
/// invalidates every app password, recovery code and trusted device.
#[derive(Clone)]
pub struct ServerKey {
    key: hmac::Key,
}

impl ServerKey {
    /// A key from 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut b = bytes;
        let key = hmac::Key::new(hmac::HMAC_SHA256, &b);
        b.zeroize();
        ServerKey { key }
    }

    /// A fresh random key; returns the bytes for the host to persist, and the key.
    pub fn generate(random: &dyn RandomSource) -> Result<(Zeroizing<[u8; 32]>, Self), Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random.fill(&mut bytes[..])?;
        let key = ServerKey::from_bytes(*bytes);
        Ok((bytes, key))
    }

    /// The HMAC tag of `parts` under this key, with a domain-separating `purpose`.
    /// Each part is length-prefixed so that different splits never collide.
    pub(crate) fn tag(&self, purpose: &[u8], parts: &[&[u8]]) -> Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(purpose.len() as u32).to_be_bytes());
        ctx.update(purpose);
        for p in parts {
            ctx.update(&(p.len() as u32).to_be_bytes());
            ctx.update(p);
        }
        let out = ctx.sign();
        let mut t = [0u8; 32];
        t.copy_from_slice(out.as_ref());
        Tag(t)
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

/// An HMAC-SHA256 tag stored in place of a secret. Compared in constant time only.
#[derive(Clone, Copy)]
pub struct Tag(pub(crate) [u8; 32]);

impl Tag {
    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Tag) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// A short non-secret fingerprint (first 8 bytes), for dedup tables.
    pub(crate) fn short(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(<redacted>)")
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = URL_SAFE_NO_PAD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)?;
        let arr: [u8; 32] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom("tag must be 32 bytes"))?;
        Ok(Tag(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_nothing_secret() {
        let s = SecretString::new("hunter2hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        let b = SecretBytes::new(vec![1, 2, 3]);
        assert_eq!(format!("{b:?}"), "<redacted>");
        let k = ServerKey::from_bytes([7; 32]);
        assert!(!format!("{k:?}").contains('7'));
        let t = k.tag(b"x", &[b"y"]);
        assert_eq!(format!("{t:?}"), "Tag(<redacted>)");
    }

    #[test]
    fn tags_are_length_prefixed_and_keyed() {
        let k = ServerKey::from_bytes([1; 32]);
        let a = k.tag(b"p", &[b"ab", b"c"]);
        let b = k.tag(b"p", &[b"a", b"bc"]);
        assert!(!a.ct_eq(&b));
        assert!(a.ct_eq(&k.tag(b"p", &[b"ab", b"c"])));
        let other = ServerKey::from_bytes([2; 32]);
        assert!(!a.ct_eq(&other.tag(b"p", &[b"ab", b"c"])));
        assert!(!a.ct_eq(&k.tag(b"q", &[b"ab", b"c"])));
    }

    #[test]
    fn tag_and_bytes_round_trip_through_json() {
        let k = ServerKey::from_bytes([3; 32]);
        let t = k.tag(b"p", &[b"x"]);
        let j = serde_json::to_string(&t).unwrap();
        let back: Tag = serde_json::from_str(&j).unwrap();
        assert!(t.ct_eq(&back));
        let b = SecretBytes::new(vec![9; 20]);
        let j = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<SecretBytes>(&j).unwrap(), b);
        assert!(serde_json::from_str::<Tag>("\"AAAA\"").is_err());
    }
}
