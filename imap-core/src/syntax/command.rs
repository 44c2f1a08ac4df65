//! Commands: the types a client sends, their parser (server side) and writer (client side).

use std::borrow::Cow;

use super::atom::{Atom, Tag};
use super::charset::Charset;
use super::datetime::{DateTime, date_time};
use super::fetch::{FetchAttr, FetchModifiers, fetch_atts, fetch_modifiers};
use super::flag::{Flag, flag, flag_list, paren_list, write_list};
use super::literal::{
    LiteralKind, PResult, Writer, astring, astring_utf8, atom, atom_str, byte, crlf, fail,
    is_tag_char, kw, literal, literal_header, nstring_utf8, number64, nz_number, sp, string_utf8,
};
use super::mailbox::{Mailbox, list_mailbox, mailbox};
use super::search::{SearchKey, charset_prefix, search_criteria};
use super::sequence::{Ranges, SequenceSet, ranges, sequence_set};
use crate::secret::Secret;

/// A tagged command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The tag.
    pub tag: Tag,
    /// What it asks.
    pub body: CommandBody,
}

/// `STATUS` data items (and LIST-STATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (IMAP4rev1)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED`
    Deleted,
    /// `SIZE`
    Size,
    /// `HIGHESTMODSEQ` (CONDSTORE)
    HighestModSeq,
}

impl StatusItem {
    pub(crate) fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
        }
    }
    pub(crate) fn from_name(a: &[u8]) -> Option<Self> {
        [
            StatusItem::Messages,
            StatusItem::Recent,
            StatusItem::UidNext,
            StatusItem::UidValidity,
            StatusItem::Unseen,
            StatusItem::Deleted,
            StatusItem::Size,
            StatusItem::HighestModSeq,
        ]
        .into_iter()
        .find(|s| s.name().as_bytes().eq_ignore_ascii_case(a))
    }
}

fn status_item(i: &[u8]) -> PResult<'_, StatusItem> {
    let (r, a) = atom(i)?;
    match StatusItem::from_name(a) {
        Some(s) => Ok((r, s)),
        None => fail(i),
    }
}

/// The QRESYNC parameter of SELECT/EXAMINE (RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QresyncParams {
    /// The UIDVALIDITY the client knows.
    pub uid_validity: u32,
    /// The highest mod-sequence the client knows.
    pub modseq: u64,
    /// UIDs the client knows about.
    pub known_uids: Option<Ranges>,
    /// `(known-sequence-set known-uid-set)`.
    pub seq_match: Option<(Ranges, Ranges)>,
}

/// SELECT/EXAMINE parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SelectParams {
    /// `(CONDSTORE)`
    pub condstore: bool,
    /// `(QRESYNC (...))`
    pub qresync: Option<QresyncParams>,
}

/// LIST selection options (RFC 5258) and patterns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ListSelect {
    /// `SUBSCRIBED`
    pub subscribed: bool,
    /// `REMOTE`
    pub remote: bool,
    /// `RECURSIVEMATCH`
    pub recursive_match: bool,
    /// `SPECIAL-USE` (RFC 6154)
    pub special_use: bool,
}

/// LIST return options.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ListReturn {
    /// `SUBSCRIBED`
    pub subscribed: bool,
    /// `CHILDREN`
    pub children: bool,
    /// `SPECIAL-USE`
    pub special_use: bool,
    /// `STATUS (...)` (LIST-STATUS, RFC 5819)
    pub status: Option<Vec<StatusItem>>,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreAction {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// SEARCH `RETURN` options (ESEARCH, RFC 4731; SEARCHRES, RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE`
    Save,
}

/// One message of an APPEND (client side; the server streams message data instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Vec<Flag>,
    /// INTERNALDATE to set.
    pub date: Option<DateTime>,
    /// The message.
    pub data: Vec<u8>,
}

/// A QUOTA resource limit in SETQUOTA.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaLimit {
    /// Resource name (`STORAGE`, `MESSAGE`, ...).
    pub resource: Atom,
    /// The limit (STORAGE in units of 1024 octets).
    pub limit: u64,
}

/// What a command asks, with its arguments. Message-number sets are as the client sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CommandBody {
    Capability,
    Noop,
    Logout,
    StartTls,
    /// `AUTHENTICATE mech [initial-response]`; `Some(empty)` is `=`.
    Authenticate {
        mechanism: Atom,
        initial: Option<Secret>,
    },
    Login {
        username: String,
        password: Secret,
    },
    Enable(Vec<Atom>),
    /// `ID NIL` is `None`.
    Id(Option<Vec<(String, Option<String>)>>),
    Namespace,
    Select {
        mailbox: Mailbox,
        params: SelectParams,
    },
    Examine {
        mailbox: Mailbox,
        params: SelectParams,
    },
    Create {
        mailbox: Mailbox,
        special_use: Vec<Atom>,
    },
    Delete(Mailbox),
    Rename {
        from: Mailbox,
        to: Mailbox,
    },
    Subscribe(Mailbox),
    Unsubscribe(Mailbox),
    List {
        select: ListSelect,
        reference: String,
        patterns: Vec<String>,
        ret: ListReturn,
    },
    Lsub {
        reference: String,
        pattern: String,
    },
    Status {
        mailbox: Mailbox,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: Mailbox,
        messages: Vec<AppendMessage>,
    },
    Check,
    Close,
    Unselect,
    Expunge,
    /// `UID EXPUNGE set`
    UidExpunge(SequenceSet),
    Search {
        uid: bool,
        charset: Option<String>,
        /// `None`: plain SEARCH; `Some(empty)`: `RETURN ()`, which means `ALL`.
        ret: Option<Vec<SearchReturn>>,
        criteria: SearchKey,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        attrs: Vec<FetchAttr>,
        modifiers: FetchModifiers,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: Vec<Flag>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: Mailbox,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: Mailbox,
    },
    Idle,
    GetAcl(Mailbox),
    SetAcl {
        mailbox: Mailbox,
        identifier: String,
        /// As sent: optional `+`/`-` then rights letters.
        rights: String,
    },
    DeleteAcl {
        mailbox: Mailbox,
        identifier: String,
    },
    ListRights {
        mailbox: Mailbox,
        identifier: String,
    },
    MyRights(Mailbox),
    GetQuota(String),
    GetQuotaRoot(Mailbox),
    SetQuota {
        root: String,
        limits: Vec<QuotaLimit>,
    },
}

