//! Responses: the types a server sends, their writer (server side) and parser (client side).

use super::atom::{Atom, Capability, Tag};
use super::command::StatusItem;
use super::fetch::{FetchItem, fetch_item};
use super::flag::{Flag, FlagPerm, flag, flag_perm, paren_list, write_list};
use super::literal::{
    PResult, Writer, astring_utf8, atom, atom_str, byte, crlf, fail, is_atom_char, is_tag_char, kw,
    nstring_utf8, number, number64, nz_number, quoted, sp, string_utf8,
};
use super::mailbox::{Mailbox, mailbox};
use super::sequence::{Ranges, ranges};
use crate::error::Error;

/// Completion status of a tagged or untagged status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
}

/// A response code (`[...]` after the status), RFC 9051 and the extensions we implement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Code {
    Alert,
    AlreadyExists,
    AppendUid {
        uid_validity: u32,
        uids: Ranges,
    },
    AuthenticationFailed,
    AuthorizationFailed,
    BadCharset(Vec<String>),
    Cannot,
    Capability(Vec<Capability>),
    ClientBug,
    Closed,
    ContactAdmin,
    CopyUid {
        uid_validity: u32,
        source: Ranges,
        dest: Ranges,
    },
    Corruption,
    Expired,
    ExpungeIssued,
    HasChildren,
    InUse,
    Limit,
    NonExistent,
    NoPerm,
    OverQuota,
    Parse,
    PermanentFlags(Vec<FlagPerm>),
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TryCreate,
    UidNext(u32),
    UidNotSticky,
    UidValidity(u32),
    Unavailable,
    UnknownCte,
    /// IMAP4rev1 `UNSEEN n`
    Unseen(u32),
    HighestModSeq(u64),
    NoModSeq,
    Modified(Ranges),
    /// RFC 7889 `TOOBIG`
    TooBig,
    /// RFC 5182 `NOTSAVED`
    NotSaved,
    /// Any other code, with optional text argument.
    Other(Atom, Option<String>),
}

/// A `LIST`/`LSUB` mailbox attribute (RFC 9051, RFC 6154 special-use).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ListAttr {
    NoInferiors,
    NoSelect,
    Marked,
    Unmarked,
    NonExistent,
    Subscribed,
    Remote,
    HasChildren,
    HasNoChildren,
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
    /// Another `\`-attribute (without the backslash).
    Other(Atom),
}

const LIST_ATTRS: &[(ListAttr, &str)] = &[
    (ListAttr::NoInferiors, "Noinferiors"),
    (ListAttr::NoSelect, "Noselect"),
    (ListAttr::Marked, "Marked"),
    (ListAttr::Unmarked, "Unmarked"),
    (ListAttr::NonExistent, "NonExistent"),
    (ListAttr::Subscribed, "Subscribed"),
    (ListAttr::Remote, "Remote"),
    (ListAttr::HasChildren, "HasChildren"),
    (ListAttr::HasNoChildren, "HasNoChildren"),
    (ListAttr::All, "All"),
    (ListAttr::Archive, "Archive"),
    (ListAttr::Drafts, "Drafts"),
    (ListAttr::Flagged, "Flagged"),
    (ListAttr::Junk, "Junk"),
    (ListAttr::Sent, "Sent"),
    (ListAttr::Trash, "Trash"),
];

impl ListAttr {
    /// From the name without backslash (case-insensitive).
    pub fn from_name(a: &str) -> Option<ListAttr> {
        for (v, n) in LIST_ATTRS {
            if n.eq_ignore_ascii_case(a) {
                return Some(v.clone());
            }
        }
        Atom::new(a).ok().map(ListAttr::Other)
    }
    fn write(&self, w: &mut Writer) {
        w.byte(b'\\');
        if let ListAttr::Other(a) = self {
            return w.raw(a.as_str().as_bytes());
        }
        for (v, n) in LIST_ATTRS {
            if v == self {
                w.raw(n.as_bytes());
            }
        }
    }
}

/// A `LIST` or `LSUB` response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Attributes.
    pub attributes: Vec<ListAttr>,
    /// Hierarchy delimiter, `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// The mailbox.
    pub mailbox: Mailbox,
    /// `("CHILDINFO" ("SUBSCRIBED"))` extended item (LIST-EXTENDED RECURSIVEMATCH).
    pub child_subscribed: bool,
}

/// A `STATUS` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusValue {
    /// Which item.
    pub item: StatusItem,
    /// Its value.
    pub value: u64,
}

/// One namespace of a `NAMESPACE` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDesc {
    /// Prefix (`""`, `"Other Users/"`, `"Shared/"`).
    pub prefix: String,
    /// Hierarchy delimiter.
    pub delimiter: Option<char>,
}

/// A quota resource in a `QUOTA` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE`, `MESSAGE`, ...
    pub name: Atom,
    /// Current usage (STORAGE in KiB).
    pub usage: u64,
    /// Limit.
    pub limit: u64,
}

/// An `ESEARCH` response (RFC 4731).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ESearch {
    /// The correlator tag.
    pub tag: Option<Tag>,
    /// Numbers are UIDs.
    pub uid: bool,
    /// `MIN`
    pub min: Option<u32>,
    /// `MAX`
    pub max: Option<u32>,
    /// `ALL`
    pub all: Option<Ranges>,
    /// `COUNT`
    pub count: Option<u32>,
    /// `MODSEQ` (CONDSTORE)
    pub modseq: Option<u64>,
}

