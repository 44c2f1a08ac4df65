//! ESMTP parameters of MAIL FROM and RCPT TO (SIZE, BODY, SMTPUTF8, DSN, AUTH).

use std::borrow::Cow;

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
    /// `BODY=BINARYMIME` (only with BDAT; this server does not offer it).
    BinaryMime,
}

impl Body {
    /// The keyword as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

/// DSN `RET=` (RFC 3461): how much of the message a bounce returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`.
    Full,
    /// `RET=HDRS`.
    Headers,
}

/// DSN `NOTIFY=` (RFC 3461). All flags false means `NOTIFY=NEVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// Whether this is `NEVER`.
    pub fn is_never(&self) -> bool {
        !self.success && !self.failure && !self.delay
    }

    /// Wire form, e.g. `SUCCESS,FAILURE` or `NEVER`.
    pub fn to_wire(&self) -> String {
        if self.is_never() {
            return "NEVER".into();
        }
        let mut v = Vec::new();
        if self.success {
            v.push("SUCCESS");
        }
        if self.failure {
            v.push("FAILURE");
        }
        if self.delay {
            v.push("DELAY");
        }
        v.join(",")
    }
}

/// DSN `ORCPT=addr-type;xtext` (RFC 3461). The address is kept in its xtext form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt<'a> {
    /// Address type, usually `rfc822` (or `utf-8`).
    pub addr_type: Cow<'a, str>,
    /// The original recipient, xtext-encoded as received (see [`xtext_decode`]).
    pub addr: Cow<'a, str>,
}

impl Orcpt<'_> {
    /// Owned copy.
    pub fn into_owned(self) -> Orcpt<'static> {
        Orcpt {
            addr_type: Cow::Owned(self.addr_type.into_owned()),
            addr: Cow::Owned(self.addr.into_owned()),
        }
    }
}

/// Parameters of `MAIL FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` declared message size (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// DSN `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// DSN `ENVID=` in xtext form (RFC 3461).
    pub envid: Option<Cow<'a, str>>,
    /// `AUTH=` submitter in xtext form (RFC 4954); `<>` when unknown.
    pub auth: Option<Cow<'a, str>>,
}

impl MailParams<'_> {
    /// Owned copy.
    pub fn into_owned(self) -> MailParams<'static> {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(|c| Cow::Owned(c.into_owned())),
            auth: self.auth.map(|c| Cow::Owned(c.into_owned())),
        }
    }
}

/// Parameters of `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParams<'a> {
    /// DSN `NOTIFY=`.
    pub notify: Option<Notify>,
    /// DSN `ORCPT=`.
    pub orcpt: Option<Orcpt<'a>>,
}

impl RcptParams<'_> {
    /// Owned copy.
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(Orcpt::into_owned),
        }
    }
}

/// Decodes xtext (RFC 3461 section 4): `+XX` is the byte with hex value XX.
/// Returns `None` for malformed xtext.
pub fn xtext_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'+' {
            let h = b.get(i + 1..i + 3)?;
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            };
            out.push(hex(h[0])? << 4 | hex(h[1])?);
            i += 3;
        } else if (33..=126).contains(&b[i]) && b[i] != b'=' {
            out.push(b[i]);
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Encodes bytes as xtext (RFC 3461 section 4).
pub fn xtext_encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (33..=126).contains(&c) && c != b'+' && c != b'=' {
            s.push(c as char);
        } else {
            s.push_str(&format!("+{c:02X}"));
        }
    }
    s
}

pub(crate) fn is_xtext(s: &[u8]) -> bool {
    // The common case, no "+XX" escape: one branch-free pass over the bytes.
    if memchr::memchr(b'+', s).is_none() {
        return s
            .iter()
            .fold(true, |ok, &b| ok & (b > 32) & (b < 127) & (b != b'='));
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'+' {
            let ok = s.get(i + 1..i + 3).is_some_and(|h| {
                h.iter()
                    .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
            });
            if !ok {
                return false;
            }
            i += 3;
        } else if b > 32 && b < 127 && b != b'=' {
            i += 1;
        } else {
            return false;
        }
    }
    true
}
