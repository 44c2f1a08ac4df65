//! Message flags (system flags and keywords), flag operations and special-use attributes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A keyword (user flag): an IMAP atom such as `$Forwarded` or `NonJunk`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Keyword(String);

impl Keyword {
    /// Longest accepted keyword in bytes.
    pub const MAX_LEN: usize = 128;

    /// Validates `k` as an IMAP atom (and not a system flag, which starts with `\`).
    pub fn new(k: &str) -> Result<Keyword, StoreError> {
        let ok = !k.is_empty()
            && k.len() <= Self::MAX_LEN
            && k.bytes().all(|b| {
                b > b' '
                    && b < 0x7f
                    && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
            });
        if ok {
            Ok(Keyword(k.to_owned()))
        } else {
            Err(StoreError::InvalidKeyword(k.chars().take(200).collect()))
        }
    }

    /// The keyword text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Keyword {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        Keyword::new(&s)
    }
}

impl From<Keyword> for String {
    fn from(k: Keyword) -> String {
        k.0
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One flag. `\Recent` is per session and not stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
    /// A keyword.
    Keyword(Keyword),
}

impl Flag {
    fn bit(&self) -> u8 {
        match self {
            Flag::Seen => 1,
            Flag::Answered => 2,
            Flag::Flagged => 4,
            Flag::Deleted => 8,
            Flag::Draft => 16,
            Flag::Keyword(_) => 0,
        }
    }

    /// Parses `\Seen` (any case) etc., or a keyword.
    pub fn parse(s: &str) -> Result<Flag, StoreError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "\\seen" => Flag::Seen,
            "\\answered" => Flag::Answered,
            "\\flagged" => Flag::Flagged,
            "\\deleted" => Flag::Deleted,
            "\\draft" => Flag::Draft,
            _ => Flag::Keyword(Keyword::new(s)?),
        })
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Seen => f.write_str("\\Seen"),
            Flag::Answered => f.write_str("\\Answered"),
            Flag::Flagged => f.write_str("\\Flagged"),
            Flag::Deleted => f.write_str("\\Deleted"),
            Flag::Draft => f.write_str("\\Draft"),
            Flag::Keyword(k) => k.fmt(f),
        }
    }
}

/// A set of flags: system flags as bits, keywords sorted and unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Flags {
    system: u8,
    keywords: Vec<Keyword>,
}

impl Flags {
    /// No flags.
    pub fn empty() -> Flags {
        Flags::default()
    }

    /// Builds a set from flags (duplicates are fine).
    pub fn from_flags<I: IntoIterator<Item = Flag>>(it: I) -> Flags {
        let mut f = Flags::empty();
        for x in it {
            f.insert(x);
        }
        f
    }

    /// Adds one flag.
    pub fn insert(&mut self, flag: Flag) {
        match flag {
            Flag::Keyword(k) => {
                if let Err(pos) = self.keywords.binary_search(&k) {
                    self.keywords.insert(pos, k);
                }
            }
            other => self.system |= other.bit(),
        }
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(mut self, flag: Flag) -> Flags {
        self.insert(flag);
        self
    }

    /// Removes one flag.
    pub fn remove(&mut self, flag: &Flag) {
        match flag {
            Flag::Keyword(k) => {
                if let Ok(pos) = self.keywords.binary_search(k) {
                    self.keywords.remove(pos);
                }
            }
            other => self.system &= !other.bit(),
        }
    }

    /// Whether `flag` is set.
    pub fn contains(&self, flag: &Flag) -> bool {
        match flag {
            Flag::Keyword(k) => self.keywords.binary_search(k).is_ok(),
            other => self.system & other.bit() != 0,
        }
    }

    /// `\Seen` is set.
    pub fn is_seen(&self) -> bool {
        self.system & 1 != 0
    }

    /// `\Deleted` is set.
    pub fn is_deleted(&self) -> bool {
        self.system & 8 != 0
    }

    /// The keywords, sorted.
    pub fn keywords(&self) -> &[Keyword] {
        &self.keywords
    }

    /// All flags: system flags first, then keywords.
    pub fn iter(&self) -> impl Iterator<Item = Flag> + '_ {
        [
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft,
        ]
        .into_iter()
        .filter(|f| self.system & f.bit() != 0)
        .chain(self.keywords.iter().cloned().map(Flag::Keyword))
    }

    /// No flag set.
    pub fn is_empty(&self) -> bool {
        self.system == 0 && self.keywords.is_empty()
    }

    /// Applies `op` with `other`, returning the result.
    pub fn apply(&self, op: FlagOp, other: &Flags) -> Flags {
        match op {
            FlagOp::Replace => other.clone(),
            FlagOp::Add => {
                let mut r = self.clone();
                for f in other.iter() {
                    r.insert(f);
                }
                r
            }
            FlagOp::Remove => {
                let mut r = self.clone();
                for f in other.iter() {
                    r.remove(&f);
                }
                r
            }
        }
    }

    pub(crate) fn system_bits(&self) -> u8 {
        self.system
    }

    pub(crate) fn from_parts(system: u8, keywords: Vec<Keyword>) -> Flags {
        let mut f = Flags {
            system: system & 0x1f,
            keywords: Vec::with_capacity(keywords.len()),
        };
        for k in keywords {
            f.insert(Flag::Keyword(k));
        }
        f
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, x) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            x.fmt(f)?;
        }
        f.write_str(")")
    }
}

/// How [`Store::store_flags`](crate::Store::store_flags) combines the given flags with a message's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagOp {
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
    /// `FLAGS`
    Replace,
}

/// Special-use mailbox attributes (RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SpecialUse {
    /// `\All`
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
}

impl SpecialUse {
    /// The attribute as written in LIST, e.g. `\Sent`.
    pub fn as_imap(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }
}
