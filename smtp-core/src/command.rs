//! SMTP commands and their parser (RFC 5321 grammar with the ESMTP extensions we offer).
//!
//! The framer hands one line (without CRLF) to [`parse_command`]; nom parses the grammar. The
//! result borrows from the line, so parsing allocates nothing.

use std::borrow::Cow;

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_while1},
    combinator::{opt, recognize},
    multi::many0_count,
    sequence::{delimited, preceded},
};

use crate::params::{Body, MailParams, Notify, Orcpt, RcptParams, Ret, is_xtext};

/// Longest path (`<...>` contents) accepted, RFC 5321 section 4.5.3.1.3.
pub const MAX_PATH_LEN: usize = 256;

/// The sender of a message: the null path `<>` (bounces) or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// `<>`.
    Null,
    /// `<local@domain>` (a source route, if any, is dropped).
    Address(Cow<'a, str>),
}

impl ReversePath<'_> {
    /// Owned copy.
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Address(a) => ReversePath::Address(Cow::Owned(a.into_owned())),
        }
    }

    /// The address, or `""` for the null path.
    pub fn as_str(&self) -> &str {
        match self {
            ReversePath::Null => "",
            ReversePath::Address(a) => a,
        }
    }
}

/// One SMTP command, borrowing from the line it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `EHLO domain`.
    Ehlo(&'a str),
    /// `HELO domain`.
    Helo(&'a str),
    /// `MAIL FROM:<path> params`.
    Mail {
        /// Reverse path.
        from: ReversePath<'a>,
        /// ESMTP parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:<path> params`. `Postmaster` without domain is returned as `Postmaster`.
    Rcpt {
        /// Forward path (address without angle brackets).
        to: Cow<'a, str>,
        /// ESMTP parameters.
        params: RcptParams<'a>,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Octets that follow the command line.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy,
    /// `EXPN string`.
    Expn,
    /// `HELP [string]`.
    Help,
    /// `STARTTLS`.
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// Mechanism name as sent (compare case-insensitively).
        mechanism: &'a str,
        /// Initial response: base64 text, or `=` for an empty response.
        initial: Option<&'a str>,
    },
}

/// Why a command line was refused. Each maps to one reply (see `reply_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a command we know (500 5.5.1).
    #[error("command unrecognized")]
    Unknown,
    /// Known command, bad arguments (501 5.5.4).
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    /// Bad sender address (501 5.1.7).
    #[error("bad sender address syntax")]
    BadSender,
    /// Bad recipient address (501 5.1.3).
    #[error("bad recipient address syntax")]
    BadRecipient,
    /// An ESMTP parameter we do not support (555 5.5.4).
    #[error("unsupported parameter")]
    UnknownParameter,
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// Character classes as lookup tables (one load per byte instead of a chain of compares).
const fn table(kind: u8) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match kind {
            // atext (RFC 5322) plus UTF-8 (RFC 6531)
            0 => {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'!' | b'#'
                            | b'$'
                            | b'%'
                            | b'&'
                            | b'\''
                            | b'*'
                            | b'+'
                            | b'-'
                            | b'/'
                            | b'='
                            | b'?'
                            | b'^'
                            | b'_'
                            | b'`'
                            | b'{'
                            | b'|'
                            | b'}'
                            | b'~'
                    )
                    || b >= 0x80
            }
            // qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF-8
            1 => b == 32 || b == 33 || (b >= 35 && b <= 91) || (b >= 93 && b <= 126) || b >= 0x80,
            // Let-dig / Ldh-str, plus UTF-8 (U-labels)
            2 => b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80,
            // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8
            3 => (b >= 33 && b <= 60) || (b >= 62 && b <= 126) || b >= 0x80,
            // base64 alphabet and padding
            4 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=',
            // esmtp-keyword characters (after the first), ORCPT address types
            5 => b.is_ascii_alphanumeric() || b == b'-',
            _ => false,
        };
        i += 1;
    }
    t
}

static ATEXT: [bool; 256] = table(0);
static QTEXT: [bool; 256] = table(1);
static LDH: [bool; 256] = table(2);
static VALUE: [bool; 256] = table(3);
static BASE64: [bool; 256] = table(4);
static KEYWORD: [bool; 256] = table(5);

