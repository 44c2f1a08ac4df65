//! Validated atoms: [`Atom`], [`Tag`], and [`Capability`].

use std::fmt;

use super::literal::{Writer, is_atom_char, is_tag_char};
use crate::error::Error;

/// A non-empty string of `ATOM-CHAR`s (keywords, SASL mechanism names, resource names...).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(String);

impl Atom {
    /// Validates an atom.
    pub fn new(s: impl Into<String>) -> Result<Self, Error> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(is_atom_char) {
            Ok(Atom(s))
        } else {
            Err(Error::InvalidValue("not an atom"))
        }
    }
    pub(crate) fn from_valid(s: &[u8]) -> Self {
        debug_assert!(s.iter().all(|&b| is_atom_char(b)));
        Atom(String::from_utf8_lossy(s).into_owned())
    }
    /// The atom.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command tag: 1*<ASTRING-CHAR except "+">.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// Validates a tag.
    pub fn new(s: impl Into<String>) -> Result<Self, Error> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(is_tag_char) {
            Ok(Tag(s))
        } else {
            Err(Error::InvalidValue("not a tag"))
        }
    }
    pub(crate) fn from_valid(s: &[u8]) -> Self {
        Tag(String::from_utf8_lossy(s).into_owned())
    }
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A capability name as advertised in `CAPABILITY` (RFC 9051 and the extensions we implement).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `IMAP4rev1`
    Imap4rev1,
    /// `IMAP4rev2`
    Imap4rev2,
    /// `STARTTLS`
    StartTls,
    /// `LOGINDISABLED`
    LoginDisabled,
    /// `AUTH=<mechanism>`
    Auth(Atom),
    /// `SASL-IR`
    SaslIr,
    /// `IDLE`
    Idle,
    /// `ID`
    Id,
    /// `ENABLE`
    Enable,
    /// `NAMESPACE`
    Namespace,
    /// `LITERAL+`
    LiteralPlus,
    /// `LITERAL-`
    LiteralMinus,
    /// `UIDPLUS`
    UidPlus,
    /// `MOVE`
    Move,
    /// `CONDSTORE`
    Condstore,
    /// `QRESYNC`
    Qresync,
    /// `ACL`
    Acl,
    /// `RIGHTS=<letters>`
    Rights(Atom),
    /// `QUOTA`
    Quota,
    /// `QUOTA=RES-<resource>`
    QuotaRes(Atom),
    /// `QUOTASET`
    QuotaSet,
    /// `ESEARCH`
    Esearch,
    /// `SEARCHRES`
    SearchRes,
    /// `LIST-EXTENDED`
    ListExtended,
    /// `LIST-STATUS`
    ListStatus,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `UNSELECT`
    Unselect,
    /// `CHILDREN`
    Children,
    /// `UTF8=ACCEPT`
    Utf8Accept,
    /// `MULTIAPPEND`
    MultiAppend,
    /// `BINARY`
    Binary,
    /// `APPENDLIMIT=<n>` (or bare `APPENDLIMIT`)
    AppendLimit(Option<u64>),
    /// Anything else.
    Other(Atom),
}