/// Untagged data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Data<'a> {
    Capability(Vec<Capability>),
    Enabled(Vec<Capability>),
    List(ListItem),
    Lsub(ListItem),
    Status {
        mailbox: Mailbox,
        items: Vec<StatusValue>,
    },
    /// `* SEARCH n...` (with CONDSTORE `(MODSEQ n)`).
    Search {
        nums: Vec<u32>,
        modseq: Option<u64>,
    },
    ESearch(ESearch),
    Flags(Vec<Flag>),
    Exists(u32),
    Recent(u32),
    Expunge(u32),
    Fetch {
        seq: u32,
        items: Vec<FetchItem<'a>>,
    },
    /// QRESYNC `* VANISHED [(EARLIER)] uids`.
    Vanished {
        earlier: bool,
        uids: Ranges,
    },
    Id(Option<Vec<(String, Option<String>)>>),
    /// Empty vectors are written as NIL.
    Namespace {
        personal: Vec<NamespaceDesc>,
        other: Vec<NamespaceDesc>,
        shared: Vec<NamespaceDesc>,
    },
    Acl {
        mailbox: Mailbox,
        entries: Vec<(String, String)>,
    },
    ListRights {
        mailbox: Mailbox,
        identifier: String,
        required: String,
        optional: Vec<String>,
    },
    MyRights {
        mailbox: Mailbox,
        rights: String,
    },
    Quota {
        root: String,
        resources: Vec<QuotaResource>,
    },
    QuotaRoot {
        mailbox: Mailbox,
        roots: Vec<String>,
    },
}

/// A server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<'a> {
    /// `tag OK/NO/BAD [code] text`
    Tagged {
        /// The command's tag.
        tag: Tag,
        /// Completion.
        status: Status,
        /// Response code.
        code: Option<Code>,
        /// Human-readable text.
        text: String,
    },
    /// `* OK/NO/BAD [code] text`
    Status {
        /// Status.
        status: Status,
        /// Response code.
        code: Option<Code>,
        /// Text.
        text: String,
    },
    /// `* PREAUTH [code] text`
    PreAuth {
        /// Response code.
        code: Option<Code>,
        /// Text.
        text: String,
    },
    /// `* BYE [code] text`
    Bye {
        /// Response code.
        code: Option<Code>,
        /// Text.
        text: String,
    },
    /// `* ...` data.
    Data(Data<'a>),
    /// `+ text` (for SASL, the text is the base64 challenge).
    Continue {
        /// Response code.
        code: Option<Code>,
        /// Text.
        text: String,
    },
}

// ------------------------------------------------------------------ writer

fn write_text(w: &mut Writer, text: &str) {
    // Text can never contain CR or LF: replace them rather than let the host inject lines.
    for &b in text.as_bytes() {
        w.byte(if b == b'\r' || b == b'\n' || b == 0 {
            b' '
        } else {
            b
        });
    }
    // A line ending in `{n}` announces a literal to every IMAP framer: never end text so.
    if ends_like_literal(text.as_bytes()) {
        w.byte(b'.');
    }
}

