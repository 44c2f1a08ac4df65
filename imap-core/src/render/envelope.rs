//! ENVELOPE (RFC 9051 section 7.5.2), from the raw header section.
//!
//! Every field is taken from the header as it is (encoded words are not decoded; raw 8-bit
//! bytes go out as literals). Address lists are parsed leniently with RFC 5322 syntax, including
//! groups (`name: a@b, c@d;`), which become the IMAP group start / end markers. Sender and
//! Reply-To default to From when absent or empty.

use super::mime::{field, unfold};
use super::wire::{nstring, string};

/// Mailbox name used when an address has no local part (as Dovecot does).
const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
/// Host name used when an address has no domain: a NIL host would mean a group marker.
const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

/// Renders the ENVELOPE of a message whose header section is `header`.
pub(crate) fn render(header: &[u8], out: &mut Vec<u8>) {
    let text = |name: &str| field(header, name).map(unfold);
    out.push(b'(');
    nstring(out, text("date").as_deref());
    out.push(b' ');
    nstring(out, text("subject").as_deref());
    out.push(b' ');
    let from = addresses(header, "from");
    write_list(out, &from);
    for name in ["sender", "reply-to"] {
        out.push(b' ');
        let list = addresses(header, name);
        if list.is_empty() {
            write_list(out, &from);
        } else {
            write_list(out, &list);
        }
    }
    for name in ["to", "cc", "bcc"] {
        out.push(b' ');
        write_list(out, &addresses(header, name));
    }
    out.push(b' ');
    nstring(out, text("in-reply-to").as_deref());
    out.push(b' ');
    nstring(out, text("message-id").as_deref());
    out.push(b')');
}

/// One IMAP address structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A mailbox: name, source route, local part, domain.
    Mailbox {
        name: Option<Vec<u8>>,
        adl: Option<Vec<u8>>,
        mailbox: Vec<u8>,
        host: Vec<u8>,
    },
    /// Start of a group (its display name).
    GroupStart(Vec<u8>),
    /// End of a group.
    GroupEnd,
}

fn write_list(out: &mut Vec<u8>, items: &[Item]) {
    if items.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for item in items {
        out.push(b'(');
        match item {
            Item::Mailbox {
                name,
                adl,
                mailbox,
                host,
            } => {
                nstring(out, name.as_deref());
                out.push(b' ');
                nstring(out, adl.as_deref());
                out.push(b' ');
                string(out, mailbox);
                out.push(b' ');
                string(out, host);
            }
            Item::GroupStart(name) => {
                out.extend_from_slice(b"NIL NIL ");
                string(out, name);
                out.extend_from_slice(b" NIL");
            }
            Item::GroupEnd => out.extend_from_slice(b"NIL NIL NIL NIL"),
        }
        out.push(b')');
    }
    out.push(b')');
}

/// The addresses of the first header field with this name (empty if absent or empty).
pub(crate) fn addresses(header: &[u8], name: &str) -> Vec<Item> {
    match field(header, name) {
        Some(v) => parse_address_list(&unfold(v)),
        None => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Vec<u8>),
    Quoted(Vec<u8>),
    Comment(Vec<u8>),
    Special(u8),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    space_before: bool,
}

fn lex(s: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < s.len() {
        let b = s[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                i += 1;
                continue;
            }
            b'(' => {
                let mut depth = 0usize;
                let mut content = Vec::new();
                while i < s.len() {
                    let c = s[i];
                    i += 1;
                    match c {
                        b'\\' if i < s.len() => {
                            content.push(s[i]);
                            i += 1;
                        }
                        b'(' => {
                            if depth > 0 {
                                content.push(c);
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            content.push(c);
                        }
                        _ => content.push(c),
                    }
                }
                out.push(Token {
                    tok: Tok::Comment(content),
                    space_before: space,
                });
            }
            b'"' => {
                i += 1;
                let mut content = Vec::new();
                while i < s.len() {
                    let c = s[i];
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' if i < s.len() => {
                            content.push(s[i]);
                            i += 1;
                        }
                        _ => content.push(c),
                    }
                }
                out.push(Token {
                    tok: Tok::Quoted(content),
                    space_before: space,
                });
            }
            b'[' => {
                let start = i;
                while i < s.len() && s[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(s.len());
                out.push(Token {
                    tok: Tok::Word(s[start..i].to_vec()),
                    space_before: space,
                });
            }
            b')' | b'<' | b'>' | b']' | b':' | b';' | b'@' | b'\\' | b',' | b'.' => {
                out.push(Token {
                    tok: Tok::Special(b),
                    space_before: space,
                });
                i += 1;
            }
            _ => {
                let start = i;
                while i < s.len()
                    && !matches!(
                        s[i],
                        b' ' | b'\t'
                            | b'\r'
                            | b'\n'
                            | b'('
                            | b')'
                            | b'<'
                            | b'>'
                            | b'['
                            | b']'
                            | b':'
                            | b';'
                            | b'@'
                            | b'\\'
                            | b','
                            | b'.'
                            | b'"'
                    )
                {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Word(s[start..i].to_vec()),
                    space_before: space,
                });
            }
        }
        space = false;
    }
    out
}

