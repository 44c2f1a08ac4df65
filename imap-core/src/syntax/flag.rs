//! Message flags.

use super::atom::Atom;
use super::literal::{PResult, Writer, atom, fail, is_atom_char};

/// A flag a client may set or clear (system flag or keyword).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// A keyword such as `$Forwarded` or `$Junk`.
    Keyword(Atom),
    /// Another `\`-prefixed flag (without the backslash).
    Extension(Atom),
}

impl Flag {
    /// Parses a flag's text (`\Seen`, `$Junk`); `None` if it is not a valid flag (or `\Recent`).
    pub fn parse(s: &str) -> Option<Flag> {
        match flag(s.as_bytes()) {
            Ok((b"", f)) => Some(f),
            _ => None,
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            Flag::Answered => w.raw(b"\\Answered"),
            Flag::Flagged => w.raw(b"\\Flagged"),
            Flag::Deleted => w.raw(b"\\Deleted"),
            Flag::Seen => w.raw(b"\\Seen"),
            Flag::Draft => w.raw(b"\\Draft"),
            Flag::Keyword(k) => w.raw(k.as_str().as_bytes()),
            Flag::Extension(k) => {
                w.byte(b'\\');
                w.raw(k.as_str().as_bytes())
            }
        }
    }
}

/// A flag in a `FETCH FLAGS` response: also `\Recent` (IMAP4rev1 only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagFetch {
    /// A flag.
    Flag(Flag),
    /// `\Recent`.
    Recent,
}

/// A flag in `PERMANENTFLAGS`: also `\*` (new keywords may be created).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagPerm {
    /// A flag.
    Flag(Flag),
    /// `\*`.
    Wildcard,
}

/// `flag`: system flag, `\` extension, or keyword (never `\Recent`, never `\*`).
pub(crate) fn flag(i: &[u8]) -> PResult<'_, Flag> {
    if i.first() == Some(&b'\\') {
        let (r, a) = atom(&i[1..])?;
        let f = if a.eq_ignore_ascii_case(b"Answered") {
            Flag::Answered
        } else if a.eq_ignore_ascii_case(b"Flagged") {
            Flag::Flagged
        } else if a.eq_ignore_ascii_case(b"Deleted") {
            Flag::Deleted
        } else if a.eq_ignore_ascii_case(b"Seen") {
            Flag::Seen
        } else if a.eq_ignore_ascii_case(b"Draft") {
            Flag::Draft
        } else if a.eq_ignore_ascii_case(b"Recent") {
            return fail(i);
        } else {
            Flag::Extension(Atom::from_valid(a))
        };
        Ok((r, f))
    } else {
        let (r, a) = atom(i)?;
        Ok((r, Flag::Keyword(Atom::from_valid(a))))
    }
}

/// A flag that may also be `\Recent` (FETCH responses).
pub(crate) fn flag_fetch(i: &[u8]) -> PResult<'_, FlagFetch> {
    if i.len() >= 7
        && i[..7].eq_ignore_ascii_case(b"\\Recent")
        && !i.get(7).is_some_and(|&b| is_atom_char(b))
    {
        return Ok((&i[7..], FlagFetch::Recent));
    }
    flag(i).map(|(r, f)| (r, FlagFetch::Flag(f)))
}

/// A flag that may also be `\*` (PERMANENTFLAGS).
pub(crate) fn flag_perm(i: &[u8]) -> PResult<'_, FlagPerm> {
    if i.starts_with(b"\\*") {
        return Ok((&i[2..], FlagPerm::Wildcard));
    }
    flag(i).map(|(r, f)| (r, FlagPerm::Flag(f)))
}

/// `"(" [x *(SP x)] ")"`.
pub(crate) fn paren_list<'a, T>(
    i: &'a [u8],
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    if i.first() != Some(&b'(') {
        return fail(i);
    }
    let mut i = &i[1..];
    let mut out = Vec::new();
    if let Some(b')') = i.first() {
        return Ok((&i[1..], out));
    }
    loop {
        let (r, v) = item(i)?;
        out.push(v);
        match r.first() {
            Some(b' ') => i = &r[1..],
            Some(b')') => return Ok((&r[1..], out)),
            _ => return fail(r),
        }
    }
}

/// `flag-list`.
pub(crate) fn flag_list(i: &[u8]) -> PResult<'_, Vec<Flag>> {
    paren_list(i, flag)
}

pub(crate) fn write_list<T>(w: &mut Writer, items: &[T], mut f: impl FnMut(&mut Writer, &T)) {
    w.byte(b'(');
    for (k, it) in items.iter().enumerate() {
        if k > 0 {
            w.byte(b' ');
        }
        f(w, it);
    }
    w.byte(b')');
}

impl FlagFetch {
    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            FlagFetch::Flag(f) => f.write(w),
            FlagFetch::Recent => w.raw(b"\\Recent"),
        }
    }
}

impl FlagPerm {
    pub(crate) fn write(&self, w: &mut Writer) {
        match self {
            FlagPerm::Flag(f) => f.write(w),
            FlagPerm::Wildcard => w.raw(b"\\*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        assert_eq!(Flag::parse("\\seen"), Some(Flag::Seen));
        assert_eq!(
            Flag::parse("$Junk"),
            Some(Flag::Keyword(Atom::new("$Junk").unwrap()))
        );
        assert_eq!(Flag::parse("\\Recent"), None);
        assert_eq!(flag_list(b"(\\Seen $X)").unwrap().1.len(), 2);
        assert_eq!(flag_list(b"()").unwrap().1, vec![]);
        assert!(flag_list(b"(\\Seen )").is_err());
    }
}