/// Whether `t` ends with `{digits}`, `{digits+}` or `{digits-}`.
fn ends_like_literal(t: &[u8]) -> bool {
    let Some(body) = t.strip_suffix(b"}") else {
        return false;
    };
    let Some(open) = body.iter().rposition(|&b| b == b'{') else {
        return false;
    };
    let inner = &body[open + 1..];
    let digits = inner
        .strip_suffix(b"+")
        .or_else(|| inner.strip_suffix(b"-"))
        .unwrap_or(inner);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn write_resp_text(w: &mut Writer, code: &Option<Code>, text: &str) {
    if let Some(c) = code {
        w.byte(b'[');
        c.write(w);
        w.raw(b"] ");
    } else if text.starts_with('[') {
        // would be read as a code
        w.byte(b' ');
    }
    write_text(w, text);
}

impl Code {
    pub(crate) fn write(&self, w: &mut Writer) {
        let simple = |w: &mut Writer, s: &str| w.raw(s.as_bytes());
        match self {
            Code::Alert => simple(w, "ALERT"),
            Code::AlreadyExists => simple(w, "ALREADYEXISTS"),
            Code::AppendUid { uid_validity, uids } => {
                w.raw(b"APPENDUID ");
                w.num(*uid_validity as u64);
                w.byte(b' ');
                uids.write(w);
            }
            Code::AuthenticationFailed => simple(w, "AUTHENTICATIONFAILED"),
            Code::AuthorizationFailed => simple(w, "AUTHORIZATIONFAILED"),
            Code::BadCharset(v) => {
                w.raw(b"BADCHARSET");
                if !v.is_empty() {
                    w.byte(b' ');
                    write_list(w, v, |w, c| w.astring(c.as_bytes()));
                }
            }
            Code::Cannot => simple(w, "CANNOT"),
            Code::Capability(v) => {
                w.raw(b"CAPABILITY");
                for c in v {
                    w.byte(b' ');
                    c.write(w);
                }
            }
            Code::ClientBug => simple(w, "CLIENTBUG"),
            Code::Closed => simple(w, "CLOSED"),
            Code::ContactAdmin => simple(w, "CONTACTADMIN"),
            Code::CopyUid {
                uid_validity,
                source,
                dest,
            } => {
                w.raw(b"COPYUID ");
                w.num(*uid_validity as u64);
                w.byte(b' ');
                source.write(w);
                w.byte(b' ');
                dest.write(w);
            }
            Code::Corruption => simple(w, "CORRUPTION"),
            Code::Expired => simple(w, "EXPIRED"),
            Code::ExpungeIssued => simple(w, "EXPUNGEISSUED"),
            Code::HasChildren => simple(w, "HASCHILDREN"),
            Code::InUse => simple(w, "INUSE"),
            Code::Limit => simple(w, "LIMIT"),
            Code::NonExistent => simple(w, "NONEXISTENT"),
            Code::NoPerm => simple(w, "NOPERM"),
            Code::OverQuota => simple(w, "OVERQUOTA"),
            Code::Parse => simple(w, "PARSE"),
            Code::PermanentFlags(v) => {
                w.raw(b"PERMANENTFLAGS ");
                write_list(w, v, |w, f| f.write(w));
            }
            Code::PrivacyRequired => simple(w, "PRIVACYREQUIRED"),
            Code::ReadOnly => simple(w, "READ-ONLY"),
            Code::ReadWrite => simple(w, "READ-WRITE"),
            Code::ServerBug => simple(w, "SERVERBUG"),
            Code::TryCreate => simple(w, "TRYCREATE"),
            Code::UidNext(n) => {
                w.raw(b"UIDNEXT ");
                w.num(*n as u64)
            }
            Code::UidNotSticky => simple(w, "UIDNOTSTICKY"),
            Code::UidValidity(n) => {
                w.raw(b"UIDVALIDITY ");
                w.num(*n as u64)
            }
            Code::Unavailable => simple(w, "UNAVAILABLE"),
            Code::UnknownCte => simple(w, "UNKNOWN-CTE"),
            Code::Unseen(n) => {
                w.raw(b"UNSEEN ");
                w.num(*n as u64)
            }
            Code::HighestModSeq(n) => {
                w.raw(b"HIGHESTMODSEQ ");
                w.num(*n)
            }
            Code::NoModSeq => simple(w, "NOMODSEQ"),
            Code::Modified(r) => {
                w.raw(b"MODIFIED ");
                r.write(w)
            }
            Code::TooBig => simple(w, "TOOBIG"),
            Code::NotSaved => simple(w, "NOTSAVED"),
            Code::Other(a, t) => {
                w.raw(a.as_str().as_bytes());
                if let Some(t) = t {
                    w.byte(b' ');
                    for &b in t.as_bytes() {
                        w.byte(if matches!(b, b']' | b'\r' | b'\n' | 0) {
                            b' '
                        } else {
                            b
                        });
                    }
                }
            }
        }
    }
}

fn write_delim(w: &mut Writer, d: Option<char>) {
    match d {
        None => w.raw(b"NIL"),
        Some(c) => {
            let mut buf = [0u8; 4];
            w.string(c.encode_utf8(&mut buf).as_bytes())
        }
    }
}

fn write_list_item(w: &mut Writer, name: &[u8], l: &ListItem) {
    w.raw(name);
    write_list(w, &l.attributes, |w, a| a.write(w));
    w.byte(b' ');
    write_delim(w, l.delimiter);
    w.byte(b' ');
    l.mailbox.write(w);
    if l.child_subscribed {
        w.raw(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
    }
}

fn write_ns(w: &mut Writer, v: &[NamespaceDesc]) {
    if v.is_empty() {
        return w.raw(b"NIL");
    }
    write_list(w, v, |w, n| {
        w.byte(b'(');
        let m = if w.utf8 || n.prefix.is_ascii() && !n.prefix.contains('&') {
            n.prefix.clone()
        } else {
            super::mailbox::encode_utf7(&n.prefix)
        };
        w.string(m.as_bytes());
        w.byte(b' ');
        write_delim(w, n.delimiter);
        w.byte(b')');
    });
}

impl Data<'_> {
    /// Writes `* ...` with its CRLF.
    pub fn write(&self, w: &mut Writer) {
        w.raw(b"* ");
        match self {
            Data::Capability(v) | Data::Enabled(v) => {
                w.raw(if matches!(self, Data::Capability(_)) {
                    b"CAPABILITY"
                } else {
                    b"ENABLED"
                });
                for c in v {
                    w.byte(b' ');
                    c.write(w);
                }
            }
            Data::List(l) => write_list_item(w, b"LIST ", l),
            Data::Lsub(l) => write_list_item(w, b"LSUB ", l),
            Data::Status { mailbox, items } => {
                w.raw(b"STATUS ");
                mailbox.write(w);
                w.byte(b' ');
                write_list(w, items, |w, s| {
                    w.raw(s.item.name().as_bytes());
                    w.byte(b' ');
                    w.num(s.value);
                });
            }
            Data::Search { nums, modseq } => {
                w.raw(b"SEARCH");
                for n in nums {
                    w.byte(b' ');
                    w.num(*n as u64);
                }
                if let Some(m) = modseq {
                    w.raw(b" (MODSEQ ");
                    w.num(*m);
                    w.byte(b')');
                }
            }
            Data::ESearch(e) => {
                w.raw(b"ESEARCH");
                if let Some(t) = &e.tag {
                    w.raw(b" (TAG ");
                    w.string(t.as_str().as_bytes());
                    w.byte(b')');
                }
                if e.uid {
                    w.raw(b" UID");
                }
                if let Some(n) = e.min {
                    w.raw(b" MIN ");
                    w.num(n as u64);
                }
                if let Some(n) = e.max {
                    w.raw(b" MAX ");
                    w.num(n as u64);
                }
                if let Some(r) = &e.all {
                    w.raw(b" ALL ");
                    r.write(w);
                }
                if let Some(n) = e.count {
                    w.raw(b" COUNT ");
                    w.num(n as u64);
                }
                if let Some(n) = e.modseq {
                    w.raw(b" MODSEQ ");
                    w.num(n);
                }
            }
            Data::Flags(f) => {
                w.raw(b"FLAGS ");
                write_list(w, f, |w, f| f.write(w));
            }
            Data::Exists(n) => {
                w.num(*n as u64);
                w.raw(b" EXISTS");
            }
            Data::Recent(n) => {
                w.num(*n as u64);
                w.raw(b" RECENT");
            }
            Data::Expunge(n) => {
                w.num(*n as u64);
                w.raw(b" EXPUNGE");
            }
            Data::Fetch { seq, items } => {
                w.num(*seq as u64);
                w.raw(b" FETCH ");
                write_list(w, items, |w, i| i.write(w));
            }
            Data::Vanished { earlier, uids } => {
                w.raw(if *earlier {
                    b"VANISHED (EARLIER) "
                } else {
                    b"VANISHED "
                });
                uids.write(w);
            }
            Data::Id(None) => w.raw(b"ID NIL"),
            Data::Id(Some(v)) => {
                w.raw(b"ID ");
                write_list(w, v, |w, (k, v)| {
                    w.string(k.as_bytes());
                    w.byte(b' ');
                    w.nstring(v.as_ref().map(|s| s.as_bytes()));
                });
            }
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                w.raw(b"NAMESPACE ");
                write_ns(w, personal);
                w.byte(b' ');
                write_ns(w, other);
                w.byte(b' ');
                write_ns(w, shared);
            }
            Data::Acl { mailbox, entries } => {
                w.raw(b"ACL ");
                mailbox.write(w);
                for (id, r) in entries {
                    w.byte(b' ');
                    w.astring(id.as_bytes());
                    w.byte(b' ');
                    w.astring(r.as_bytes());
                }
            }
            Data::ListRights {
                mailbox,
                identifier,
                required,
                optional,
            } => {
                w.raw(b"LISTRIGHTS ");
                mailbox.write(w);
                w.byte(b' ');
                w.astring(identifier.as_bytes());
                w.byte(b' ');
                w.astring(required.as_bytes());
                for o in optional {
                    w.byte(b' ');
                    w.astring(o.as_bytes());
                }
            }
            Data::MyRights { mailbox, rights } => {
                w.raw(b"MYRIGHTS ");
                mailbox.write(w);
                w.byte(b' ');
                w.astring(rights.as_bytes());
            }
            Data::Quota { root, resources } => {
                w.raw(b"QUOTA ");
                w.astring(root.as_bytes());
                w.byte(b' ');
                write_list(w, resources, |w, r| {
                    w.raw(r.name.as_str().as_bytes());
                    w.byte(b' ');
                    w.num(r.usage);
                    w.byte(b' ');
                    w.num(r.limit);
                });
            }
            Data::QuotaRoot { mailbox, roots } => {
                w.raw(b"QUOTAROOT ");
                mailbox.write(w);
                for r in roots {
                    w.byte(b' ');
                    w.astring(r.as_bytes());
                }
            }
        }
        w.raw(b"\r\n");
    }
}