/// Parses an (unfolded) address-list or group-list leniently.
pub(crate) fn parse_address_list(value: &[u8]) -> Vec<Item> {
    let tokens = lex(value);
    let mut items = Vec::new();
    let mut cur: Vec<Token> = Vec::new();
    let mut in_angle = false;
    let mut in_group = false;
    for t in tokens {
        if in_angle {
            if t.tok == Tok::Special(b'>') {
                in_angle = false;
            }
            cur.push(t);
            continue;
        }
        match t.tok {
            Tok::Special(b'<') => {
                in_angle = true;
                cur.push(t);
            }
            Tok::Special(b',') => flush(&mut cur, &mut items),
            Tok::Special(b':') if !in_group => {
                let name = phrase(&cur);
                cur.clear();
                items.push(Item::GroupStart(name));
                in_group = true;
            }
            Tok::Special(b';') if in_group => {
                flush(&mut cur, &mut items);
                items.push(Item::GroupEnd);
                in_group = false;
            }
            _ => cur.push(t),
        }
    }
    flush(&mut cur, &mut items);
    if in_group {
        items.push(Item::GroupEnd);
    }
    items
}

/// The display name of a phrase: words and quoted strings, single spaces between words that
/// were separated by whitespace, comments dropped.
fn phrase(tokens: &[Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        let bytes: &[u8] = match &t.tok {
            Tok::Word(w) | Tok::Quoted(w) => w,
            Tok::Special(b) => std::slice::from_ref(b),
            Tok::Comment(_) => continue,
        };
        if t.space_before && !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(bytes);
    }
    out
}

/// Concatenation without spaces (local part, domain, route).
fn joined(tokens: &[Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        match &t.tok {
            Tok::Word(w) | Tok::Quoted(w) => out.extend_from_slice(w),
            Tok::Special(b) => out.push(*b),
            Tok::Comment(_) => {}
        }
    }
    out
}

fn flush(cur: &mut Vec<Token>, items: &mut Vec<Item>) {
    let tokens = std::mem::take(cur);
    if tokens.iter().all(|t| matches!(t.tok, Tok::Comment(_))) {
        return;
    }
    let comment_name = || {
        tokens.iter().rev().find_map(|t| match &t.tok {
            Tok::Comment(c) if !c.iter().all(u8::is_ascii_whitespace) => Some(c.clone()),
            _ => None,
        })
    };
    let (name, spec): (Option<Vec<u8>>, &[Token]) =
        match tokens.iter().position(|t| t.tok == Tok::Special(b'<')) {
            Some(lt) => {
                let end = tokens[lt + 1..]
                    .iter()
                    .position(|t| t.tok == Tok::Special(b'>'))
                    .map_or(tokens.len(), |p| lt + 1 + p);
                let name = phrase(&tokens[..lt]);
                let name = if name.is_empty() {
                    comment_name()
                } else {
                    Some(name)
                };
                (name, &tokens[lt + 1..end])
            }
            None => (comment_name(), &tokens[..]),
        };
    // Source route: "@a,@b:" before the addr-spec (commas are inside the angle brackets).
    let (adl, spec) = match spec.iter().position(|t| t.tok == Tok::Special(b':')) {
        Some(colon) if spec.first().map(|t| &t.tok) == Some(&Tok::Special(b'@')) => {
            (Some(joined(&spec[..colon])), &spec[colon + 1..])
        }
        _ => (None, spec),
    };
    let (local, domain) = match spec.iter().rposition(|t| t.tok == Tok::Special(b'@')) {
        Some(at) => (joined(&spec[..at]), joined(&spec[at + 1..])),
        None => (joined(spec), Vec::new()),
    };
    let name = name.filter(|n| !n.is_empty());
    if local.is_empty() && domain.is_empty() && name.is_none() {
        return;
    }
    items.push(Item::Mailbox {
        name,
        adl,
        mailbox: if local.is_empty() {
            MISSING_MAILBOX.to_vec()
        } else {
            local
        },
        host: if domain.is_empty() {
            MISSING_DOMAIN.to_vec()
        } else {
            domain
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: Option<&str>, mailbox: &str, host: &str) -> Item {
        Item::Mailbox {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: mailbox.as_bytes().to_vec(),
            host: host.as_bytes().to_vec(),
        }
    }

    #[test]
    fn simple_and_named() {
        assert_eq!(
            parse_address_list(b"a@b.c, \"Li, Tong\" <li@x.y>, =?GB2312?B?zfXAz8qm?= <w@s.t>"),
            vec![
                mb(None, "a", "b.c"),
                mb(Some("Li, Tong"), "li", "x.y"),
                mb(Some("=?GB2312?B?zfXAz8qm?="), "w", "s.t"),
            ]
        );
    }

    #[test]
    fn groups() {
        assert_eq!(
            parse_address_list(b"undisclosed-recipients:;"),
            vec![
                Item::GroupStart(b"undisclosed-recipients".to_vec()),
                Item::GroupEnd
            ]
        );
        assert_eq!(
            parse_address_list(b"Team: a@b, C <c@d>; e@f"),
            vec![
                Item::GroupStart(b"Team".to_vec()),
                mb(None, "a", "b"),
                mb(Some("C"), "c", "d"),
                Item::GroupEnd,
                mb(None, "e", "f"),
            ]
        );
    }

    #[test]
    fn comments_dots_routes_and_junk() {
        assert_eq!(
            parse_address_list(b"john.q.public@example.com (John Q. Public)"),
            vec![mb(Some("John Q. Public"), "john.q.public", "example.com")]
        );
        assert_eq!(
            parse_address_list(b"John Q. Public <@r1,@r2:jqp@example.com>"),
            vec![Item::Mailbox {
                name: Some(b"John Q. Public".to_vec()),
                adl: Some(b"@r1,@r2".to_vec()),
                mailbox: b"jqp".to_vec(),
                host: b"example.com".to_vec(),
            }]
        );
        assert_eq!(
            parse_address_list(b"root, , <>"),
            vec![mb(None, "root", "MISSING_DOMAIN")]
        );
        assert!(parse_address_list(b"").is_empty());
        assert!(parse_address_list(b" (just a comment) ").is_empty());
    }
}
