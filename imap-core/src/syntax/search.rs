//! SEARCH keys (RFC 9051 6.4.4, RFC 3501, CONDSTORE `MODSEQ`), their parser and writer, and an
//! evaluator over one message.

use super::atom::Atom;
use super::charset::Charset;
use super::datetime::{Date, date};
use super::flag::Flag;
use super::literal::{
    PResult, Writer, astring, astring_utf8, atom, fail, kw, number, number64, quoted_8bit, sp,
    upper,
};
use super::sequence::{SequenceSet, sequence_set};
use crate::render::MessageView;

/// One search key. A top-level list of keys (`SEARCH a b c`) is an [`SearchKey::And`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    /// `HEADER field-name string`
    Header(String, String),
    Keyword(Atom),
    Larger(u32),
    /// IMAP4rev1 `NEW` (recent and unseen)
    New,
    Not(Box<SearchKey>),
    /// IMAP4rev1 `OLD`
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// IMAP4rev1 `RECENT`
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u32),
    Subject(String),
    Text(String),
    To(String),
    /// `UID set`. In events the server has already turned every message-number set into this.
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(Atom),
    Unseen,
    /// A message-number set (never seen by the host: translated to `Uid`).
    SequenceSet(SequenceSet),
    /// `( key *(SP key) )`, or the top-level list.
    And(Vec<SearchKey>),
    /// CONDSTORE `MODSEQ [entry-name entry-type] mod-sequence-valzer`.
    ModSeq(u64),
}

const MAX_DEPTH: usize = 32;

/// A search string in `cs`: an astring, whose quoted form may also hold 8-bit bytes of a
/// declared non-UTF-8 charset (clients send GB2312 that way), decoded strictly.
fn search_string(i: &[u8], cs: Charset) -> PResult<'_, String> {
    let (r, bytes) = match (cs, i.first()) {
        (Charset::Known(_) | Charset::Unknown, Some(b'"')) => quoted_8bit(i)?,
        _ => astring(i)?,
    };
    match cs.decode(&bytes) {
        Some(s) => Ok((r, s)),
        None => fail(i),
    }
}