impl CommandBody {
    /// The command name as it appears on the wire (for messages like `OK FETCH completed`).
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Enable(_) => "ENABLE",
            CommandBody::Id(_) => "ID",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Select { .. } => "SELECT",
            CommandBody::Examine { .. } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete(_) => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe(_) => "SUBSCRIBE",
            CommandBody::Unsubscribe(_) => "UNSUBSCRIBE",
            CommandBody::List { .. } => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Expunge => "EXPUNGE",
            CommandBody::UidExpunge(_) => "UID EXPUNGE",
            CommandBody::Search { uid: false, .. } => "SEARCH",
            CommandBody::Search { uid: true, .. } => "UID SEARCH",
            CommandBody::Fetch { uid: false, .. } => "FETCH",
            CommandBody::Fetch { uid: true, .. } => "UID FETCH",
            CommandBody::Store { uid: false, .. } => "STORE",
            CommandBody::Store { uid: true, .. } => "UID STORE",
            CommandBody::Copy { uid: false, .. } => "COPY",
            CommandBody::Copy { uid: true, .. } => "UID COPY",
            CommandBody::Move { uid: false, .. } => "MOVE",
            CommandBody::Move { uid: true, .. } => "UID MOVE",
            CommandBody::Idle => "IDLE",
            CommandBody::GetAcl(_) => "GETACL",
            CommandBody::SetAcl { .. } => "SETACL",
            CommandBody::DeleteAcl { .. } => "DELETEACL",
            CommandBody::ListRights { .. } => "LISTRIGHTS",
            CommandBody::MyRights(_) => "MYRIGHTS",
            CommandBody::GetQuota(_) => "GETQUOTA",
            CommandBody::GetQuotaRoot(_) => "GETQUOTAROOT",
            CommandBody::SetQuota { .. } => "SETQUOTA",
        }
    }
}

/// Why a command did not parse: the tag if one was found (the answer is then a tagged `BAD`,
/// else an untagged `* BAD`) and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The tag, if the line started with a valid one.
    pub tag: Option<Tag>,
    /// Short human-readable reason.
    pub reason: &'static str,
}

/// Parses one complete command (including its final CRLF and any literals inline).
/// `utf8` selects RFC 6855 mailbox names (after `ENABLE UTF8=ACCEPT` / `IMAP4rev2`).
pub fn parse_command(input: &[u8], utf8: bool) -> Result<Command, CommandError> {
    let n = input.iter().take_while(|&&b| is_tag_char(b)).count();
    if n == 0 || input.get(n) != Some(&b' ') {
        return Err(CommandError {
            tag: None,
            reason: "Missing or invalid tag",
        });
    }
    let tag = Tag::from_valid(&input[..n]);
    let rest = &input[n + 1..];
    match command_body(rest, utf8) {
        Ok((r, body)) => match crlf(r) {
            Ok((b"", _)) => Ok(Command { tag, body }),
            _ => Err(CommandError {
                tag: Some(tag),
                reason: "Unexpected characters at end of command",
            }),
        },
        Err(_) => {
            let known = atom(rest).map(|(_, a)| is_known(a)).unwrap_or(false);
            Err(CommandError {
                tag: Some(tag),
                reason: if known {
                    "Invalid arguments"
                } else {
                    "Unknown command"
                },
            })
        }
    }
}

fn is_known(a: &[u8]) -> bool {
    const NAMES: &[&str] = &[
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "AUTHENTICATE",
        "LOGIN",
        "ENABLE",
        "ID",
        "NAMESPACE",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "DELETE",
        "RENAME",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST",
        "LSUB",
        "STATUS",
        "APPEND",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "SEARCH",
        "FETCH",
        "STORE",
        "COPY",
        "MOVE",
        "UID",
        "IDLE",
        "GETACL",
        "SETACL",
        "DELETEACL",
        "LISTRIGHTS",
        "MYRIGHTS",
        "GETQUOTA",
        "GETQUOTAROOT",
        "SETQUOTA",
    ];
    NAMES.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(a))
}

fn sp_mailbox(i: &[u8], utf8: bool) -> PResult<'_, Mailbox> {
    let (r, _) = sp(i)?;
    mailbox(r, utf8)
}

fn sp_astring(i: &[u8]) -> PResult<'_, String> {
    let (r, _) = sp(i)?;
    astring_utf8(r)
}

