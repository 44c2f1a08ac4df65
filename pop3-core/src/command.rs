//! Client commands and their grammar (the second parsing stage, after the line framer).
//!
//! [`parse`] takes one command line without its CRLF and returns a [`Command`] or a
//! [`CommandError`]. It never panics and never allocates more than the line's length.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_while_m_n, take_while1},
    character::complete::char,
    combinator::{all_consuming, map_res, opt, rest, verify},
    sequence::preceded,
};

use crate::Secret;

/// One POP3 command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `USER name`
    User(String),
    /// `PASS string` (the rest of the line, spaces included)
    Pass(Secret),
    /// `APOP name digest`
    Apop {
        /// The login name.
        name: String,
        /// 32 hex digits, lowercased.
        digest: String,
    },
    /// `AUTH [mechanism [initial-response]]` (RFC 5034)
    Auth {
        /// The mechanism name, uppercased; `None` asks for the list.
        mechanism: Option<String>,
        /// The base64 initial response as sent (`=` means empty).
        initial: Option<Secret>,
    },
    /// `STAT`
    Stat,
    /// `LIST [msg]`
    List(Option<u32>),
    /// `RETR msg`
    Retr(u32),
    /// `DELE msg`
    Dele(u32),
    /// `NOOP`
    Noop,
    /// `RSET`
    Rset,
    /// `QUIT`
    Quit,
    /// `TOP msg n`
    Top(u32, u32),
    /// `UIDL [msg]`
    Uidl(Option<u32>),
    /// `CAPA` (RFC 2449)
    Capa,
    /// `STLS` (RFC 2595)
    Stls,
    /// `UTF8` (RFC 6856)
    Utf8,
}

/// Why a line is not a valid command. The `Display` text is sent after `-ERR `.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The keyword is not a POP3 command.
    #[error("Unknown command")]
    Unknown,
    /// The keyword is known but its arguments are malformed.
    #[error("Syntax error in arguments")]
    Syntax,
    /// The line is longer than the configured limit.
    #[error("Command line too long")]
    TooLong,
}

fn is_keyword_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// A printable, non-space argument octet (UTF-8 octets allowed).
fn is_arg_char(b: u8) -> bool {
    b > 0x20 && b != 0x7f
}

fn number(i: &[u8]) -> IResult<&[u8], u32> {
    map_res(take_while_m_n(1, 10, |b: u8| b.is_ascii_digit()), |d| {
        // Only ASCII digits reach here, so from_utf8 cannot fail; parse rejects overflow.
        std::str::from_utf8(d)
            .map_err(|_| ())
            .and_then(|s| s.parse::<u32>().map_err(|_| ()))
    })
    .parse(i)
}

fn sp_number(i: &[u8]) -> IResult<&[u8], u32> {
    preceded(char(' '), number).parse(i)
}

fn text_arg(i: &[u8]) -> IResult<&[u8], String> {
    map_res(take_while1(is_arg_char), |a: &[u8]| {
        String::from_utf8(a.to_vec())
    })
    .parse(i)
}

fn sp_text_arg(i: &[u8]) -> IResult<&[u8], String> {
    preceded(char(' '), text_arg).parse(i)
}

fn password(i: &[u8]) -> IResult<&[u8], Secret> {
    let (i, p) = preceded(
        char(' '),
        verify(rest, |r: &[u8]| {
            !r.is_empty() && !r.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
        }),
    )
    .parse(i)?;
    Ok((i, Secret::new(p.to_vec())))
}

fn apop_args(i: &[u8]) -> IResult<&[u8], (String, String)> {
    let (i, name) = sp_text_arg(i)?;
    let (i, digest) = preceded(
        char(' '),
        take_while_m_n(32, 32, |b: u8| b.is_ascii_hexdigit()),
    )
    .parse(i)?;
    Ok((
        i,
        (name, String::from_utf8_lossy(digest).to_ascii_lowercase()),
    ))
}