/// Decimal digits to u64, `None` on overflow or a non-digit.
fn parse_u64(d: &[u8]) -> Option<u64> {
    if d.is_empty() {
        return None;
    }
    d.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

fn is_atext(b: u8) -> bool {
    ATEXT[usize::from(b)]
}

fn is_qtext(b: u8) -> bool {
    QTEXT[usize::from(b)]
}

fn is_ldh(b: u8) -> bool {
    LDH[usize::from(b)]
}

fn dot_string(i: &[u8]) -> Res<'_, &[u8]> {
    recognize((
        take_while1(is_atext),
        many0_count(preceded(tag(&b"."[..]), take_while1(is_atext))),
    ))
    .parse(i)
}

fn quoted_pair(i: &[u8]) -> Res<'_, &[u8]> {
    match i {
        [b'\\', c, ..] if (32..=126).contains(c) => Ok((&i[2..], &i[..2])),
        _ => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Escaped,
        ))),
    }
}

fn quoted_string(i: &[u8]) -> Res<'_, &[u8]> {
    recognize(delimited(
        tag(&b"\""[..]),
        many0_count(nom::branch::alt((take_while1(is_qtext), quoted_pair))),
        tag(&b"\""[..]),
    ))
    .parse(i)
}

fn sub_domain(i: &[u8]) -> Res<'_, &[u8]> {
    let (rest, label) = take_while1(is_ldh).parse(i)?;
    if label[0] == b'-' || label[label.len() - 1] == b'-' {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((rest, label))
}

fn domain_name(i: &[u8]) -> Res<'_, &[u8]> {
    recognize((
        sub_domain,
        many0_count(preceded(tag(&b"."[..]), sub_domain)),
    ))
    .parse(i)
}

fn address_literal(i: &[u8]) -> Res<'_, &[u8]> {
    // "[" 1*dcontent "]", dcontent = %d33-90 / %d94-126 (covers IPv4, IPv6: and general forms)
    recognize(delimited(
        tag(&b"["[..]),
        take_while1(|b: u8| (33..=90).contains(&b) || (94..=126).contains(&b)),
        tag(&b"]"[..]),
    ))
    .parse(i)
}

fn domain(i: &[u8]) -> Res<'_, &[u8]> {
    nom::branch::alt((address_literal, domain_name)).parse(i)
}

fn mailbox(i: &[u8]) -> Res<'_, &[u8]> {
    recognize((
        nom::branch::alt((dot_string, quoted_string)),
        tag(&b"@"[..]),
        domain,
    ))
    .parse(i)
}

/// Source route `@a,@b:` (parsed and dropped, RFC 5321 section 4.1.2).
fn adl(i: &[u8]) -> Res<'_, &[u8]> {
    recognize((
        tag(&b"@"[..]),
        domain,
        many0_count((tag(&b",@"[..]), domain)),
        tag(&b":"[..]),
    ))
    .parse(i)
}

fn path(i: &[u8]) -> Res<'_, &[u8]> {
    delimited(tag(&b"<"[..]), preceded(opt(adl), mailbox), tag(&b">"[..])).parse(i)
}