impl Response<'_> {
    /// Writes the response with its CRLF.
    pub fn write(&self, w: &mut Writer) {
        match self {
            Response::Tagged {
                tag,
                status,
                code,
                text,
            } => {
                w.raw(tag.as_str().as_bytes());
                w.raw(match status {
                    Status::Ok => b" OK ",
                    Status::No => b" NO ",
                    Status::Bad => b" BAD ",
                });
                write_resp_text(w, code, text);
                w.raw(b"\r\n");
            }
            Response::Status { status, code, text } => {
                w.raw(match status {
                    Status::Ok => b"* OK ",
                    Status::No => b"* NO ",
                    Status::Bad => b"* BAD ",
                });
                write_resp_text(w, code, text);
                w.raw(b"\r\n");
            }
            Response::PreAuth { code, text } => {
                w.raw(b"* PREAUTH ");
                write_resp_text(w, code, text);
                w.raw(b"\r\n");
            }
            Response::Bye { code, text } => {
                w.raw(b"* BYE ");
                write_resp_text(w, code, text);
                w.raw(b"\r\n");
            }
            Response::Data(d) => d.write(w),
            Response::Continue { code, text } => {
                w.raw(b"+ ");
                if code.is_none() && text.is_empty() {
                    // empty SASL challenge
                    w.raw(b"\r\n");
                    return;
                }
                write_resp_text(w, code, text);
                w.raw(b"\r\n");
            }
        }
    }

    /// The wire bytes (UTF-8 mode off: mailbox names in modified UTF-7).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(false);
        self.write(&mut w);
        w.buf
    }

    /// An owned copy.
    pub fn into_owned(self) -> Response<'static> {
        match self {
            Response::Tagged {
                tag,
                status,
                code,
                text,
            } => Response::Tagged {
                tag,
                status,
                code,
                text,
            },
            Response::Status { status, code, text } => Response::Status { status, code, text },
            Response::PreAuth { code, text } => Response::PreAuth { code, text },
            Response::Bye { code, text } => Response::Bye { code, text },
            Response::Continue { code, text } => Response::Continue { code, text },
            Response::Data(d) => Response::Data(match d {
                Data::Fetch { seq, items } => Data::Fetch {
                    seq,
                    items: items.into_iter().map(FetchItem::into_owned).collect(),
                },
                Data::Capability(v) => Data::Capability(v),
                Data::Enabled(v) => Data::Enabled(v),
                Data::List(l) => Data::List(l),
                Data::Lsub(l) => Data::Lsub(l),
                Data::Status { mailbox, items } => Data::Status { mailbox, items },
                Data::Search { nums, modseq } => Data::Search { nums, modseq },
                Data::ESearch(e) => Data::ESearch(e),
                Data::Flags(f) => Data::Flags(f),
                Data::Exists(n) => Data::Exists(n),
                Data::Recent(n) => Data::Recent(n),
                Data::Expunge(n) => Data::Expunge(n),
                Data::Vanished { earlier, uids } => Data::Vanished { earlier, uids },
                Data::Id(v) => Data::Id(v),
                Data::Namespace {
                    personal,
                    other,
                    shared,
                } => Data::Namespace {
                    personal,
                    other,
                    shared,
                },
                Data::Acl { mailbox, entries } => Data::Acl { mailbox, entries },
                Data::ListRights {
                    mailbox,
                    identifier,
                    required,
                    optional,
                } => Data::ListRights {
                    mailbox,
                    identifier,
                    required,
                    optional,
                },
                Data::MyRights { mailbox, rights } => Data::MyRights { mailbox, rights },
                Data::Quota { root, resources } => Data::Quota { root, resources },
                Data::QuotaRoot { mailbox, roots } => Data::QuotaRoot { mailbox, roots },
            }),
        }
    }
}