fn base64_or_eq(i: &[u8]) -> IResult<&[u8], &[u8]> {
    alt((
        tag(&b"="[..]),
        take_while1(|b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='),
    ))
    .parse(i)
}

fn auth_args(i: &[u8]) -> IResult<&[u8], (Option<String>, Option<Secret>)> {
    let (i, mech) = opt(preceded(
        char(' '),
        take_while_m_n(1, 20, |b: u8| {
            b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
        }),
    ))
    .parse(i)?;
    let Some(mech) = mech else {
        return Ok((i, (None, None)));
    };
    let (i, ir) = opt(preceded(char(' '), base64_or_eq)).parse(i)?;
    Ok((
        i,
        (
            Some(String::from_utf8_lossy(mech).to_ascii_uppercase()),
            ir.map(|r| Secret::new(r.to_vec())),
        ),
    ))
}

fn no_args(i: &[u8]) -> IResult<&[u8], ()> {
    Ok((i, ()))
}

/// Parses one command line, without its line terminator.
pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
    let (args, keyword) =
        match take_while_m_n::<_, _, nom::error::Error<&[u8]>>(1, 4, is_keyword_char).parse(line) {
            Ok(r) => r,
            Err(_) => return Err(CommandError::Unknown),
        };
    if args.first().is_some_and(|&b| b != b' ') {
        return Err(CommandError::Unknown);
    }
    let mut kw = [0u8; 4];
    kw[..keyword.len()].copy_from_slice(keyword);
    kw.make_ascii_uppercase();
    let kw = &kw[..keyword.len()];

    fn run<'a, O>(
        args: &'a [u8],
        p: impl Parser<&'a [u8], Output = O, Error = nom::error::Error<&'a [u8]>>,
    ) -> Result<O, CommandError> {
        all_consuming(p)
            .parse(args)
            .map(|(_, o)| o)
            .map_err(|_| CommandError::Syntax)
    }

    match kw {
        b"USER" => run(args, sp_text_arg).map(Command::User),
        b"PASS" => run(args, password).map(Command::Pass),
        b"APOP" => run(args, apop_args).map(|(name, digest)| Command::Apop { name, digest }),
        b"AUTH" => {
            run(args, auth_args).map(|(mechanism, initial)| Command::Auth { mechanism, initial })
        }
        b"STAT" => run(args, no_args).map(|_| Command::Stat),
        b"LIST" => run(args, opt(sp_number)).map(Command::List),
        b"RETR" => run(args, sp_number).map(Command::Retr),
        b"DELE" => run(args, sp_number).map(Command::Dele),
        b"NOOP" => run(args, no_args).map(|_| Command::Noop),
        b"RSET" => run(args, no_args).map(|_| Command::Rset),
        b"QUIT" => run(args, no_args).map(|_| Command::Quit),
        b"TOP" => run(args, (sp_number, sp_number)).map(|(m, n)| Command::Top(m, n)),
        b"UIDL" => run(args, opt(sp_number)).map(Command::Uidl),
        b"CAPA" => run(args, no_args).map(|_| Command::Capa),
        b"STLS" => run(args, no_args).map(|_| Command::Stls),
        b"UTF8" => run(args, no_args).map(|_| Command::Utf8),
        _ => Err(CommandError::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(parse(b"stat"), Ok(Command::Stat));
        assert_eq!(parse(b"StAt"), Ok(Command::Stat));
        assert_eq!(parse(b"top 1 10"), Ok(Command::Top(1, 10)));
        assert_eq!(parse(b"utf8"), Ok(Command::Utf8));
    }

    #[test]
    fn arguments() {
        assert_eq!(parse(b"LIST"), Ok(Command::List(None)));
        assert_eq!(parse(b"LIST 2"), Ok(Command::List(Some(2))));
        assert_eq!(
            parse(b"USER mrose@example.edu"),
            Ok(Command::User("mrose@example.edu".into()))
        );
        assert_eq!(
            parse("USER 张三@example.cn".as_bytes()),
            Ok(Command::User("张三@example.cn".into()))
        );
        match parse(b"PASS secret with spaces") {
            Ok(Command::Pass(p)) => assert_eq!(p.expose(), b"secret with spaces"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(b"APOP mrose C4C9334BAC560ECC979E58001B3E22FB"),
            Ok(Command::Apop {
                name: "mrose".into(),
                digest: "c4c9334bac560ecc979e58001b3e22fb".into()
            })
        );
        match parse(b"AUTH plain AGZvbwBiYXI=") {
            Ok(Command::Auth { mechanism, initial }) => {
                assert_eq!(mechanism.as_deref(), Some("PLAIN"));
                assert_eq!(initial.unwrap().expose(), b"AGZvbwBiYXI=");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(b"AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial: None
            })
        );
        assert_eq!(parse(b"UIDL 4294967295"), Ok(Command::Uidl(Some(u32::MAX))));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse(b""), Err(CommandError::Unknown));
        assert_eq!(parse(b"FOO"), Err(CommandError::Unknown));
        assert_eq!(parse(b"STATS"), Err(CommandError::Unknown));
        assert_eq!(parse(b" STAT"), Err(CommandError::Unknown));
        assert_eq!(parse(b"STAT "), Err(CommandError::Syntax));
        assert_eq!(parse(b"STAT x"), Err(CommandError::Syntax));
        assert_eq!(parse(b"LIST  1"), Err(CommandError::Syntax));
        assert_eq!(parse(b"LIST -1"), Err(CommandError::Syntax));
        assert_eq!(parse(b"RETR"), Err(CommandError::Syntax));
        assert_eq!(parse(b"RETR 4294967296"), Err(CommandError::Syntax));
        assert_eq!(parse(b"RETR 12345678901"), Err(CommandError::Syntax));
        assert_eq!(parse(b"TOP 1"), Err(CommandError::Syntax));
        assert_eq!(parse(b"USER"), Err(CommandError::Syntax));
        assert_eq!(parse(b"USER a b"), Err(CommandError::Syntax));
        assert_eq!(parse(b"USER \xff\xfe"), Err(CommandError::Syntax));
        assert_eq!(parse(b"PASS "), Err(CommandError::Syntax));
        assert_eq!(parse(b"PASS a\0b"), Err(CommandError::Syntax));
        assert_eq!(parse(b"APOP mrose 123"), Err(CommandError::Syntax));
        assert_eq!(parse(b"AUTH PLAIN a b"), Err(CommandError::Syntax));
        assert_eq!(parse(b"AUTH PLAIN !!"), Err(CommandError::Syntax));
    }
}