/// Everything after `tag SP`, without the final CRLF.
pub(crate) fn command_body(i: &[u8], utf8: bool) -> PResult<'_, CommandBody> {
    let (r, name) = atom(i)?;
    // Dispatch on length first to keep the common commands cheap.
    let eq = |k: &str| name.eq_ignore_ascii_case(k.as_bytes());
    if eq("UID") {
        let (r, _) = sp(r)?;
        let (r2, sub) = atom(r)?;
        let s = |k: &str| sub.eq_ignore_ascii_case(k.as_bytes());
        return if s("FETCH") {
            fetch(r2, true)
        } else if s("STORE") {
            store(r2, true)
        } else if s("SEARCH") {
            search(r2, true)
        } else if s("COPY") || s("MOVE") {
            let (r2, _) = sp(r2)?;
            let (r2, set) = sequence_set(r2)?;
            let (r2, mailbox) = sp_mailbox(r2, utf8)?;
            Ok((
                r2,
                if s("COPY") {
                    CommandBody::Copy {
                        uid: true,
                        set,
                        mailbox,
                    }
                } else {
                    CommandBody::Move {
                        uid: true,
                        set,
                        mailbox,
                    }
                },
            ))
        } else if s("EXPUNGE") {
            let (r2, _) = sp(r2)?;
            let (r2, set) = sequence_set(r2)?;
            Ok((r2, CommandBody::UidExpunge(set)))
        } else {
            fail(r)
        };
    }
    if eq("FETCH") {
        return fetch(r, false);
    }
    if eq("STORE") {
        return store(r, false);
    }
    if eq("SEARCH") {
        return search(r, false);
    }
    if eq("NOOP") {
        return Ok((r, CommandBody::Noop));
    }
    if eq("IDLE") {
        return Ok((r, CommandBody::Idle));
    }
    if eq("CAPABILITY") {
        return Ok((r, CommandBody::Capability));
    }
    if eq("LOGOUT") {
        return Ok((r, CommandBody::Logout));
    }
    if eq("STARTTLS") {
        return Ok((r, CommandBody::StartTls));
    }
    if eq("CHECK") {
        return Ok((r, CommandBody::Check));
    }
    if eq("CLOSE") {
        return Ok((r, CommandBody::Close));
    }
    if eq("UNSELECT") {
        return Ok((r, CommandBody::Unselect));
    }
    if eq("EXPUNGE") {
        return Ok((r, CommandBody::Expunge));
    }
    if eq("NAMESPACE") {
        return Ok((r, CommandBody::Namespace));
    }
    if eq("SELECT") || eq("EXAMINE") {
        let (r, mailbox) = sp_mailbox(r, utf8)?;
        let (r, params) = select_params(r)?;
        return Ok((
            r,
            if eq("SELECT") {
                CommandBody::Select { mailbox, params }
            } else {
                CommandBody::Examine { mailbox, params }
            },
        ));
    }
    if eq("LOGIN") {
        let (r, _) = sp(r)?;
        let (r, u) = astring_utf8(r)?;
        let (r, _) = sp(r)?;
        let (r, p) = astring(r)?;
        return Ok((
            r,
            CommandBody::Login {
                username: u,
                password: Secret::new(p.into_owned()),
            },
        ));
    }
    if eq("AUTHENTICATE") {
        let (r, _) = sp(r)?;
        let (r, m) = atom(r)?;
        let (r, initial) = if r.first() == Some(&b' ') {
            let n = r[1..]
                .iter()
                .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
                .count();
            if n == 0 {
                return fail(r);
            }
            (&r[1 + n..], Some(Secret::new(&r[1..1 + n])))
        } else {
            (r, None)
        };
        return Ok((
            r,
            CommandBody::Authenticate {
                mechanism: Atom::from_valid(m),
                initial,
            },
        ));
    }
    if eq("ENABLE") {
        let mut v = Vec::new();
        let mut r = r;
        while r.first() == Some(&b' ') {
            let (r2, a) = atom(&r[1..])?;
            v.push(Atom::from_valid(a));
            r = r2;
        }
        if v.is_empty() {
            return fail(r);
        }
        return Ok((r, CommandBody::Enable(v)));
    }
    if eq("ID") {
        let (r, _) = sp(r)?;
        if let Ok((r, _)) = kw("NIL")(r) {
            return Ok((r, CommandBody::Id(None)));
        }
        let (r, v) = paren_list(r, |i| {
            let (r, k) = string_utf8(i)?;
            let (r, _) = sp(r)?;
            let (r, v) = nstring_utf8(r)?;
            Ok((r, (k, v)))
        })?;
        if v.len() > 30 {
            return fail(r);
        }
        return Ok((r, CommandBody::Id(Some(v))));
    }
    if eq("CREATE") {
        let (r, mailbox) = sp_mailbox(r, utf8)?;
        let (r, special_use) = if r.first() == Some(&b' ') {
            let (r, _) = kw(" (USE ")(r)?;
            let (r, v) = paren_list(r, |i| {
                let (r, _) = byte(b'\\')(i)?;
                let (r, a) = atom(r)?;
                Ok((r, Atom::from_valid(a)))
            })?;
            let (r, _) = byte(b')')(r)?;
            (r, v)
        } else {
            (r, vec![])
        };
        return Ok((
            r,
            CommandBody::Create {
                mailbox,
                special_use,
            },
        ));
    }
    if eq("DELETE") {
        return sp_mailbox(r, utf8).map(|(r, m)| (r, CommandBody::Delete(m)));
    }
    if eq("SUBSCRIBE") {
        return sp_mailbox(r, utf8).map(|(r, m)| (r, CommandBody::Subscribe(m)));
    }
    if eq("UNSUBSCRIBE") {
        return sp_mailbox(r, utf8).map(|(r, m)| (r, CommandBody::Unsubscribe(m)));
    }
    if eq("RENAME") {
        let (r, from) = sp_mailbox(r, utf8)?;
        let (r, to) = sp_mailbox(r, utf8)?;
        return Ok((r, CommandBody::Rename { from, to }));
    }
    if eq("LIST") {
        return list(r, utf8);
    }
    if eq("LSUB") {
        let (r, _) = sp(r)?;
        let (r, reference) = reference(r, utf8)?;
        let (r, _) = sp(r)?;
        let (r, pattern) = list_mailbox(r, utf8)?;
        return Ok((r, CommandBody::Lsub { reference, pattern }));
    }
    if eq("STATUS") {
        let (r, mailbox) = sp_mailbox(r, utf8)?;
        let (r, _) = sp(r)?;
        let (r, items) = paren_list(r, status_item)?;
        if items.is_empty() {
            return fail(r);
        }
        return Ok((r, CommandBody::Status { mailbox, items }));
    }
    if eq("APPEND") {
        let (mut r, mailbox) = sp_mailbox(r, utf8)?;
        let mut messages = Vec::new();
        loop {
            let (r2, (flags, date)) = match append_message_head(r) {
                Ok(v) => v,
                Err(e) if messages.is_empty() => return Err(e),
                Err(_) => break,
            };
            let (r2, data) = literal(r2)?;
            messages.push(AppendMessage {
                flags,
                date,
                data: data.to_vec(),
            });
            r = r2;
        }
        return Ok((r, CommandBody::Append { mailbox, messages }));
    }
    if eq("COPY") || eq("MOVE") {
        let (r, _) = sp(r)?;
        let (r, set) = sequence_set(r)?;
        let (r, mailbox) = sp_mailbox(r, utf8)?;
        return Ok((
            r,
            if eq("COPY") {
                CommandBody::Copy {
                    uid: false,
                    set,
                    mailbox,
                }
            } else {
                CommandBody::Move {
                    uid: false,
                    set,
                    mailbox,
                }
            },
        ));
    }
    if eq("GETACL") {
        return sp_mailbox(r, utf8).map(|(r, m)| (r, CommandBody::GetAcl(m)));
    }
    if eq("MYRIGHTS") {
        return sp_mailbox(r, utf8).map(|(r, m)| (r, CommandBody::MyRights(m)));
    }
    if eq("GETQUOTAROOT") {
        return sp_mailbox(r, utf8).map(|(r, m)| (r, CommandBody::GetQuotaRoot(m)));
    }
    if eq("SETACL") {
        let (r, mailbox) = sp_mailbox(r, utf8)?;
        let (r, identifier) = sp_astring(r)?;
        let (r, rights) = sp_astring(r)?;
        let body = rights.strip_prefix(['+', '-']).unwrap_or(&rights);
        if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return fail(r);
        }
        return Ok((
            r,
            CommandBody::SetAcl {
                mailbox,
                identifier,
                rights,
            },
        ));
    }
    if eq("DELETEACL") || eq("LISTRIGHTS") {
        let (r, mailbox) = sp_mailbox(r, utf8)?;
        let (r, identifier) = sp_astring(r)?;
        return Ok((
            r,
            if eq("DELETEACL") {
                CommandBody::DeleteAcl {
                    mailbox,
                    identifier,
                }
            } else {
                CommandBody::ListRights {
                    mailbox,
                    identifier,
                }
            },
        ));
    }
    if eq("GETQUOTA") {
        return sp_astring(r).map(|(r, q)| (r, CommandBody::GetQuota(q)));
    }
    if eq("SETQUOTA") {
        let (r, root) = sp_astring(r)?;
        let (r, _) = sp(r)?;
        let (r, limits) = paren_list(r, |i| {
            let (r, a) = atom(i)?;
            let (r, _) = sp(r)?;
            let (r, n) = number64(r)?;
            Ok((
                r,
                QuotaLimit {
                    resource: Atom::from_valid(a),
                    limit: n,
                },
            ))
        })?;
        return Ok((r, CommandBody::SetQuota { root, limits }));
    }
    fail(i)
}