impl Capability {
    /// Parses one capability atom (case-insensitive).
    pub fn from_atom(a: &str) -> Capability {
        let up = a.to_ascii_uppercase();
        let rest = |p: &str| Atom::new(&a[p.len()..]).ok();
        match up.as_str() {
            "IMAP4REV1" => Capability::Imap4rev1,
            "IMAP4REV2" => Capability::Imap4rev2,
            "STARTTLS" => Capability::StartTls,
            "LOGINDISABLED" => Capability::LoginDisabled,
            "SASL-IR" => Capability::SaslIr,
            "IDLE" => Capability::Idle,
            "ID" => Capability::Id,
            "ENABLE" => Capability::Enable,
            "NAMESPACE" => Capability::Namespace,
            "LITERAL+" => Capability::LiteralPlus,
            "LITERAL-" => Capability::LiteralMinus,
            "UIDPLUS" => Capability::UidPlus,
            "MOVE" => Capability::Move,
            "CONDSTORE" => Capability::Condstore,
            "QRESYNC" => Capability::Qresync,
            "ACL" => Capability::Acl,
            "QUOTA" => Capability::Quota,
            "QUOTASET" => Capability::QuotaSet,
            "ESEARCH" => Capability::Esearch,
            "SEARCHRES" => Capability::SearchRes,
            "LIST-EXTENDED" => Capability::ListExtended,
            "LIST-STATUS" => Capability::ListStatus,
            "SPECIAL-USE" => Capability::SpecialUse,
            "UNSELECT" => Capability::Unselect,
            "CHILDREN" => Capability::Children,
            "UTF8=ACCEPT" => Capability::Utf8Accept,
            "MULTIAPPEND" => Capability::MultiAppend,
            "BINARY" => Capability::Binary,
            "APPENDLIMIT" => Capability::AppendLimit(None),
            _ if up.starts_with("AUTH=") && a.len() > 5 => match rest("AUTH=") {
                Some(m) => Capability::Auth(m),
                None => Capability::Other(Atom(a.to_owned())),
            },
            _ if up.starts_with("RIGHTS=") && a.len() > 7 => match rest("RIGHTS=") {
                Some(m) => Capability::Rights(m),
                None => Capability::Other(Atom(a.to_owned())),
            },
            _ if up.starts_with("QUOTA=RES-") && a.len() > 10 => match rest("QUOTA=RES-") {
                Some(m) => Capability::QuotaRes(m),
                None => Capability::Other(Atom(a.to_owned())),
            },
            _ if up.starts_with("APPENDLIMIT=") => match a[12..].parse::<u64>() {
                Ok(n) if !a[12..].starts_with('+') => Capability::AppendLimit(Some(n)),
                _ => Capability::Other(Atom(a.to_owned())),
            },
            _ => Capability::Other(Atom(a.to_owned())),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        let s: &str = match self {
            Capability::Imap4rev1 => "IMAP4rev1",
            Capability::Imap4rev2 => "IMAP4rev2",
            Capability::StartTls => "STARTTLS",
            Capability::LoginDisabled => "LOGINDISABLED",
            Capability::Auth(m) => {
                w.raw(b"AUTH=");
                m.as_str()
            }
            Capability::SaslIr => "SASL-IR",
            Capability::Idle => "IDLE",
            Capability::Id => "ID",
            Capability::Enable => "ENABLE",
            Capability::Namespace => "NAMESPACE",
            Capability::LiteralPlus => "LITERAL+",
            Capability::LiteralMinus => "LITERAL-",
            Capability::UidPlus => "UIDPLUS",
            Capability::Move => "MOVE",
            Capability::Condstore => "CONDSTORE",
            Capability::Qresync => "QRESYNC",
            Capability::Acl => "ACL",
            Capability::Rights(r) => {
                w.raw(b"RIGHTS=");
                r.as_str()
            }
            Capability::Quota => "QUOTA",
            Capability::QuotaRes(r) => {
                w.raw(b"QUOTA=RES-");
                r.as_str()
            }
            Capability::QuotaSet => "QUOTASET",
            Capability::Esearch => "ESEARCH",
            Capability::SearchRes => "SEARCHRES",
            Capability::ListExtended => "LIST-EXTENDED",
            Capability::ListStatus => "LIST-STATUS",
            Capability::SpecialUse => "SPECIAL-USE",
            Capability::Unselect => "UNSELECT",
            Capability::Children => "CHILDREN",
            Capability::Utf8Accept => "UTF8=ACCEPT",
            Capability::MultiAppend => "MULTIAPPEND",
            Capability::Binary => "BINARY",
            Capability::AppendLimit(None) => "APPENDLIMIT",
            Capability::AppendLimit(Some(n)) => {
                w.raw(b"APPENDLIMIT=");
                w.num(*n);
                return;
            }
            Capability::Other(a) => a.as_str(),
        };
        w.raw(s.as_bytes());
    }
}
