//! Search primitives: a query tree evaluated against metadata computed at append.
//!
//! Text matches are case-insensitive substring matches on decoded UTF-8 (so a GBK subject is
//! found by its Chinese text). Subject, address and header-name matches use a compact search
//! record stored per body at append; header values read the stored header and
//! [`SearchKey::Body`] and [`SearchKey::Text`] the stored body text.

use crate::engine::codec::{AddrList, SearchView};
use crate::flags::Flag;
use crate::ids::{ModSeq, Uid};
use crate::meta::{Address, MessageMeta};

/// One search criterion (IMAP SEARCH keys, minus sequence numbers, which are per session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// Every message.
    All,
    /// UID within one of the inclusive ranges.
    Uids(Vec<(Uid, Uid)>),
    /// Flag set (`true`) or not set (`false`).
    Flag(Flag, bool),
    /// Decoded subject contains the text.
    Subject(String),
    /// From (name or address) contains the text.
    From(String),
    /// To contains the text.
    To(String),
    /// Cc contains the text.
    Cc(String),
    /// Bcc contains the text.
    Bcc(String),
    /// A header field named (case-insensitively) `.0` whose raw value contains `.1`; an empty
    /// `.1` matches any message that has the field.
    Header(String, String),
    /// Decoded body text contains the text.
    Body(String),
    /// Header or body text contains the text.
    Text(String),
    /// Message-ID equals (without angle brackets).
    MessageId(String),
    /// Size larger than.
    Larger(u64),
    /// Size smaller than.
    Smaller(u64),
    /// Internal date before (Unix seconds, exclusive).
    Before(i64),
    /// Internal date at or after (Unix seconds).
    Since(i64),
    /// Date header before (Unix seconds, exclusive).
    SentBefore(i64),
    /// Date header at or after (Unix seconds).
    SentSince(i64),
    /// Modseq at least (CONDSTORE `MODSEQ`).
    ModSeqAtLeast(ModSeq),
    /// All of these.
    And(Vec<SearchKey>),
    /// Either.
    Or(Box<SearchKey>, Box<SearchKey>),
    /// Not.
    Not(Box<SearchKey>),
}

impl SearchKey {
    /// Whether evaluating the key reads stored body text.
    pub fn needs_body(&self) -> bool {
        match self {
            SearchKey::Body(_) | SearchKey::Text(_) => true,
            SearchKey::And(v) => v.iter().any(SearchKey::needs_body),
            SearchKey::Or(a, b) => a.needs_body() || b.needs_body(),
            SearchKey::Not(a) => a.needs_body(),
            _ => false,
        }
    }

    /// The same query with every text needle lowercased once.
    pub(crate) fn prepared(&self) -> SearchKey {
        let lc = |s: &String| s.to_lowercase();
        match self {
            SearchKey::Subject(s) => SearchKey::Subject(lc(s)),
            SearchKey::From(s) => SearchKey::From(lc(s)),
            SearchKey::To(s) => SearchKey::To(lc(s)),
            SearchKey::Cc(s) => SearchKey::Cc(lc(s)),
            SearchKey::Bcc(s) => SearchKey::Bcc(lc(s)),
            SearchKey::Header(n, v) => SearchKey::Header(n.clone(), lc(v)),
            SearchKey::Body(s) => SearchKey::Body(lc(s)),
            SearchKey::Text(s) => SearchKey::Text(lc(s)),
            SearchKey::MessageId(s) => SearchKey::MessageId(
                s.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned(),
            ),
            SearchKey::And(v) => SearchKey::And(v.iter().map(SearchKey::prepared).collect()),
            SearchKey::Or(a, b) => SearchKey::Or(Box::new(a.prepared()), Box::new(b.prepared())),
            SearchKey::Not(a) => SearchKey::Not(Box::new(a.prepared())),
            other => other.clone(),
        }
    }

    /// Whether evaluating the key needs a message's search record (envelope or header
    /// names), as opposed to what the in-memory index holds (UID, flags, dates, size).
    pub(crate) fn needs_fields(&self) -> bool {
        match self {
            SearchKey::All
            | SearchKey::Uids(_)
            | SearchKey::Flag(..)
            | SearchKey::Larger(_)
            | SearchKey::Smaller(_)
            | SearchKey::Before(_)
            | SearchKey::Since(_)
            | SearchKey::ModSeqAtLeast(_) => false,
            SearchKey::And(v) => v.iter().any(SearchKey::needs_fields),
            SearchKey::Or(a, b) => a.needs_fields() || b.needs_fields(),
            SearchKey::Not(a) => a.needs_fields(),
            _ => true,
        }
    }
}