fn reference(i: &[u8], utf8: bool) -> PResult<'_, String> {
    let (r, raw) = astring(i)?;
    if raw.is_empty() {
        return Ok((r, String::new()));
    }
    match Mailbox::from_wire(&raw, utf8) {
        Ok(m) => Ok((
            r,
            if raw.eq_ignore_ascii_case(b"INBOX") {
                raw_str(&raw)
            } else {
                m.as_str().to_owned()
            },
        )),
        Err(_) => fail(i),
    }
}

fn raw_str(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `[SP flag-list] [SP date-time] SP` before a message literal; on input starting with SP.
pub(crate) fn append_message_head(i: &[u8]) -> PResult<'_, (Vec<Flag>, Option<DateTime>)> {
    let (mut r, _) = sp(i)?;
    let mut flags = Vec::new();
    let mut date = None;
    if r.first() == Some(&b'(') {
        let (r2, f) = flag_list(r)?;
        let (r2, _) = sp(r2)?;
        flags = f;
        r = r2;
    }
    if r.first() == Some(&b'"') {
        let (r2, d) = date_time(r)?;
        let (r2, _) = sp(r2)?;
        date = Some(d);
        r = r2;
    }
    if r.first() != Some(&b'{') && r.first() != Some(&b'~') {
        return fail(r);
    }
    Ok((r, (flags, date)))
}