/// `search-key`, nested at most 32 levels; strings are in `cs`.
pub(crate) fn search_key(i: &[u8], depth: usize, cs: Charset) -> PResult<'_, SearchKey> {
    if depth > MAX_DEPTH {
        return fail(i);
    }
    match i.first() {
        Some(b'(') => {
            let mut v = Vec::new();
            let mut r = &i[1..];
            loop {
                let (r2, k) = search_key(r, depth + 1, cs)?;
                v.push(k);
                match r2.first() {
                    Some(b' ') => r = &r2[1..],
                    Some(b')') => return Ok((&r2[1..], SearchKey::And(v))),
                    _ => return fail(r2),
                }
            }
        }
        Some(b'0'..=b'9') | Some(b'*') | Some(b'$') => {
            let (r, s) = sequence_set(i)?;
            Ok((r, SearchKey::SequenceSet(s)))
        }
        _ => {
            let (r, name) = atom(i)?;
            let (ubuf, ulen) = upper(name);
            let up = &ubuf[..ulen];
            let s = |r| -> PResult<'_, String> {
                let (r, _) = sp(r)?;
                search_string(r, cs)
            };
            let d = |r| -> PResult<'_, Date> {
                let (r, _) = sp(r)?;
                date(r)
            };
            let n = |r| -> PResult<'_, u32> {
                let (r, _) = sp(r)?;
                number(r)
            };
            Ok(match up {
                b"ALL" => (r, SearchKey::All),
                b"ANSWERED" => (r, SearchKey::Answered),
                b"BCC" => s(r).map(|(r, v)| (r, SearchKey::Bcc(v)))?,
                b"BEFORE" => d(r).map(|(r, v)| (r, SearchKey::Before(v)))?,
                b"BODY" => s(r).map(|(r, v)| (r, SearchKey::Body(v)))?,
                b"CC" => s(r).map(|(r, v)| (r, SearchKey::Cc(v)))?,
                b"DELETED" => (r, SearchKey::Deleted),
                b"DRAFT" => (r, SearchKey::Draft),
                b"FLAGGED" => (r, SearchKey::Flagged),
                b"FROM" => s(r).map(|(r, v)| (r, SearchKey::From(v)))?,
                b"HEADER" => {
                    let (r, h) = s(r)?;
                    let (r, v) = s(r)?;
                    (r, SearchKey::Header(h, v))
                }
                b"KEYWORD" | b"UNKEYWORD" => {
                    let (r, _) = sp(r)?;
                    let (r, f) = super::flag::flag(r)?;
                    let a = match f {
                        Flag::Keyword(a) => a,
                        _ => return fail(i),
                    };
                    if up == b"KEYWORD".as_slice() {
                        (r, SearchKey::Keyword(a))
                    } else {
                        (r, SearchKey::Unkeyword(a))
                    }
                }
                b"LARGER" => n(r).map(|(r, v)| (r, SearchKey::Larger(v)))?,
                b"NEW" => (r, SearchKey::New),
                b"NOT" => {
                    let (r, _) = sp(r)?;
                    let (r, k) = search_key(r, depth + 1, cs)?;
                    (r, SearchKey::Not(Box::new(k)))
                }
                b"OLD" => (r, SearchKey::Old),
                b"ON" => d(r).map(|(r, v)| (r, SearchKey::On(v)))?,
                b"OR" => {
                    let (r, _) = sp(r)?;
                    let (r, a) = search_key(r, depth + 1, cs)?;
                    let (r, _) = sp(r)?;
                    let (r, b) = search_key(r, depth + 1, cs)?;
                    (r, SearchKey::Or(Box::new(a), Box::new(b)))
                }
                b"RECENT" => (r, SearchKey::Recent),
                b"SEEN" => (r, SearchKey::Seen),
                b"SENTBEFORE" => d(r).map(|(r, v)| (r, SearchKey::SentBefore(v)))?,
                b"SENTON" => d(r).map(|(r, v)| (r, SearchKey::SentOn(v)))?,
                b"SENTSINCE" => d(r).map(|(r, v)| (r, SearchKey::SentSince(v)))?,
                b"SINCE" => d(r).map(|(r, v)| (r, SearchKey::Since(v)))?,
                b"SMALLER" => n(r).map(|(r, v)| (r, SearchKey::Smaller(v)))?,
                b"SUBJECT" => s(r).map(|(r, v)| (r, SearchKey::Subject(v)))?,
                b"TEXT" => s(r).map(|(r, v)| (r, SearchKey::Text(v)))?,
                b"TO" => s(r).map(|(r, v)| (r, SearchKey::To(v)))?,
                b"UID" => {
                    let (r, _) = sp(r)?;
                    let (r, set) = sequence_set(r)?;
                    (r, SearchKey::Uid(set))
                }
                b"UNANSWERED" => (r, SearchKey::Unanswered),
                b"UNDELETED" => (r, SearchKey::Undeleted),
                b"UNDRAFT" => (r, SearchKey::Undraft),
                b"UNFLAGGED" => (r, SearchKey::Unflagged),
                b"UNSEEN" => (r, SearchKey::Unseen),
                b"MODSEQ" => {
                    let (mut r, _) = sp(r)?;
                    // optional entry-name entry-type-req
                    if r.first() == Some(&b'"') {
                        let (r2, _) = super::literal::quoted(r)?;
                        let (r2, _) = sp(r2)?;
                        let (r2, t) = atom(r2)?;
                        if !(t.eq_ignore_ascii_case(b"priv")
                            || t.eq_ignore_ascii_case(b"shared")
                            || t.eq_ignore_ascii_case(b"all"))
                        {
                            return fail(r);
                        }
                        let (r2, _) = sp(r2)?;
                        r = r2;
                    }
                    let (r, v) = number64(r)?;
                    (r, SearchKey::ModSeq(v))
                }
                _ => return fail(i),
            })
        }
    }
}

