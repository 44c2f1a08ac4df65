//! Trusted devices (REQUIREMENTS F3): "don't ask for the second factor again on this browser".
//!
//! The device gets an opaque random token (32 bytes, base64url) to keep in a cookie; the store
//! keeps only its HMAC tag. A device expires after the configured days (7 or 60 in the seed
//! systems) and can be listed and revoked one by one or all at once. App passwords do not
//! depend on trusted devices (C3).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::secret::Tag;
use crate::time::Timestamp;

/// Identifies a trusted device within one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceId(pub u64);

/// A stored trusted device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TrustedDeviceRecord {
    pub(crate) id: DeviceId,
    pub(crate) tag: Tag,
    pub(crate) name: String,
    pub(crate) created: Timestamp,
    pub(crate) expires: Timestamp,
    pub(crate) last_seen: Timestamp,
    pub(crate) last_ip: IpAddr,
}

/// What listing shows of a trusted device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedDeviceInfo {
    /// Its id, for revoking.
    pub id: DeviceId,
    /// A name or user agent given when it was trusted.
    pub name: String,
    /// When it was trusted.
    pub created: Timestamp,
    /// When the trust ends.
    pub expires: Timestamp,
    /// When it last logged in.
    pub last_seen: Timestamp,
    /// From which IP address it last logged in.
    pub last_ip: IpAddr,
}

impl From<&TrustedDeviceRecord> for TrustedDeviceInfo {
    fn from(r: &TrustedDeviceRecord) -> Self {
        TrustedDeviceInfo {
            id: r.id,
            name: r.name.clone(),
            created: r.created,
            expires: r.expires,
            last_seen: r.last_seen,
            last_ip: r.last_ip,
        }
    }
}

/// Cleans a device name or user agent for storage: control characters dropped, at most 128
/// characters, "unnamed device" if empty.
pub(crate) fn clean_name(name: &str) -> String {
    let n: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    let n = n.trim();
    if n.is_empty() {
        "unnamed device".into()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_cleaned() {
        assert_eq!(
            super::clean_name(" Firefox\n on Linux "),
            "Firefox on Linux"
        );
        assert_eq!(super::clean_name("\u{7}"), "unnamed device");
        assert_eq!(super::clean_name(&"x".repeat(500)).len(), 128);
    }
}