/// The head of an APPEND up to and including the first message's literal header: used by the
/// server to stream the message. Returns mailbox, flags, date, size and literal kind.
#[allow(clippy::type_complexity)]
pub(crate) fn append_head(
    i: &[u8],
    utf8: bool,
) -> PResult<'_, (Tag, Mailbox, Vec<Flag>, Option<DateTime>, u64, LiteralKind)> {
    let n = i.iter().take_while(|&&b| is_tag_char(b)).count();
    if n == 0 {
        return fail(i);
    }
    let tag = Tag::from_valid(&i[..n]);
    let (r, _) = sp(&i[n..])?;
    let (r, _) = kw("APPEND")(r)?;
    let (r, mailbox) = sp_mailbox(r, utf8)?;
    let (r, (flags, date)) = append_message_head(r)?;
    let (r, (size, kind)) = literal_header(r)?;
    Ok((r, (tag, mailbox, flags, date, size, kind)))
}

/// After a message's data in APPEND: the next message's head and literal header (MULTIAPPEND),
/// or `None` at the end of the command (CRLF).
#[allow(clippy::type_complexity)]
pub(crate) fn append_continue(
    i: &[u8],
) -> PResult<'_, Option<(Vec<Flag>, Option<DateTime>, u64, LiteralKind)>> {
    if let Ok((r, _)) = crlf(i) {
        return Ok((r, None));
    }
    let (r, (flags, date)) = append_message_head(i)?;
    let (r, (size, kind)) = literal_header(r)?;
    Ok((r, Some((flags, date, size, kind))))
}

fn select_params(i: &[u8]) -> PResult<'_, SelectParams> {
    let mut p = SelectParams::default();
    if i.first() != Some(&b' ') {
        return Ok((i, p));
    }
    let (r, items) = paren_list(&i[1..], |i| {
        if let Ok((r, _)) = kw("QRESYNC ")(i) {
            let (r, _) = byte(b'(')(r)?;
            let (r, uid_validity) = nz_number(r)?;
            let (r, _) = sp(r)?;
            let (r, modseq) = number64(r)?;
            let (mut r, mut known_uids, mut seq_match) = (r, None, None);
            if r.first() == Some(&b' ') && r.get(1) != Some(&b'(') {
                let (r2, k) = ranges(&r[1..])?;
                known_uids = Some(k);
                r = r2;
            }
            if r.first() == Some(&b' ') {
                let (r2, _) = kw(" (")(r)?;
                let (r2, a) = ranges(r2)?;
                let (r2, _) = sp(r2)?;
                let (r2, b) = ranges(r2)?;
                let (r2, _) = byte(b')')(r2)?;
                seq_match = Some((a, b));
                r = r2;
            }
            let (r, _) = byte(b')')(r)?;
            return Ok((
                r,
                (
                    false,
                    Some(QresyncParams {
                        uid_validity,
                        modseq,
                        known_uids,
                        seq_match,
                    }),
                ),
            ));
        }
        let (r, _) = kw("CONDSTORE")(i)?;
        Ok((r, (true, None)))
    })?;
    for (c, q) in items {
        p.condstore |= c;
        if q.is_some() {
            p.qresync = q;
        }
    }
    Ok((r, p))
}

fn list(i: &[u8], utf8: bool) -> PResult<'_, CommandBody> {
    let (mut r, _) = sp(i)?;
    let mut select = ListSelect::default();
    if r.first() == Some(&b'(') {
        let (r2, opts) = paren_list(r, atom_str)?;
        for o in opts {
            match o.to_ascii_uppercase().as_str() {
                "SUBSCRIBED" => select.subscribed = true,
                "REMOTE" => select.remote = true,
                "RECURSIVEMATCH" => select.recursive_match = true,
                "SPECIAL-USE" => select.special_use = true,
                _ => return fail(r),
            }
        }
        if select.recursive_match && !select.subscribed && !select.special_use {
            return fail(r);
        }
        let (r2, _) = sp(r2)?;
        r = r2;
    }
    let (r, reference) = reference(r, utf8)?;
    let (r, _) = sp(r)?;
    let (r, patterns) = if r.first() == Some(&b'(') {
        let (r, v) = paren_list(r, |i| list_mailbox(i, utf8))?;
        if v.is_empty() {
            return fail(r);
        }
        (r, v)
    } else {
        let (r, p) = match list_mailbox(r, utf8) {
            Ok(v) => v,
            Err(_) => {
                // "" is a valid pattern
                let (r2, s) = super::literal::string(r)?;
                if !s.is_empty() {
                    return fail(r);
                }
                (r2, String::new())
            }
        };
        (r, vec![p])
    };
    let mut ret = ListReturn::default();
    let r = if let Ok((r2, _)) = kw(" RETURN ")(r) {
        let (r2, opts) = paren_list(r2, |i| {
            if let Ok((r, _)) = kw("STATUS ")(i) {
                let (r, items) = paren_list(r, status_item)?;
                return Ok((r, Err(items)));
            }
            atom_str(i).map(|(r, a)| (r, Ok(a)))
        })?;
        for o in opts {
            match o {
                Err(items) => ret.status = Some(items),
                Ok(a) => match a.to_ascii_uppercase().as_str() {
                    "SUBSCRIBED" => ret.subscribed = true,
                    "CHILDREN" => ret.children = true,
                    "SPECIAL-USE" => ret.special_use = true,
                    _ => return fail(r2),
                },
            }
        }
        r2
    } else {
        r
    };
    Ok((
        r,
        CommandBody::List {
            select,
            reference,
            patterns,
            ret,
        },
    ))
}