/// The criteria of a SEARCH command: `search-key *(SP search-key)`, as a flat `And`.
pub(crate) fn search_criteria(i: &[u8], cs: Charset) -> PResult<'_, SearchKey> {
    let mut v = Vec::new();
    let (mut r, k) = search_key(i, 0, cs)?;
    v.push(k);
    while r.first() == Some(&b' ') {
        let (r2, k) = search_key(&r[1..], 0, cs)?;
        v.push(k);
        r = r2;
    }
    Ok((r, SearchKey::And(v)))
}

/// The optional `CHARSET astring SP` prefix of SEARCH.
pub(crate) fn charset_prefix(i: &[u8]) -> PResult<'_, Option<String>> {
    if let Ok((r, _)) = kw("CHARSET ")(i) {
        let (r, c) = astring_utf8(r)?;
        let (r, _) = sp(r)?;
        return Ok((r, Some(c)));
    }
    Ok((i, None))
}

impl SearchKey {
    /// Writes the key, strings encoded in `cs`; `And` at the top level is written without
    /// parentheses by the caller.
    pub(crate) fn write(&self, w: &mut Writer, cs: Charset) {
        let s = |w: &mut Writer, k: &[u8], v: &str| {
            w.raw(k);
            w.byte(b' ');
            w.astring(&cs.encode(v));
        };
        let d = |w: &mut Writer, k: &[u8], v: &Date| {
            w.raw(k);
            w.byte(b' ');
            v.write(w);
        };
        match self {
            SearchKey::All => w.raw(b"ALL"),
            SearchKey::Answered => w.raw(b"ANSWERED"),
            SearchKey::Bcc(v) => s(w, b"BCC", v),
            SearchKey::Before(v) => d(w, b"BEFORE", v),
            SearchKey::Body(v) => s(w, b"BODY", v),
            SearchKey::Cc(v) => s(w, b"CC", v),
            SearchKey::Deleted => w.raw(b"DELETED"),
            SearchKey::Draft => w.raw(b"DRAFT"),
            SearchKey::Flagged => w.raw(b"FLAGGED"),
            SearchKey::From(v) => s(w, b"FROM", v),
            SearchKey::Header(h, v) => {
                s(w, b"HEADER", h);
                w.byte(b' ');
                w.astring(&cs.encode(v));
            }
            SearchKey::Keyword(a) => {
                w.raw(b"KEYWORD ");
                w.raw(a.as_str().as_bytes())
            }
            SearchKey::Larger(n) => {
                w.raw(b"LARGER ");
                w.num(*n as u64)
            }
            SearchKey::New => w.raw(b"NEW"),
            SearchKey::Not(k) => {
                w.raw(b"NOT ");
                k.write(w, cs)
            }
            SearchKey::Old => w.raw(b"OLD"),
            SearchKey::On(v) => d(w, b"ON", v),
            SearchKey::Or(a, b) => {
                w.raw(b"OR ");
                a.write(w, cs);
                w.byte(b' ');
                b.write(w, cs);
            }
            SearchKey::Recent => w.raw(b"RECENT"),
            SearchKey::Seen => w.raw(b"SEEN"),
            SearchKey::SentBefore(v) => d(w, b"SENTBEFORE", v),
            SearchKey::SentOn(v) => d(w, b"SENTON", v),
            SearchKey::SentSince(v) => d(w, b"SENTSINCE", v),
            SearchKey::Since(v) => d(w, b"SINCE", v),
            SearchKey::Smaller(n) => {
                w.raw(b"SMALLER ");
                w.num(*n as u64)
            }
            SearchKey::Subject(v) => s(w, b"SUBJECT", v),
            SearchKey::Text(v) => s(w, b"TEXT", v),
            SearchKey::To(v) => s(w, b"TO", v),
            SearchKey::Uid(set) => {
                w.raw(b"UID ");
                set.write(w)
            }
            SearchKey::Unanswered => w.raw(b"UNANSWERED"),
            SearchKey::Undeleted => w.raw(b"UNDELETED"),
            SearchKey::Undraft => w.raw(b"UNDRAFT"),
            SearchKey::Unflagged => w.raw(b"UNFLAGGED"),
            SearchKey::Unkeyword(a) => {
                w.raw(b"UNKEYWORD ");
                w.raw(a.as_str().as_bytes())
            }
            SearchKey::Unseen => w.raw(b"UNSEEN"),
            SearchKey::SequenceSet(set) => set.write(w),
            SearchKey::And(v) => {
                w.byte(b'(');
                Self::write_list(w, v, cs);
                w.byte(b')');
            }
            SearchKey::ModSeq(n) => {
                w.raw(b"MODSEQ ");
                w.num(*n)
            }
        }
    }