// ------------------------------------------------------------------ parser (client side)

/// Parses one complete response (with its CRLF and literals). `utf8`: mailbox names are UTF-8.
pub fn parse_response(input: &[u8], utf8: bool) -> Result<Response<'_>, Error> {
    match response(input, utf8) {
        Ok((r, resp)) => match crlf(r) {
            Ok((b"", _)) => Ok(resp),
            _ => Err(Error::Parse("trailing characters after response")),
        },
        Err(_) => Err(Error::Parse("invalid response")),
    }
}

fn text(i: &[u8]) -> PResult<'_, String> {
    let n = i
        .iter()
        .take_while(|&&b| b != b'\r' && b != b'\n' && b != 0)
        .count();
    if ends_like_literal(&i[..n]) {
        return fail(i);
    }
    match std::str::from_utf8(&i[..n]) {
        Ok(s) => Ok((&i[n..], s.to_owned())),
        Err(_) => fail(i),
    }
}

fn resp_text(i: &[u8]) -> PResult<'_, (Option<Code>, String)> {
    if i.first() == Some(&b'[') {
        let (r, c) = code(&i[1..])?;
        let (r, _) = byte(b']')(r)?;
        let r = match r.first() {
            Some(b' ') => &r[1..],
            _ => r,
        };
        let (r, t) = text(r)?;
        return Ok((r, (Some(c), t)));
    }
    let (r, t) = text(i)?;
    // A leading space protects text starting with '['.
    let t = if t.starts_with(" [") {
        t[1..].to_owned()
    } else {
        t
    };
    Ok((r, (None, t)))
}

fn code(i: &[u8]) -> PResult<'_, Code> {
    let n = i.iter().take_while(|&&b| is_atom_char(b)).count();
    let (name, r) = i.split_at(n);
    if n == 0 {
        return fail(i);
    }
    let up = name.to_ascii_uppercase();
    let c = match up.as_slice() {
        b"ALERT" => Code::Alert,
        b"ALREADYEXISTS" => Code::AlreadyExists,
        b"APPENDUID" => {
            let (r, _) = sp(r)?;
            let (r, v) = nz_number(r)?;
            let (r, _) = sp(r)?;
            let (r, uids) = ranges(r)?;
            return Ok((
                r,
                Code::AppendUid {
                    uid_validity: v,
                    uids,
                },
            ));
        }
        b"AUTHENTICATIONFAILED" => Code::AuthenticationFailed,
        b"AUTHORIZATIONFAILED" => Code::AuthorizationFailed,
        b"BADCHARSET" => {
            if r.first() == Some(&b' ') {
                let (r, v) = paren_list(&r[1..], astring_utf8)?;
                return Ok((r, Code::BadCharset(v)));
            }
            Code::BadCharset(vec![])
        }
        b"CANNOT" => Code::Cannot,
        b"CAPABILITY" => {
            let (r, v) = capabilities(r)?;
            return Ok((r, Code::Capability(v)));
        }
        b"CLIENTBUG" => Code::ClientBug,
        b"CLOSED" => Code::Closed,
        b"CONTACTADMIN" => Code::ContactAdmin,
        b"COPYUID" => {
            let (r, _) = sp(r)?;
            let (r, v) = nz_number(r)?;
            let (r, _) = sp(r)?;
            let (r, source) = ranges(r)?;
            let (r, _) = sp(r)?;
            let (r, dest) = ranges(r)?;
            return Ok((
                r,
                Code::CopyUid {
                    uid_validity: v,
                    source,
                    dest,
                },
            ));
        }
        b"CORRUPTION" => Code::Corruption,
        b"EXPIRED" => Code::Expired,
        b"EXPUNGEISSUED" => Code::ExpungeIssued,
        b"HASCHILDREN" => Code::HasChildren,
        b"INUSE" => Code::InUse,
        b"LIMIT" => Code::Limit,
        b"NONEXISTENT" => Code::NonExistent,
        b"NOPERM" => Code::NoPerm,
        b"OVERQUOTA" => Code::OverQuota,
        b"PARSE" => Code::Parse,
        b"PERMANENTFLAGS" => {
            let (r, _) = sp(r)?;
            let (r, v) = paren_list(r, flag_perm)?;
            return Ok((r, Code::PermanentFlags(v)));
        }
        b"PRIVACYREQUIRED" => Code::PrivacyRequired,
        b"READ-ONLY" => Code::ReadOnly,
        b"READ-WRITE" => Code::ReadWrite,
        b"SERVERBUG" => Code::ServerBug,
        b"TRYCREATE" => Code::TryCreate,
        b"UIDNEXT" | b"UIDVALIDITY" | b"UNSEEN" => {
            let (r, _) = sp(r)?;
            let (r, v) = nz_number(r)?;
            return Ok((
                r,
                match up.as_slice() {
                    b"UIDNEXT" => Code::UidNext(v),
                    b"UIDVALIDITY" => Code::UidValidity(v),
                    _ => Code::Unseen(v),
                },
            ));
        }
        b"UIDNOTSTICKY" => Code::UidNotSticky,
        b"UNAVAILABLE" => Code::Unavailable,
        b"UNKNOWN-CTE" => Code::UnknownCte,
        b"HIGHESTMODSEQ" => {
            let (r, _) = sp(r)?;
            let (r, v) = number64(r)?;
            return Ok((r, Code::HighestModSeq(v)));
        }
        b"NOMODSEQ" => Code::NoModSeq,
        b"MODIFIED" => {
            let (r, _) = sp(r)?;
            let (r, v) = ranges(r)?;
            return Ok((r, Code::Modified(v)));
        }
        b"TOOBIG" => Code::TooBig,
        b"NOTSAVED" => Code::NotSaved,
        _ => {
            let a = Atom::from_valid(name);
            if r.first() == Some(&b' ') {
                let n = r[1..]
                    .iter()
                    .take_while(|&&b| !matches!(b, b']' | b'\r' | b'\n' | 0))
                    .count();
                let t = std::str::from_utf8(&r[1..1 + n]).map_err(|_| {
                    nom::Err::Error(nom::error::Error::new(r, nom::error::ErrorKind::Verify))
                })?;
                return Ok((&r[1 + n..], Code::Other(a, Some(t.to_owned()))));
            }
            Code::Other(a, None)
        }
    };
    Ok((r, c))
}