fn fetch(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (r, _) = sp(i)?;
    let (r, set) = sequence_set(r)?;
    let (r, _) = sp(r)?;
    let (r, attrs) = fetch_atts(r)?;
    let (r, modifiers) = if r.first() == Some(&b' ') {
        fetch_modifiers(&r[1..])?
    } else {
        (r, FetchModifiers::default())
    };
    if modifiers.vanished && (!uid || modifiers.changed_since.is_none()) {
        return fail(r);
    }
    Ok((
        r,
        CommandBody::Fetch {
            uid,
            set,
            attrs,
            modifiers,
        },
    ))
}

fn store(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (r, _) = sp(i)?;
    let (r, set) = sequence_set(r)?;
    let (mut r, _) = sp(r)?;
    let mut unchanged_since = None;
    if r.first() == Some(&b'(') {
        let (r2, _) = kw("(UNCHANGEDSINCE ")(r)?;
        let (r2, n) = number64(r2)?;
        let (r2, _) = kw(") ")(r2)?;
        unchanged_since = Some(n);
        r = r2;
    }
    let (r, action) = match r.first() {
        Some(b'+') => (&r[1..], StoreAction::Add),
        Some(b'-') => (&r[1..], StoreAction::Remove),
        _ => (r, StoreAction::Replace),
    };
    let (r, _) = kw("FLAGS")(r)?;
    let (r, silent) = match kw(".SILENT")(r) {
        Ok((r, _)) => (r, true),
        Err(_) => (r, false),
    };
    let (r, _) = sp(r)?;
    let (r, flags) = if r.first() == Some(&b'(') {
        flag_list(r)?
    } else {
        let mut v = Vec::new();
        let (mut r, f) = flag(r)?;
        v.push(f);
        while r.first() == Some(&b' ') {
            let (r2, f) = flag(&r[1..])?;
            v.push(f);
            r = r2;
        }
        (r, v)
    };
    Ok((
        r,
        CommandBody::Store {
            uid,
            set,
            unchanged_since,
            action,
            silent,
            flags,
        },
    ))
}

fn search(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (mut r, _) = sp(i)?;
    let mut ret = None;
    if let Ok((r2, _)) = kw("RETURN ")(r) {
        let (r2, opts) = paren_list(r2, |i| {
            let (r, a) = atom(i)?;
            let o = match a.to_ascii_uppercase().as_slice() {
                b"MIN" => SearchReturn::Min,
                b"MAX" => SearchReturn::Max,
                b"ALL" => SearchReturn::All,
                b"COUNT" => SearchReturn::Count,
                b"SAVE" => SearchReturn::Save,
                _ => return fail(i),
            };
            Ok((r, o))
        })?;
        let (r2, _) = sp(r2)?;
        ret = Some(opts);
        r = r2;
    }
    let (r, charset) = charset_prefix(r)?;
    let (r, criteria) = search_criteria(r, Charset::from_label(charset.as_deref()))?;
    Ok((
        r,
        CommandBody::Search {
            uid,
            charset,
            ret,
            criteria,
        },
    ))
}

// ------------------------------------------------------------------ writer (client side)

impl Command {
    /// Writes the command with its final CRLF. Literals are `{n}` (the client must wait for a
    /// continuation request at each offset in `w.sync_points`) or `{n+}` if `w.literal_plus`.
    pub fn write(&self, w: &mut Writer) {
        w.raw(self.tag.as_str().as_bytes());
        w.byte(b' ');
        self.body.write(w);
        w.raw(b"\r\n");
    }

    /// The wire bytes, with LITERAL+ literals (no continuation needed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer {
            literal_plus: true,
            utf8: true,
            ..Default::default()
        };
        self.write(&mut w);
        w.buf
    }
}

fn write_name(w: &mut Writer, n: &str) {
    w.raw(n.as_bytes())
}

fn write_pattern(w: &mut Writer, p: &str) {
    let enc: Cow<'_, str> = if w.utf8 {
        Cow::Borrowed(p)
    } else {
        Cow::Owned(super::mailbox::encode_utf7(p))
    };
    if !enc.is_empty() && enc.bytes().all(super::literal::is_list_char) {
        w.raw(enc.as_bytes());
    } else {
        w.string(enc.as_bytes());
    }
}

