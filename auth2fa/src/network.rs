//! IP networks (CIDR), places, the `Locator` trait and per-account region rules (REQUIREMENTS D7).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a /32 or /128.
///
/// Host bits are cleared on parsing, so `10.1.2.3/8` is `10.0.0.0/8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `addr/prefix` or a bare address.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidNetwork(truncate(s));
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Network {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// A network from an address and prefix length (clamped to the family's maximum).
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        let prefix = prefix.min(if addr.is_ipv4() { 32 } else { 128 });
        Network {
            addr: mask(addr, prefix),
            prefix,
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) become IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

pub(crate) fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Network({self})")
    }
}

impl std::str::FromStr for Network {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Network::parse(s)
    }
}

impl TryFrom<String> for Network {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Network::parse(&s)
    }
}

impl From<Network> for String {
    fn from(n: Network) -> String {
        n.to_string()
    }
}

/// A place an IP address is located in: a hierarchical code such as `CN`, `CN/Beijing` or
/// `CN/Beijing/Haidian`, levels separated by `/`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Place(String);

impl Place {
    /// Parses a place code: 1-128 characters, no control characters, no empty level.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.is_empty()
            || s.chars().count() > 128
            || s.chars().any(char::is_control)
            || s.split('/').any(|l| l.trim().is_empty())
        {
            return Err(Error::InvalidPlace(truncate(s)));
        }
        Ok(Place(s.to_string()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this place is `other` or lies inside it (`CN/Beijing` is within `CN`).
    pub fn is_within(&self, other: &Place) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&other.0)
                && self.0.as_bytes()[other.0.len()] == b'/')
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Place({})", self.0)
    }
}

impl TryFrom<String> for Place {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Place::parse(&s)
    }
}

impl From<Place> for String {
    fn from(p: Place) -> String {
        p.0
    }
}

/// Finds the place of an IP address (a GeoIP database, a campus network map...).
pub trait Locator: Send + Sync {
    /// The place of `ip`, if known.
    fn locate(&self, ip: IpAddr) -> Option<Place>;
}

/// A locator that knows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLocator;

impl Locator for NoLocator {
    fn locate(&self, _ip: IpAddr) -> Option<Place> {
        None
    }
}

/// A locator from a table of networks; the longest matching prefix wins.
///
/// Text form, one rule a line: `CIDR PLACE` (`#` starts a comment):
/// ```text
/// 10.0.0.0/8        CN/Campus
/// 202.112.0.0/13    CN/Beijing
/// 2001:da8::/32     CN/CERNET
/// ```
#[derive(Clone, Debug, Default)]
pub struct CidrLocator {
    rules: Vec<(Network, Place)>,
}

impl CidrLocator {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule.
    pub fn insert(&mut self, network: Network, place: Place) {
        self.rules.push((network, place));
        // Longest prefix first, so the first match is the most specific.
        self.rules.sort_by_key(|r| std::cmp::Reverse(r.0.prefix));
    }

    /// Parses the text form; the error names the first bad line.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut t = CidrLocator::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (net, place) = line
                .split_once(char::is_whitespace)
                .ok_or(Error::InvalidLocatorLine { line: i + 1 })?;
            let net = Network::parse(net).map_err(|_| Error::InvalidLocatorLine { line: i + 1 })?;
            let place =
                Place::parse(place).map_err(|_| Error::InvalidLocatorLine { line: i + 1 })?;
            t.insert(net, place);
        }
        Ok(t)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl Locator for CidrLocator {
    fn locate(&self, ip: IpAddr) -> Option<Place> {
        self.rules
            .iter()
            .find(|(n, _)| n.contains(ip))
            .map(|(_, p)| p.clone())
    }
}

/// Where an account may log in from (REQUIREMENTS D7). Empty means anywhere; otherwise a login
/// is allowed only from an IP inside one of `networks`, or located (by the [`Locator`]) within
/// one of `places`. Everything else is denied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRule {
    /// Allowed networks.
    pub networks: Vec<Network>,
    /// Allowed places (a place allows everything within it).
    pub places: Vec<Place>,
}

impl RegionRule {
    /// No restriction.
    pub fn anywhere() -> Self {
        Self::default()
    }

    /// Whether the rule restricts anything.
    pub fn is_unrestricted(&self) -> bool {
        self.networks.is_empty() && self.places.is_empty()
    }

    /// Parses a comma- or space-separated list: items that parse as networks are networks,
    /// the rest places (`10.0.0.0/8, CN/Beijing`). An empty string is "anywhere".
    pub fn parse(s: &str) -> Result<Self, Error> {
        let mut r = RegionRule::default();
        for item in s
            .split([',', ' ', '\t', '\n'])
            .filter(|i| !i.trim().is_empty())
        {
            let looks_ip =
                item.contains(':') || item.chars().next().is_some_and(|c| c.is_ascii_digit());
            if looks_ip {
                r.networks.push(Network::parse(item)?);
            } else {
                r.places.push(Place::parse(item)?);
            }
        }
        Ok(r)
    }

    /// Whether a login from `ip`, located at `place`, is allowed.
    pub fn allows(&self, ip: IpAddr, place: Option<&Place>) -> bool {
        self.is_unrestricted()
            || self.networks.iter().any(|n| n.contains(ip))
            || place.is_some_and(|p| self.places.iter().any(|a| p.is_within(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_masks() {
        let n = Network::parse("10.1.2.3/8").unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/8");
        assert!(n.contains(ip("10.255.0.1")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.9.9.9")));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert_eq!(Network::parse("1.2.3.4").unwrap().prefix(), 32);
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in [
            "1.2.3.4/33",
            "::/129",
            "x/1",
            "1.2.3.4/",
            "1.2.3.4/+1",
            "",
            "1.2.3/8",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locator_prefers_longest_prefix() {
        let t = CidrLocator::parse(
            "# campus\n10.0.0.0/8 CN/Campus\n10.5.0.0/16 CN/Campus/Library\n\n2001:da8::/32 CN/CERNET\n",
        )
        .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(
            t.locate(ip("10.5.1.1")).unwrap().as_str(),
            "CN/Campus/Library"
        );
        assert_eq!(t.locate(ip("10.6.1.1")).unwrap().as_str(), "CN/Campus");
        assert_eq!(t.locate(ip("2001:da8::1")).unwrap().as_str(), "CN/CERNET");
        assert_eq!(t.locate(ip("8.8.8.8")), None);
        assert!(matches!(
            CidrLocator::parse("10.0.0.0/8 A\nbogus"),
            Err(Error::InvalidLocatorLine { line: 2 })
        ));
    }

    #[test]
    fn region_rules_allow_only_what_they_name() {
        let r = RegionRule::parse("10.0.0.0/8, CN/Beijing").unwrap();
        let bj = Place::parse("CN/Beijing/Haidian").unwrap();
        let sh = Place::parse("CN/Shanghai").unwrap();
        assert!(r.allows(ip("10.1.1.1"), None));
        assert!(r.allows(ip("1.1.1.1"), Some(&bj)));
        assert!(!r.allows(ip("1.1.1.1"), Some(&sh)));
        assert!(!r.allows(ip("1.1.1.1"), None));
        assert!(RegionRule::parse("").unwrap().allows(ip("1.1.1.1"), None));
        // "CN/Bei" is not within "CN/Beijing" nor the reverse.
        let r2 = RegionRule::parse("CN/Bei").unwrap();
        assert!(!r2.allows(ip("1.1.1.1"), Some(&bj)));
    }
}