    fn write_list(w: &mut Writer, v: &[SearchKey], cs: Charset) {
        for (k, key) in v.iter().enumerate() {
            if k > 0 {
                w.byte(b' ');
            }
            key.write(w, cs);
        }
    }

    /// Writes a top-level criteria list (an `And` is written without its parentheses),
    /// strings encoded in `cs`.
    pub(crate) fn write_criteria(&self, w: &mut Writer, cs: Charset) {
        match self {
            SearchKey::And(v) if !v.is_empty() => Self::write_list(w, v, cs),
            other => other.write(w, cs),
        }
    }

    /// Whether any key needs the message content (header, body or text search, sent date).
    pub fn needs_content(&self) -> bool {
        match self {
            SearchKey::Bcc(_)
            | SearchKey::Body(_)
            | SearchKey::Cc(_)
            | SearchKey::From(_)
            | SearchKey::Header(..)
            | SearchKey::SentBefore(_)
            | SearchKey::SentOn(_)
            | SearchKey::SentSince(_)
            | SearchKey::Subject(_)
            | SearchKey::Text(_)
            | SearchKey::To(_) => true,
            SearchKey::Not(k) => k.needs_content(),
            SearchKey::Or(a, b) => a.needs_content() || b.needs_content(),
            SearchKey::And(v) => v.iter().any(SearchKey::needs_content),
            _ => false,
        }
    }

    /// Evaluates the key against one message. Message-number sets must have been translated
    /// to UID sets (the server does this before handing the key to the host); an untranslated
    /// `SequenceSet` key matches nothing.
    pub fn matches(&self, m: &SearchMessage<'_>) -> bool {
        let mut view = None;
        self.eval(m, &mut view)
    }