fn to_str(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// UTF-8 without control characters (C0, DEL, and the C1 range U+0080..U+009F).
fn to_clean_str(b: &[u8]) -> Option<&str> {
    let s = to_str(b)?;
    if b.is_ascii() || !s.chars().any(char::is_control) {
        Some(s)
    } else {
        None
    }
}

/// Splits `keyword[=value]` parameters separated by spaces: `SP+ keyword ["=" value]` with
/// keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") and value = 1*(%d33-60 / %d62-126 / UTF-8).
/// A plain loop: this runs for every parameter of every MAIL and RCPT.
/// A parameter: keyword and optional value.
type Param<'a> = (&'a [u8], Option<&'a [u8]>);

fn next_param(i: &[u8]) -> Option<(&[u8], Param<'_>)> {
    let spaces = i.iter().take_while(|&&b| b == b' ').count();
    if spaces == 0 {
        return None;
    }
    let i = &i[spaces..];
    if !i.first().is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let kw_len = i
        .iter()
        .position(|&b| !KEYWORD[usize::from(b)])
        .unwrap_or(i.len());
    let (kw, rest) = i.split_at(kw_len);
    match rest.split_first() {
        Some((b'=', v)) => {
            let n = v
                .iter()
                .position(|&b| !VALUE[usize::from(b)])
                .unwrap_or(v.len());
            if n == 0 {
                return None;
            }
            Some((&v[n..], (kw, Some(&v[..n]))))
        }
        _ => Some((rest, (kw, None))),
    }
}

fn trailing_ws(i: &[u8]) -> bool {
    i.iter().all(|&b| b == b' ' || b == b'\t')
}

fn mail_params(mut i: &[u8]) -> Result<MailParams<'_>, ParseError> {
    let mut p = MailParams::default();
    while !trailing_ws(i) {
        let (rest, (kw, val)) = next_param(i).ok_or(ParseError::Syntax("bad parameter"))?;
        i = rest;
        let dup = || ParseError::Syntax("duplicate parameter");
        if kw.eq_ignore_ascii_case(b"SIZE") {
            let v = val.ok_or(ParseError::Syntax("SIZE needs a value"))?;
            if p.size.is_some() {
                return Err(dup());
            }
            p.size = Some(parse_u64(v).ok_or(ParseError::Syntax("bad SIZE value"))?);
        } else if kw.eq_ignore_ascii_case(b"BODY") {
            let v = val.ok_or(ParseError::Syntax("BODY needs a value"))?;
            if p.body.is_some() {
                return Err(dup());
            }
            p.body = Some(if v.eq_ignore_ascii_case(b"7BIT") {
                Body::SevenBit
            } else if v.eq_ignore_ascii_case(b"8BITMIME") {
                Body::EightBitMime
            } else if v.eq_ignore_ascii_case(b"BINARYMIME") {
                Body::BinaryMime
            } else {
                return Err(ParseError::Syntax("bad BODY value"));
            });
        } else if kw.eq_ignore_ascii_case(b"SMTPUTF8") {
            if val.is_some() {
                return Err(ParseError::Syntax("SMTPUTF8 takes no value"));
            }
            if p.smtputf8 {
                return Err(dup());
            }
            p.smtputf8 = true;
        } else if kw.eq_ignore_ascii_case(b"RET") {
            let v = val.ok_or(ParseError::Syntax("RET needs a value"))?;
            if p.ret.is_some() {
                return Err(dup());
            }
            p.ret = Some(if v.eq_ignore_ascii_case(b"FULL") {
                Ret::Full
            } else if v.eq_ignore_ascii_case(b"HDRS") {
                Ret::Headers
            } else {
                return Err(ParseError::Syntax("bad RET value"));
            });
        } else if kw.eq_ignore_ascii_case(b"ENVID") {
            let v = val.ok_or(ParseError::Syntax("ENVID needs a value"))?;
            if p.envid.is_some() {
                return Err(dup());
            }
            if v.len() > 100 || !is_xtext(v) {
                return Err(ParseError::Syntax("bad ENVID value"));
            }
            p.envid = to_str(v).map(Cow::Borrowed);
        } else if kw.eq_ignore_ascii_case(b"AUTH") {
            let v = val.ok_or(ParseError::Syntax("AUTH needs a value"))?;
            if p.auth.is_some() {
                return Err(dup());
            }
            if v != b"<>" && !is_xtext(v) {
                return Err(ParseError::Syntax("bad AUTH value"));
            }
            p.auth = to_str(v).map(Cow::Borrowed);
        } else {
            return Err(ParseError::UnknownParameter);
        }
    }
    Ok(p)
}

fn rcpt_params(mut i: &[u8]) -> Result<RcptParams<'_>, ParseError> {
    let mut p = RcptParams::default();
    while !trailing_ws(i) {
        let (rest, (kw, val)) = next_param(i).ok_or(ParseError::Syntax("bad parameter"))?;
        i = rest;
        if kw.eq_ignore_ascii_case(b"NOTIFY") {
            let v = val.ok_or(ParseError::Syntax("NOTIFY needs a value"))?;
            if p.notify.is_some() {
                return Err(ParseError::Syntax("duplicate parameter"));
            }
            let bad = ParseError::Syntax("bad NOTIFY value");
            let mut n = Notify::NEVER;
            if !v.eq_ignore_ascii_case(b"NEVER") {
                for item in v.split(|&b| b == b',') {
                    let flag = if item.eq_ignore_ascii_case(b"SUCCESS") {
                        &mut n.success
                    } else if item.eq_ignore_ascii_case(b"FAILURE") {
                        &mut n.failure
                    } else if item.eq_ignore_ascii_case(b"DELAY") {
                        &mut n.delay
                    } else {
                        return Err(bad);
                    };
                    if *flag {
                        return Err(bad);
                    }
                    *flag = true;
                }
            }
            p.notify = Some(n);
        } else if kw.eq_ignore_ascii_case(b"ORCPT") {
            let v = val.ok_or(ParseError::Syntax("ORCPT needs a value"))?;
            if p.orcpt.is_some() {
                return Err(ParseError::Syntax("duplicate parameter"));
            }
            let bad = ParseError::Syntax("bad ORCPT value");
            let semi = memchr::memchr(b';', v).ok_or(bad)?;
            let (t, a) = (&v[..semi], &v[semi + 1..]);
            if t.is_empty()
                || !t.iter().all(|&b| KEYWORD[usize::from(b)])
                || a.is_empty()
                || a.len() > 500
                || !is_xtext(a)
            {
                return Err(bad);
            }
            // Both parts are ASCII (checked above): one UTF-8 check, split at the ';'.
            let (t, a) = to_str(v).ok_or(bad)?.split_at(semi);
            p.orcpt = Some(Orcpt {
                addr_type: Cow::Borrowed(t),
                addr: Cow::Borrowed(&a[1..]),
            });
        } else {
            return Err(ParseError::UnknownParameter);
        }
    }
    Ok(p)
}