fn capabilities(i: &[u8]) -> PResult<'_, Vec<Capability>> {
    let mut v = Vec::new();
    let mut r = i;
    while r.first() == Some(&b' ') {
        let (r2, a) = atom_str(&r[1..])?;
        v.push(Capability::from_atom(a));
        r = r2;
    }
    Ok((r, v))
}

fn delim(i: &[u8]) -> PResult<'_, Option<char>> {
    if let Ok((r, _)) = kw("NIL")(i) {
        return Ok((r, None));
    }
    let (r, q) = quoted(i)?;
    let s = match std::str::from_utf8(&q) {
        Ok(s) => s,
        Err(_) => return fail(i),
    };
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok((r, Some(c))),
        _ => fail(i),
    }
}

fn list_item(i: &[u8], utf8: bool) -> PResult<'_, ListItem> {
    let (r, attrs) = paren_list(i, |i| {
        let (r, _) = byte(b'\\')(i)?;
        let (r, a) = atom_str(r)?;
        match ListAttr::from_name(a) {
            Some(a) => Ok((r, a)),
            None => fail(i),
        }
    })?;
    let (r, _) = sp(r)?;
    let (r, d) = delim(r)?;
    let (r, _) = sp(r)?;
    let (r, m) = match super::literal::string(r) {
        Ok((r2, s)) if s.is_empty() => (r2, Mailbox::root()),
        _ => mailbox(r, utf8)?,
    };
    let (r, child) = match kw(" (\"CHILDINFO\" (\"SUBSCRIBED\"))")(r) {
        Ok((r, _)) => (r, true),
        Err(_) => (r, false),
    };
    Ok((
        r,
        ListItem {
            attributes: attrs,
            delimiter: d,
            mailbox: m,
            child_subscribed: child,
        },
    ))
}

fn ns(i: &[u8], utf8: bool) -> PResult<'_, Vec<NamespaceDesc>> {
    if let Ok((r, _)) = kw("NIL")(i) {
        return Ok((r, vec![]));
    }
    let (r, v) = paren_list(i, |i| {
        let (r, _) = byte(b'(')(i)?;
        let (r, p) = string_utf8(r)?;
        let (r, _) = sp(r)?;
        let (r, d) = delim(r)?;
        let (r, _) = byte(b')')(r)?;
        let p = if utf8 || !p.is_ascii() {
            p
        } else {
            match super::mailbox::decode_utf7(&p) {
                Ok(p) => p,
                Err(_) => return fail(i),
            }
        };
        Ok((
            r,
            NamespaceDesc {
                prefix: p,
                delimiter: d,
            },
        ))
    })?;
    if v.is_empty() {
        return fail(i);
    }
    Ok((r, v))
}

fn response(i: &[u8], utf8: bool) -> PResult<'_, Response<'_>> {
    if let Ok((r, _)) = kw("+ ")(i) {
        let (r, (code, text)) = resp_text(r)?;
        return Ok((r, Response::Continue { code, text }));
    }
    if i.starts_with(b"+\r\n") {
        return Ok((
            &i[1..],
            Response::Continue {
                code: None,
                text: String::new(),
            },
        ));
    }
    if let Ok((r, _)) = kw("* ")(i) {
        return untagged(r, utf8);
    }
    let n = i.iter().take_while(|&&b| is_tag_char(b)).count();
    if n == 0 {
        return fail(i);
    }
    let tag = Tag::from_valid(&i[..n]);
    let (r, _) = sp(&i[n..])?;
    let (r, a) = atom(r)?;
    let status = match a.to_ascii_uppercase().as_slice() {
        b"OK" => Status::Ok,
        b"NO" => Status::No,
        b"BAD" => Status::Bad,
        _ => return fail(i),
    };
    let (r, _) = sp(r)?;
    let (r, (code, text)) = resp_text(r)?;
    Ok((
        r,
        Response::Tagged {
            tag,
            status,
            code,
            text,
        },
    ))
}