impl CommandBody {
    /// Writes the command body (everything after `tag SP`, before CRLF).
    pub fn write(&self, w: &mut Writer) {
        match self {
            CommandBody::Capability
            | CommandBody::Noop
            | CommandBody::Logout
            | CommandBody::StartTls
            | CommandBody::Namespace
            | CommandBody::Check
            | CommandBody::Close
            | CommandBody::Unselect
            | CommandBody::Expunge
            | CommandBody::Idle => write_name(w, self.name()),
            CommandBody::Authenticate { mechanism, initial } => {
                w.raw(b"AUTHENTICATE ");
                w.raw(mechanism.as_str().as_bytes());
                if let Some(i) = initial {
                    w.byte(b' ');
                    if i.is_empty() {
                        w.byte(b'=');
                    } else {
                        w.raw(i.expose());
                    }
                }
            }
            CommandBody::Login { username, password } => {
                w.raw(b"LOGIN ");
                w.astring(username.as_bytes());
                w.byte(b' ');
                w.astring(password.expose());
            }
            CommandBody::Enable(v) => {
                w.raw(b"ENABLE");
                for a in v {
                    w.byte(b' ');
                    w.raw(a.as_str().as_bytes());
                }
            }
            CommandBody::Id(None) => w.raw(b"ID NIL"),
            CommandBody::Id(Some(v)) => {
                w.raw(b"ID ");
                write_list(w, v, |w, (k, v)| {
                    w.string(k.as_bytes());
                    w.byte(b' ');
                    w.nstring(v.as_ref().map(|s| s.as_bytes()));
                });
            }
            CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
                write_name(w, self.name());
                w.byte(b' ');
                mailbox.write(w);
                type Item<'b> = Box<dyn Fn(&mut Writer) + 'b>;
                let mut items: Vec<Item<'_>> = Vec::new();
                if params.condstore {
                    items.push(Box::new(|w| w.raw(b"CONDSTORE")));
                }
                if let Some(q) = &params.qresync {
                    items.push(Box::new(move |w| {
                        w.raw(b"QRESYNC (");
                        w.num(q.uid_validity as u64);
                        w.byte(b' ');
                        w.num(q.modseq);
                        if let Some(k) = &q.known_uids {
                            w.byte(b' ');
                            k.write(w);
                        }
                        if let Some((a, b)) = &q.seq_match {
                            w.raw(b" (");
                            a.write(w);
                            w.byte(b' ');
                            b.write(w);
                            w.byte(b')');
                        }
                        w.byte(b')');
                    }));
                }
                if !items.is_empty() {
                    w.byte(b' ');
                    write_list(w, &items, |w, f| f(w));
                }
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => {
                w.raw(b"CREATE ");
                mailbox.write(w);
                if !special_use.is_empty() {
                    w.raw(b" (USE ");
                    write_list(w, special_use, |w, a| {
                        w.byte(b'\\');
                        w.raw(a.as_str().as_bytes())
                    });
                    w.byte(b')');
                }
            }
            CommandBody::Delete(m)
            | CommandBody::Subscribe(m)
            | CommandBody::Unsubscribe(m)
            | CommandBody::GetAcl(m)
            | CommandBody::MyRights(m)
            | CommandBody::GetQuotaRoot(m) => {
                write_name(w, self.name());
                w.byte(b' ');
                m.write(w);
            }
            CommandBody::Rename { from, to } => {
                w.raw(b"RENAME ");
                from.write(w);
                w.byte(b' ');
                to.write(w);
            }
            CommandBody::List {
                select,
                reference,
                patterns,
                ret,
            } => {
                w.raw(b"LIST ");
                let mut opts = Vec::new();
                if select.subscribed {
                    opts.push("SUBSCRIBED");
                }
                if select.remote {
                    opts.push("REMOTE");
                }
                if select.recursive_match {
                    opts.push("RECURSIVEMATCH");
                }
                if select.special_use {
                    opts.push("SPECIAL-USE");
                }
                if !opts.is_empty() {
                    write_list(w, &opts, |w, o| w.raw(o.as_bytes()));
                    w.byte(b' ');
                }
                write_reference(w, reference);
                w.byte(b' ');
                if patterns.len() == 1 {
                    write_pattern(w, &patterns[0]);
                } else {
                    write_list(w, patterns, |w, p| write_pattern(w, p));
                }
                let mut r: Vec<&str> = Vec::new();
                if ret.subscribed {
                    r.push("SUBSCRIBED");
                }
                if ret.children {
                    r.push("CHILDREN");
                }
                if ret.special_use {
                    r.push("SPECIAL-USE");
                }
                if !r.is_empty() || ret.status.is_some() {
                    w.raw(b" RETURN (");
                    for (k, o) in r.iter().enumerate() {
                        if k > 0 {
                            w.byte(b' ');
                        }
                        w.raw(o.as_bytes());
                    }
                    if let Some(st) = &ret.status {
                        if !r.is_empty() {
                            w.byte(b' ');
                        }
                        w.raw(b"STATUS ");
                        write_list(w, st, |w, s| w.raw(s.name().as_bytes()));
                    }
                    w.byte(b')');
                }
            }
            CommandBody::Lsub { reference, pattern } => {
                w.raw(b"LSUB ");
                write_reference(w, reference);
                w.byte(b' ');
                write_pattern(w, pattern);
            }
            CommandBody::Status { mailbox, items } => {
                w.raw(b"STATUS ");
                mailbox.write(w);
                w.byte(b' ');
                write_list(w, items, |w, s| w.raw(s.name().as_bytes()));
            }
            CommandBody::Append { mailbox, messages } => {
                w.raw(b"APPEND ");
                mailbox.write(w);
                for m in messages {
                    w.byte(b' ');
                    if !m.flags.is_empty() {
                        write_list(w, &m.flags, |w, f| f.write(w));
                        w.byte(b' ');
                    }
                    if let Some(d) = &m.date {
                        d.write(w);
                        w.byte(b' ');
                    }
                    w.literal(&m.data);
                }
            }
            CommandBody::UidExpunge(set) => {
                w.raw(b"UID EXPUNGE ");
                set.write(w);
            }
            CommandBody::Search {
                uid,
                charset,
                ret,
                criteria,
            } => {
                w.raw(if *uid { b"UID SEARCH " } else { b"SEARCH " });
                if let Some(r) = ret {
                    w.raw(b"RETURN ");
                    write_list(w, r, |w, o| {
                        w.raw(match o {
                            SearchReturn::Min => b"MIN",
                            SearchReturn::Max => b"MAX",
                            SearchReturn::All => b"ALL",
                            SearchReturn::Count => b"COUNT",
                            SearchReturn::Save => b"SAVE",
                        })
                    });
                    w.byte(b' ');
                }
                if let Some(c) = charset {
                    w.raw(b"CHARSET ");
                    w.astring(c.as_bytes());
                    w.byte(b' ');
                }
                criteria.write_criteria(w, Charset::from_label(charset.as_deref()));
            }
            CommandBody::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            } => {
                w.raw(if *uid { b"UID FETCH " } else { b"FETCH " });
                set.write(w);
                w.byte(b' ');
                write_list(w, attrs, |w, a| a.write(w));
                modifiers.write(w);
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => {
                w.raw(if *uid { b"UID STORE " } else { b"STORE " });
                set.write(w);
                w.byte(b' ');
                if let Some(u) = unchanged_since {
                    w.raw(b"(UNCHANGEDSINCE ");
                    w.num(*u);
                    w.raw(b") ");
                }
                match action {
                    StoreAction::Add => w.byte(b'+'),
                    StoreAction::Remove => w.byte(b'-'),
                    StoreAction::Replace => {}
                }
                w.raw(b"FLAGS");
                if *silent {
                    w.raw(b".SILENT");
                }
                w.byte(b' ');
                write_list(w, flags, |w, f| f.write(w));
            }
            CommandBody::Copy { set, mailbox, .. } | CommandBody::Move { set, mailbox, .. } => {
                write_name(w, self.name());
                w.byte(b' ');
                set.write(w);
                w.byte(b' ');
                mailbox.write(w);
            }
            CommandBody::SetAcl {
                mailbox,
                identifier,
                rights,
            } => {
                w.raw(b"SETACL ");
                mailbox.write(w);
                w.byte(b' ');
                w.astring(identifier.as_bytes());
                w.byte(b' ');
                w.astring(rights.as_bytes());
            }
            CommandBody::DeleteAcl {
                mailbox,
                identifier,
            }
            | CommandBody::ListRights {
                mailbox,
                identifier,
            } => {
                write_name(w, self.name());
                w.byte(b' ');
                mailbox.write(w);
                w.byte(b' ');
                w.astring(identifier.as_bytes());
            }
            CommandBody::GetQuota(root) => {
                w.raw(b"GETQUOTA ");
                w.astring(root.as_bytes());
            }
            CommandBody::SetQuota { root, limits } => {
                w.raw(b"SETQUOTA ");
                w.astring(root.as_bytes());
                w.byte(b' ');
                write_list(w, limits, |w, l| {
                    w.raw(l.resource.as_str().as_bytes());
                    w.byte(b' ');
                    w.num(l.limit);
                });
            }
        }
    }
}