/// Strips `FROM:` / `TO:` (case-insensitive) and optional spaces after the colon (a common
/// client quirk, accepted like Postfix does).
fn strip_keyword<'a>(i: &'a [u8], kw: &[u8]) -> Option<&'a [u8]> {
    if i.len() >= kw.len() && i[..kw.len()].eq_ignore_ascii_case(kw) {
        let rest = &i[kw.len()..];
        let n = rest.iter().take_while(|&&b| b == b' ').count();
        Some(&rest[n..])
    } else {
        None
    }
}

fn parse_mail(args: &[u8]) -> Result<Command<'_>, ParseError> {
    let rest =
        strip_keyword(args, b"FROM:").ok_or(ParseError::Syntax("expected FROM:<address>"))?;
    let (rest, from) = if let Some(r) = rest.strip_prefix(b"<>") {
        (r, ReversePath::Null)
    } else {
        let (r, m) = path(rest).map_err(|_| ParseError::BadSender)?;
        if m.len() > MAX_PATH_LEN {
            return Err(ParseError::BadSender);
        }
        (
            r,
            ReversePath::Address(Cow::Borrowed(to_clean_str(m).ok_or(ParseError::BadSender)?)),
        )
    };
    if !rest.is_empty() && rest[0] != b' ' && rest[0] != b'\t' {
        return Err(ParseError::BadSender);
    }
    Ok(Command::Mail {
        from,
        params: mail_params(rest)?,
    })
}

fn parse_rcpt(args: &[u8]) -> Result<Command<'_>, ParseError> {
    let rest = strip_keyword(args, b"TO:").ok_or(ParseError::Syntax("expected TO:<address>"))?;
    let (rest, to) = if rest.len() >= 12 && rest[..12].eq_ignore_ascii_case(b"<postmaster>") {
        (&rest[12..], &rest[1..11])
    } else {
        let (r, m) = path(rest).map_err(|_| ParseError::BadRecipient)?;
        if m.len() > MAX_PATH_LEN {
            return Err(ParseError::BadRecipient);
        }
        (r, m)
    };
    if !rest.is_empty() && rest[0] != b' ' && rest[0] != b'\t' {
        return Err(ParseError::BadRecipient);
    }
    Ok(Command::Rcpt {
        to: Cow::Borrowed(to_clean_str(to).ok_or(ParseError::BadRecipient)?),
        params: rcpt_params(rest)?,
    })
}

fn parse_domain_arg(args: &[u8]) -> Result<&str, ParseError> {
    let end = args
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(args.len());
    let (name, rest) = args.split_at(end);
    if name.is_empty() {
        return Err(ParseError::Syntax("domain name required"));
    }
    if !trailing_ws(rest) || name.iter().any(|&b| b < 0x21 || b == 0x7f) {
        return Err(ParseError::Syntax("bad domain name"));
    }
    to_clean_str(name).ok_or(ParseError::Syntax("bad domain name"))
}

fn parse_bdat(args: &[u8]) -> Result<Command<'_>, ParseError> {
    let bad = ParseError::Syntax("expected BDAT size [LAST]");
    let end = args.iter().position(|&b| b == b' ').unwrap_or(args.len());
    let (num, rest) = args.split_at(end);
    let size = parse_u64(num).ok_or(bad)?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let end = rest
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(rest.len());
    let (word, tail) = rest.split_at(end);
    if !trailing_ws(tail) {
        return Err(bad);
    }
    let last = if word.is_empty() {
        false
    } else if word.eq_ignore_ascii_case(b"LAST") {
        true
    } else {
        return Err(bad);
    };
    Ok(Command::Bdat { size, last })
}