#[allow(clippy::let_and_return)]
fn untagged(i: &[u8], utf8: bool) -> PResult<'_, Response<'_>> {
    if i.first().is_some_and(u8::is_ascii_digit) {
        let (r, n) = number(i)?;
        let (r, _) = sp(r)?;
        let (r, a) = atom(r)?;
        let d = match a.to_ascii_uppercase().as_slice() {
            b"EXISTS" => Data::Exists(n),
            b"RECENT" => Data::Recent(n),
            b"EXPUNGE" if n > 0 => Data::Expunge(n),
            b"FETCH" if n > 0 => {
                let (r, _) = sp(r)?;
                let (r, items) = paren_list(r, fetch_item)?;
                if items.is_empty() {
                    return fail(r);
                }
                return Ok((r, Response::Data(Data::Fetch { seq: n, items })));
            }
            _ => return fail(i),
        };
        return Ok((r, Response::Data(d)));
    }
    let (r, a) = atom(i)?;
    let up = a.to_ascii_uppercase();
    let status = |s: Status, r| -> PResult<'_, Response<'_>> {
        let (r, _) = sp(r)?;
        let (r, (code, text)) = resp_text(r)?;
        Ok((
            r,
            Response::Status {
                status: s,
                code,
                text,
            },
        ))
    };
    let d = match up.as_slice() {
        b"OK" => return status(Status::Ok, r),
        b"NO" => return status(Status::No, r),
        b"BAD" => return status(Status::Bad, r),
        b"PREAUTH" | b"BYE" => {
            let (r, _) = sp(r)?;
            let (r, (code, text)) = resp_text(r)?;
            return Ok((
                r,
                if up == b"BYE" {
                    Response::Bye { code, text }
                } else {
                    Response::PreAuth { code, text }
                },
            ));
        }
        b"CAPABILITY" => {
            let (r, v) = capabilities(r)?;
            return Ok((r, Response::Data(Data::Capability(v))));
        }
        b"ENABLED" => {
            let (r, v) = capabilities(r)?;
            return Ok((r, Response::Data(Data::Enabled(v))));
        }
        b"LIST" | b"LSUB" => {
            let (r, _) = sp(r)?;
            let (r, l) = list_item(r, utf8)?;
            return Ok((
                r,
                Response::Data(if up == b"LIST" {
                    Data::List(l)
                } else {
                    Data::Lsub(l)
                }),
            ));
        }
        b"STATUS" => {
            let (r, _) = sp(r)?;
            let (r, m) = mailbox(r, utf8)?;
            let (r, _) = sp(r)?;
            let (r, items) = paren_list(r, |i| {
                let (r, a) = atom(i)?;
                let item = match StatusItem::from_name(a) {
                    Some(s) => s,
                    None => return fail(i),
                };
                let (r, _) = sp(r)?;
                let (r, value) = number64(r)?;
                Ok((r, StatusValue { item, value }))
            })?;
            return Ok((r, Response::Data(Data::Status { mailbox: m, items })));
        }
        b"SEARCH" => {
            let mut nums = Vec::new();
            let mut r = r;
            let mut modseq = None;
            while r.first() == Some(&b' ') {
                if let Ok((r2, _)) = kw(" (MODSEQ ")(r) {
                    let (r2, m) = number64(r2)?;
                    let (r2, _) = byte(b')')(r2)?;
                    modseq = Some(m);
                    r = r2;
                    break;
                }
                let (r2, n) = nz_number(&r[1..])?;
                nums.push(n);
                r = r2;
            }
            return Ok((r, Response::Data(Data::Search { nums, modseq })));
        }
        b"ESEARCH" => {
            let mut e = ESearch::default();
            let mut r = r;
            if let Ok((r2, _)) = kw(" (TAG ")(r) {
                let (r2, t) = string_utf8(r2)?;
                let (r2, _) = byte(b')')(r2)?;
                e.tag = Some(match Tag::new(t) {
                    Ok(t) => t,
                    Err(_) => return fail(r),
                });
                r = r2;
            }
            if let Ok((r2, _)) = kw(" UID")(r)
                && !r2.first().is_some_and(|&b| is_atom_char(b))
            {
                e.uid = true;
                r = r2;
            }
            while r.first() == Some(&b' ') {
                let (r2, a) = atom(&r[1..])?;
                let (r2, _) = sp(r2)?;
                let up = a.to_ascii_uppercase();
                r = match up.as_slice() {
                    b"MIN" => nz_number(r2).map(|(r, n)| {
                        e.min = Some(n);
                        r
                    })?,
                    b"MAX" => nz_number(r2).map(|(r, n)| {
                        e.max = Some(n);
                        r
                    })?,
                    b"COUNT" => number(r2).map(|(r, n)| {
                        e.count = Some(n);
                        r
                    })?,
                    b"MODSEQ" => number64(r2).map(|(r, n)| {
                        e.modseq = Some(n);
                        r
                    })?,
                    b"ALL" => ranges(r2).map(|(r, n)| {
                        e.all = Some(n);
                        r
                    })?,
                    _ => return fail(r),
                };
            }
            return Ok((r, Response::Data(Data::ESearch(e))));
        }
        b"FLAGS" => {
            let (r, _) = sp(r)?;
            let (r, f) = paren_list(r, flag)?;
            Data::Flags(f).with(r)
        }
        b"VANISHED" => {
            let (r, _) = sp(r)?;
            let (r, earlier) = match kw("(EARLIER) ")(r) {
                Ok((r, _)) => (r, true),
                Err(_) => (r, false),
            };
            let (r, uids) = ranges(r)?;
            Data::Vanished { earlier, uids }.with(r)
        }
        b"ID" => {
            let (r, _) = sp(r)?;
            if let Ok((r, _)) = kw("NIL")(r) {
                return Ok((r, Response::Data(Data::Id(None))));
            }
            let (r, v) = paren_list(r, |i| {
                let (r, k) = string_utf8(i)?;
                let (r, _) = sp(r)?;
                let (r, v) = nstring_utf8(r)?;
                Ok((r, (k, v)))
            })?;
            Data::Id(Some(v)).with(r)
        }
        b"NAMESPACE" => {
            let (r, _) = sp(r)?;
            let (r, personal) = ns(r, utf8)?;
            let (r, _) = sp(r)?;
            let (r, other) = ns(r, utf8)?;
            let (r, _) = sp(r)?;
            let (r, shared) = ns(r, utf8)?;
            Data::Namespace {
                personal,
                other,
                shared,
            }
            .with(r)
        }
        b"ACL" => {
            let (r, _) = sp(r)?;
            let (mut r, m) = mailbox(r, utf8)?;
            let mut entries = Vec::new();
            while r.first() == Some(&b' ') {
                let (r2, id) = astring_utf8(&r[1..])?;
                let (r2, _) = sp(r2)?;
                let (r2, rights) = astring_utf8(r2)?;
                entries.push((id, rights));
                r = r2;
            }
            Data::Acl {
                mailbox: m,
                entries,
            }
            .with(r)
        }
        b"LISTRIGHTS" => {
            let (r, _) = sp(r)?;
            let (r, m) = mailbox(r, utf8)?;
            let (r, _) = sp(r)?;
            let (r, identifier) = astring_utf8(r)?;
            let (r, _) = sp(r)?;
            let (mut r, required) = astring_utf8(r)?;
            let mut optional = Vec::new();
            while r.first() == Some(&b' ') {
                let (r2, o) = astring_utf8(&r[1..])?;
                optional.push(o);
                r = r2;
            }
            Data::ListRights {
                mailbox: m,
                identifier,
                required,
                optional,
            }
            .with(r)
        }
        b"MYRIGHTS" => {
            let (r, _) = sp(r)?;
            let (r, m) = mailbox(r, utf8)?;
            let (r, _) = sp(r)?;
            let (r, rights) = astring_utf8(r)?;
            Data::MyRights { mailbox: m, rights }.with(r)
        }
        b"QUOTA" => {
            let (r, _) = sp(r)?;
            let (r, root) = astring_utf8(r)?;
            let (r, _) = sp(r)?;
            let (r, resources) = paren_list(r, |i| {
                let (r, a) = atom(i)?;
                let (r, _) = sp(r)?;
                let (r, usage) = number64(r)?;
                let (r, _) = sp(r)?;
                let (r, limit) = number64(r)?;
                Ok((
                    r,
                    QuotaResource {
                        name: Atom::from_valid(a),
                        usage,
                        limit,
                    },
                ))
            })?;
            Data::Quota { root, resources }.with(r)
        }
        b"QUOTAROOT" => {
            let (r, _) = sp(r)?;
            let (mut r, m) = mailbox(r, utf8)?;
            let mut roots = Vec::new();
            while r.first() == Some(&b' ') {
                let (r2, o) = astring_utf8(&r[1..])?;
                roots.push(o);
                r = r2;
            }
            Data::QuotaRoot { mailbox: m, roots }.with(r)
        }
        _ => return fail(i),
    };
    d
}

