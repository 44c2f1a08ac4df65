//! Search primitives: a query tree evaluated against metadata computed at append.
//!
//! Text matches are case-insensitive substring matches on decoded UTF-8 (so a GBK subject is
//! found by its Chinese text). Subject, address and header matches use metadata kept in
//! memory; only [`SearchKey::Body`] and [`SearchKey::Text`] read the stored body text.

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
}

/// What a search evaluates against.
pub(crate) struct Candidate<'a> {
    pub uid: Uid,
    pub flags: &'a crate::flags::Flags,
    pub modseq: ModSeq,
    pub internal_date: i64,
    pub size: u64,
    pub meta: &'a MessageMeta,
    pub subject_lc: &'a str,
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

fn addr_match(list: &[Address], needle: &str) -> bool {
    list.iter().any(|a| {
        a.name.as_deref().is_some_and(|n| contains_ci(n, needle))
            || a.address.as_deref().is_some_and(|n| contains_ci(n, needle))
    })
}

/// Evaluates `key` (prepared) against `c`; `body` fetches decoded body text on demand.
pub(crate) fn matches(
    key: &SearchKey,
    c: &Candidate<'_>,
    raw_header: &mut dyn FnMut() -> Option<String>,
    body: &mut dyn FnMut() -> Option<String>,
) -> bool {
    let env = &c.meta.envelope;
    match key {
        SearchKey::All => true,
        SearchKey::Uids(r) => r.iter().any(|(a, b)| *a <= c.uid && c.uid <= *b),
        SearchKey::Flag(f, set) => c.flags.contains(f) == *set,
        SearchKey::Subject(s) => c.subject_lc.contains(s.as_str()),
        SearchKey::From(s) => addr_match(&env.from, s),
        SearchKey::To(s) => addr_match(&env.to, s),
        SearchKey::Cc(s) => addr_match(&env.cc, s),
        SearchKey::Bcc(s) => addr_match(&env.bcc, s),
        SearchKey::Header(name, v) => {
            if !c
                .meta
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(name))
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
            c.subject_lc.contains(s.as_str())
                || addr_match(&env.from, s)
                || addr_match(&env.to, s)
                || addr_match(&env.cc, s)
                || raw_header().is_some_and(|h| contains_ci(&h, s))
                || body().is_some_and(|b| contains_ci(&b, s))
        }
        SearchKey::MessageId(id) => env.message_id.as_deref() == Some(id.as_str()),
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