/// What a search needs of a message's metadata, stored per body in a compact binary record
/// (decoding 100,000 of them is much cheaper than decoding the full JSON metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SearchFields {
    pub subject_lc: String,
    pub message_id: Option<String>,
    pub date: Option<i64>,
    pub body_offset: u32,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub header_names: Vec<String>,
}

impl SearchFields {
    pub(crate) fn of(meta: &MessageMeta) -> SearchFields {
        let env = &meta.envelope;
        SearchFields {
            subject_lc: env.subject.as_deref().unwrap_or("").to_lowercase(),
            message_id: env.message_id.clone(),
            date: env.date,
            body_offset: meta.body_offset,
            from: env.from.clone(),
            to: env.to.clone(),
            cc: env.cc.clone(),
            bcc: env.bcc.clone(),
            header_names: meta.headers.iter().map(|h| h.name.clone()).collect(),
        }
    }
}

/// What a search evaluates against.
pub(crate) struct Candidate<'a> {
    pub uid: Uid,
    pub flags: &'a crate::flags::Flags,
    pub modseq: ModSeq,
    pub internal_date: i64,
    pub size: u64,
    pub fields: &'a SearchView<'a>,
}

/// Case-insensitive containment; `needle` is already lowercase.
pub(crate) fn contains_ci(hay: &str, needle_lc: &str) -> bool {
    if needle_lc.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle_lc.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle_lc.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle_lc)
}

fn addr_match(list: AddrList<'_>, needle: &str) -> bool {
    list.iter().any(|(name, address)| {
        name.is_some_and(|n| contains_ci(n, needle))
            || address.is_some_and(|n| contains_ci(n, needle))
    })
}

/// Evaluates `key` (prepared) against `c`; `body` fetches decoded body text on demand.
pub(crate) fn matches(
    key: &SearchKey,
    c: &Candidate<'_>,
    raw_header: &mut dyn FnMut() -> Option<String>,
    body: &mut dyn FnMut() -> Option<String>,
) -> bool {
    let env = c.fields;
    match key {
        SearchKey::All => true,
        SearchKey::Uids(r) => r.iter().any(|(a, b)| *a <= c.uid && c.uid <= *b),
        SearchKey::Flag(f, set) => c.flags.contains(f) == *set,
        SearchKey::Subject(s) => env.subject_lc.contains(s.as_str()),
        SearchKey::From(s) => addr_match(env.from, s),
        SearchKey::To(s) => addr_match(env.to, s),
        SearchKey::Cc(s) => addr_match(env.cc, s),
        SearchKey::Bcc(s) => addr_match(env.bcc, s),
        SearchKey::Header(name, v) => {
            if !env
                .header_names
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
            {
                return false;
            }
            if v.is_empty() {
                return true;
            }
            match raw_header() {
                Some(h) => header_values(&h, name).any(|val| contains_ci(&val, v)),
                None => false,
            }
        }
        SearchKey::Body(s) => body().is_some_and(|b| contains_ci(&b, s)),
        SearchKey::Text(s) => {
            env.subject_lc.contains(s.as_str())
                || addr_match(env.from, s)
                || addr_match(env.to, s)
                || addr_match(env.cc, s)
                || raw_header().is_some_and(|h| contains_ci(&h, s))
                || body().is_some_and(|b| contains_ci(&b, s))
        }
        SearchKey::MessageId(id) => env.message_id == Some(id.as_str()),
        SearchKey::Larger(n) => c.size > *n,
        SearchKey::Smaller(n) => c.size < *n,
        SearchKey::Before(t) => c.internal_date < *t,
        SearchKey::Since(t) => c.internal_date >= *t,
        SearchKey::SentBefore(t) => env.date.is_some_and(|d| d < *t),
        SearchKey::SentSince(t) => env.date.is_some_and(|d| d >= *t),
        SearchKey::ModSeqAtLeast(m) => c.modseq >= *m,
        SearchKey::And(v) => v.iter().all(|k| matches(k, c, raw_header, body)),
        SearchKey::Or(a, b) => matches(a, c, raw_header, body) || matches(b, c, raw_header, body),
        SearchKey::Not(a) => !matches(a, c, raw_header, body),
    }
}

/// Unfolded values of every field `name` in a raw header block.
fn header_values<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    let mut fields: Vec<String> = Vec::new();
    for line in header.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push_str(line);
            }
        } else {
            fields.push(line.to_owned());
        }
    }
    fields.into_iter().filter_map(move |f| {
        let (n, v) = f.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}