fn write_reference(w: &mut Writer, r: &str) {
    if r.is_empty() {
        w.raw(b"\"\"");
    } else {
        match Mailbox::new(r) {
            Ok(m) if !m.is_inbox() => m.write(w),
            _ => w.astring(r.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> CommandBody {
        parse_command(s.as_bytes(), false)
            .unwrap_or_else(|e| panic!("{s}: {e:?}"))
            .body
    }

    #[test]
    fn basics() {
        assert_eq!(p("a NOOP\r\n"), CommandBody::Noop);
        assert!(matches!(
            p("a login \"user@x\" {3}\r\npw!\r\n"),
            CommandBody::Login { .. }
        ));
        assert!(matches!(
            p("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)\r\n"),
            CommandBody::Fetch { .. }
        ));
        assert!(matches!(
            p("a STORE 1 +FLAGS.SILENT (\\Seen)\r\n"),
            CommandBody::Store { silent: true, .. }
        ));
        assert!(matches!(
            p("a SELECT &ZTZO9nux- (CONDSTORE)\r\n"),
            CommandBody::Select { .. }
        ));
        assert!(matches!(
            p("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n"),
            CommandBody::Select { .. }
        ));
        assert!(matches!(p("a LIST \"\" *\r\n"), CommandBody::List { .. }));
        assert!(matches!(
            p("a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n"),
            CommandBody::List { .. }
        ));
        assert!(matches!(
            p("a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 UNSEEN\r\n"),
            CommandBody::Search { .. }
        ));
        assert!(matches!(
            p("a APPEND INBOX (\\Seen) {3+}\r\nabc {2+}\r\nde\r\n"),
            CommandBody::Append { .. }
        ));
        assert!(matches!(
            p("a ID (\"name\" \"Foxmail\" \"version\" NIL)\r\n"),
            CommandBody::Id(Some(_))
        ));
        assert!(matches!(
            p("a AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n"),
            CommandBody::Authenticate { .. }
        ));
        assert!(matches!(
            p("a SETQUOTA \"\" (STORAGE 512)\r\n"),
            CommandBody::SetQuota { .. }
        ));
        assert!(matches!(
            p("a SETACL INBOX bob +lr\r\n"),
            CommandBody::SetAcl { .. }
        ));
    }

    #[test]
    fn errors_keep_tag() {
        let e = parse_command(b"x1 FETCH\r\n", false).unwrap_err();
        assert_eq!(e.tag.unwrap().as_str(), "x1");
        assert_eq!(e.reason, "Invalid arguments");
        let e = parse_command(b"x1 BLAH\r\n", false).unwrap_err();
        assert_eq!(e.reason, "Unknown command");
        assert!(
            parse_command(b"+ NOOP\r\n", false)
                .unwrap_err()
                .tag
                .is_none()
        );
        assert!(parse_command(b"a NOOP extra\r\n", false).is_err());
    }
}