    fn eval<'a>(&self, m: &SearchMessage<'a>, view: &mut Option<MessageView<'a>>) -> bool {
        let has = |f: Flag| m.flags.contains(&f);
        let content = |view: &mut Option<MessageView<'a>>| -> bool {
            if view.is_none()
                && let Some(raw) = m.raw
            {
                *view = Some(MessageView::parse(raw));
            }
            view.is_some()
        };
        match self {
            SearchKey::All => true,
            SearchKey::Answered => has(Flag::Answered),
            SearchKey::Deleted => has(Flag::Deleted),
            SearchKey::Draft => has(Flag::Draft),
            SearchKey::Flagged => has(Flag::Flagged),
            SearchKey::Seen => has(Flag::Seen),
            SearchKey::Unanswered => !has(Flag::Answered),
            SearchKey::Undeleted => !has(Flag::Deleted),
            SearchKey::Undraft => !has(Flag::Draft),
            SearchKey::Unflagged => !has(Flag::Flagged),
            SearchKey::Unseen => !has(Flag::Seen),
            SearchKey::Keyword(a) => has(Flag::Keyword(a.clone())),
            SearchKey::Unkeyword(a) => !has(Flag::Keyword(a.clone())),
            SearchKey::New => m.recent && !has(Flag::Seen),
            SearchKey::Old => !m.recent,
            SearchKey::Recent => m.recent,
            SearchKey::Larger(n) => m.size > *n as u64,
            SearchKey::Smaller(n) => m.size < *n as u64,
            SearchKey::Before(d) => m.internal_date < *d,
            SearchKey::On(d) => m.internal_date == *d,
            SearchKey::Since(d) => m.internal_date >= *d,
            SearchKey::ModSeq(n) => m.modseq >= *n,
            SearchKey::Uid(SequenceSet::Ranges(r)) => r.contains(m.uid, m.max_uid),
            SearchKey::Uid(SequenceSet::Saved) | SearchKey::SequenceSet(_) => false,
            SearchKey::Not(k) => !k.eval(m, view),
            SearchKey::Or(a, b) => a.eval(m, view) || b.eval(m, view),
            SearchKey::And(v) => v.iter().all(|k| k.eval(m, view)),
            SearchKey::SentBefore(d) | SearchKey::SentOn(d) | SearchKey::SentSince(d) => {
                if !content(view) {
                    return false;
                }
                let sent = view.as_ref().and_then(|v| v.sent_date());
                let Some((y, mo, da)) = sent else {
                    return false;
                };
                let Some(sd) = u16::try_from(y).ok().and_then(|y| Date::new(y, mo, da)) else {
                    return false;
                };
                match self {
                    SearchKey::SentBefore(_) => sd < *d,
                    SearchKey::SentOn(_) => sd == *d,
                    _ => sd >= *d,
                }
            }
            SearchKey::Bcc(s) => {
                content(view) && view.as_ref().is_some_and(|v| v.header_contains("Bcc", s))
            }
            SearchKey::Cc(s) => {
                content(view) && view.as_ref().is_some_and(|v| v.header_contains("Cc", s))
            }
            SearchKey::From(s) => {
                content(view) && view.as_ref().is_some_and(|v| v.header_contains("From", s))
            }
            SearchKey::To(s) => {
                content(view) && view.as_ref().is_some_and(|v| v.header_contains("To", s))
            }
            SearchKey::Subject(s) => {
                content(view)
                    && view
                        .as_ref()
                        .is_some_and(|v| v.header_contains("Subject", s))
            }
            SearchKey::Header(h, s) => {
                content(view) && view.as_ref().is_some_and(|v| v.header_contains(h, s))
            }
            SearchKey::Body(s) => {
                content(view) && view.as_ref().is_some_and(|v| v.body_contains(s))
            }
            SearchKey::Text(s) => {
                content(view) && view.as_ref().is_some_and(|v| v.text_contains(s))
            }
        }
    }
}

/// What the evaluator needs to know about one message.
#[derive(Debug, Clone, Copy)]
pub struct SearchMessage<'a> {
    /// The message's UID.
    pub uid: u32,
    /// The largest UID in the mailbox (what `*` means in a UID set).
    pub max_uid: u32,
    /// Its flags.
    pub flags: &'a [Flag],
    /// Whether it is `\Recent` in this session (IMAP4rev1).
    pub recent: bool,
    /// The date part of its INTERNALDATE.
    pub internal_date: Date,
    /// RFC822.SIZE.
    pub size: u64,
    /// Its mod-sequence (CONDSTORE), 0 if not tracked.
    pub modseq: u64,
    /// The raw message, needed only for header/body/text/sent-date keys ([`SearchKey::needs_content`]).
    pub raw: Option<&'a [u8]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_nested() {
        let (r, k) = search_criteria(
            b"OR (SEEN FLAGGED) NOT 1:3 UID 5:* SINCE 1-Feb-1994",
            Charset::Utf8,
        )
        .unwrap();
        assert!(r.is_empty());
        let SearchKey::And(v) = k else { panic!() };
        assert_eq!(v.len(), 3);
        assert!(matches!(v[0], SearchKey::Or(..)));
    }

    #[test]
    fn depth_limited() {
        let deep = "NOT ".repeat(40) + "ALL";
        assert!(search_criteria(deep.as_bytes(), Charset::Utf8).is_err());
        let ok = "NOT ".repeat(20) + "ALL";
        assert!(search_criteria(ok.as_bytes(), Charset::Utf8).is_ok());
    }
}