fn parse_auth(args: &[u8]) -> Result<Command<'_>, ParseError> {
    let bad = ParseError::Syntax("expected AUTH mechanism [initial-response]");
    let end = args.iter().position(|&b| b == b' ').unwrap_or(args.len());
    let (mech, rest) = args.split_at(end);
    if mech.is_empty()
        || mech.len() > 20
        || !mech
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    {
        return Err(bad);
    }
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    // One pass: base64 (or "="), then only trailing blanks.
    let end = rest
        .iter()
        .position(|&b| !BASE64[usize::from(b)])
        .unwrap_or(rest.len());
    let (ir, tail) = rest.split_at(end);
    if !trailing_ws(tail) {
        return Err(bad);
    }
    let initial = if ir.is_empty() {
        None
    } else {
        Some(to_str(ir).ok_or(bad)?)
    };
    Ok(Command::Auth {
        mechanism: to_str(mech).ok_or(bad)?,
        initial,
    })
}

fn no_args<'a>(args: &[u8], cmd: Command<'a>) -> Result<Command<'a>, ParseError> {
    if trailing_ws(args) {
        Ok(cmd)
    } else {
        Err(ParseError::Syntax("no arguments allowed"))
    }
}

const fn verb_key(v: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    let mut i = 0;
    while i < v.len() {
        k[i] = v[i];
        i += 1;
    }
    u64::from_le_bytes(k)
}

const V_EHLO: u64 = verb_key(b"EHLO");
const V_HELO: u64 = verb_key(b"HELO");
const V_MAIL: u64 = verb_key(b"MAIL");
const V_RCPT: u64 = verb_key(b"RCPT");
const V_DATA: u64 = verb_key(b"DATA");
const V_BDAT: u64 = verb_key(b"BDAT");
const V_RSET: u64 = verb_key(b"RSET");
const V_NOOP: u64 = verb_key(b"NOOP");
const V_QUIT: u64 = verb_key(b"QUIT");
const V_VRFY: u64 = verb_key(b"VRFY");
const V_EXPN: u64 = verb_key(b"EXPN");
const V_HELP: u64 = verb_key(b"HELP");
const V_STARTTLS: u64 = verb_key(b"STARTTLS");
const V_AUTH: u64 = verb_key(b"AUTH");

/// Parses one command line (without the CRLF).
///
/// Hand-written fast paths take the common shapes (`MAIL FROM:<local@domain>` and
/// `RCPT TO:<local@domain>` with plain ASCII addresses, with or without parameters, the
/// bare `DATA`, `RSET`, `QUIT`, `NOOP`, and `EHLO`, `HELO`, `AUTH`, `BDAT` with arguments); everything else, and anything a fast path is not sure
/// about, goes to [`parse_reference`]. Both give the same result for every line (proptest and
/// the `smtp_command` fuzz target check it).
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, ParseError> {
    match fast_path(line) {
        Some(r) => r,
        None => parse_reference(line),
    }
}

/// ASCII atext, `.` and `@`: the bytes of a plain address.
static PLAIN_ADDR: [bool; 256] = {
    let mut t = table(0);
    let mut i = 0x80;
    while i < 256 {
        t[i] = false;
        i += 1;
    }
    t[b'.' as usize] = true;
    t[b'@' as usize] = true;
    t
};

/// The first four bytes, lower-cased for letters (exact for keywords made of letters only:
/// `b | 0x20` equals a lower-case letter only for that letter and its upper case).
#[inline]
fn word4(line: &[u8]) -> u32 {
    u32::from_le_bytes([line[0], line[1], line[2], line[3]]) | 0x2020_2020
}

const fn lower4(k: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*k) | 0x2020_2020
}

/// `<local@domain>` at the start of `i` with a plain ASCII dot-atom local part and an LDH
/// domain: returns (address, rest after `>`). `None` for anything else (the grammar decides).
#[inline]
fn plain_path(i: &[u8]) -> Option<(&str, &[u8])> {
    let body = i.strip_prefix(b"<")?;
    let n = body.iter().position(|&b| !PLAIN_ADDR[usize::from(b)])?;
    if body[n] != b'>' || n > MAX_PATH_LEN {
        return None;
    }
    let addr = &body[..n];
    let at = memchr::memchr(b'@', addr)?;
    let (local, domain) = (&addr[..at], &addr[at + 1..]);
    if local.is_empty()
        || local[0] == b'.'
        || local[local.len() - 1] == b'.'
        || memchr::memmem::find(local, b"..").is_some()
    {
        return None;
    }
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty()
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
            || !label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
    }
    let rest = &body[n + 1..];
    if !rest.is_empty() && rest[0] != b' ' && rest[0] != b'\t' {
        return None;
    }
    Some((std::str::from_utf8(addr).ok()?, rest))
}