impl<'a> Data<'a> {
    fn with(self, r: &'a [u8]) -> PResult<'a, Response<'a>> {
        Ok((r, Response::Data(self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) {
        let r = parse_response(s.as_bytes(), false).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(String::from_utf8(r.to_bytes()).unwrap(), s);
    }

    #[test]
    fn round_trips() {
        rt("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
        rt("a1 OK [READ-WRITE] SELECT completed\r\n");
        rt("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");
        rt("* 172 EXISTS\r\n");
        rt("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
        rt("* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n");
        rt("* 12 FETCH (FLAGS (\\Seen) UID 4827313 RFC822.SIZE 44827)\r\n");
        rt("A003 OK [APPENDUID 38505 3955] APPEND completed\r\n");
        rt("* ESEARCH (TAG \"a\") UID MIN 2 ALL 2:5,7 COUNT 5\r\n");
        rt("* VANISHED (EARLIER) 41,43:116\r\n");
        rt("* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL\r\n");
        rt("* QUOTA \"\" (STORAGE 10 512)\r\n");
        rt("* ACL INBOX Fred rwipslxetad\r\n");
        rt("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n");
        rt("+ Ready for literal data\r\n");
        rt("* BYE Autologout; idle for too long\r\n");
        rt("* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN LITERAL+\r\n");
        rt("* 3 FETCH (BODY[1.HEADER.FIELDS (FROM)] {5}\r\nab\r\nc)\r\n");
    }

    #[test]
    fn text_cannot_inject() {
        let r = Response::Tagged {
            tag: Tag::new("a").unwrap(),
            status: Status::No,
            code: None,
            text: "bad\r\n* OK evil".into(),
        };
        assert_eq!(r.to_bytes(), b"a NO bad  * OK evil\r\n");
        let r = Response::Continue {
            code: None,
            text: "send {5}".into(),
        };
        assert_eq!(r.to_bytes(), b"+ send {5}.\r\n");
        assert!(parse_response(b"+ send {5}\r\n", false).is_err());
    }
}