/// The fast paths of [`parse_command`]; `None` hands the line to [`parse_reference`].
#[inline]
fn fast_path(line: &[u8]) -> Option<Result<Command<'_>, ParseError>> {
    const MAIL: u32 = lower4(b"MAIL");
    const RCPT: u32 = lower4(b"RCPT");
    const DATA: u32 = lower4(b"DATA");
    const RSET: u32 = lower4(b"RSET");
    const QUIT: u32 = lower4(b"QUIT");
    const NOOP: u32 = lower4(b"NOOP");
    const EHLO: u32 = lower4(b"EHLO");
    const HELO: u32 = lower4(b"HELO");
    const AUTH: u32 = lower4(b"AUTH");
    const BDAT: u32 = lower4(b"BDAT");
    if line.len() < 4 {
        return None;
    }
    let w = word4(line);
    if line.len() == 4 {
        return match w {
            DATA => Some(Ok(Command::Data)),
            RSET => Some(Ok(Command::Rset)),
            QUIT => Some(Ok(Command::Quit)),
            NOOP => Some(Ok(Command::Noop)),
            _ => None,
        };
    }
    // Verbs whose arguments the grammar path hands to the same functions: skip its verb split.
    if line[4] == b' ' {
        match w {
            EHLO => return Some(parse_domain_arg(&line[5..]).map(Command::Ehlo)),
            HELO => return Some(parse_domain_arg(&line[5..]).map(Command::Helo)),
            AUTH => return Some(parse_auth(&line[5..])),
            BDAT => return Some(parse_bdat(&line[5..])),
            _ => {}
        }
    }
    if w == MAIL && line.len() > 11 && line[4..10].eq_ignore_ascii_case(b" FROM:") {
        let (addr, rest) = plain_path(&line[10..])?;
        return Some(mail_params(rest).map(|params| Command::Mail {
            from: ReversePath::Address(Cow::Borrowed(addr)),
            params,
        }));
    }
    if w == RCPT && line.len() > 9 && line[4..8].eq_ignore_ascii_case(b" TO:") {
        let (addr, rest) = plain_path(&line[8..])?;
        return Some(rcpt_params(rest).map(|params| Command::Rcpt {
            to: Cow::Borrowed(addr),
            params,
        }));
    }
    None
}

/// Parses one command line (without the CRLF) with the full grammar only: the reference the
/// fast paths of [`parse_command`] are checked against.
pub fn parse_reference(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let sp = memchr::memchr(b' ', line);
    let (verb, args, had_space) = match sp {
        Some(n) => (&line[..n], &line[n + 1..], true),
        None => (line, &line[line.len()..], false),
    };
    if verb.len() > 8 || verb.len() < 4 {
        return Err(ParseError::Unknown);
    }
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(verb) {
        *k = b.to_ascii_uppercase();
    }
    let key = u64::from_le_bytes(key);
    fn needs_arg_fn(args: &[u8], had_space: bool) -> Result<&[u8], ParseError> {
        if had_space {
            Ok(args)
        } else {
            Err(ParseError::Syntax("argument required"))
        }
    }
    let needs_arg = |a| needs_arg_fn(a, had_space);
    match key {
        V_EHLO => Ok(Command::Ehlo(parse_domain_arg(needs_arg(args)?)?)),
        V_HELO => Ok(Command::Helo(parse_domain_arg(needs_arg(args)?)?)),
        V_MAIL => parse_mail(needs_arg(args)?),
        V_RCPT => parse_rcpt(needs_arg(args)?),
        V_DATA => no_args(args, Command::Data),
        V_BDAT => parse_bdat(needs_arg(args)?),
        V_RSET => no_args(args, Command::Rset),
        V_NOOP => Ok(Command::Noop),
        V_QUIT => no_args(args, Command::Quit),
        V_VRFY => {
            needs_arg(args)?;
            Ok(Command::Vrfy)
        }
        V_EXPN => {
            needs_arg(args)?;
            Ok(Command::Expn)
        }
        V_HELP => Ok(Command::Help),
        V_STARTTLS => no_args(args, Command::StartTls),
        V_AUTH => parse_auth(needs_arg(args)?),
        _ => Err(ParseError::Unknown),
    }
}
