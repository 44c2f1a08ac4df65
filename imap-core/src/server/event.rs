//! Events: what the session asks the host to decide.

use bytes::Bytes;

use super::config::AuthMechanism;
use crate::Secret;
use crate::syntax::{
    Atom, DateTime, FetchAttr, Flag, ListReturn, ListSelect, Mailbox, QresyncParams, QuotaLimit,
    Ranges, SearchKey, SearchReturn, StatusItem, StoreAction,
};

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// The `LOGIN` command.
    LoginCommand,
    /// `AUTHENTICATE <mechanism>`.
    Sasl(AuthMechanism),
}

/// One event for the host. Every event except the informational ones ([`Event::StartTls`],
/// [`Event::AppendData`], [`Event::AppendAborted`], [`Event::IdleDone`], [`Event::Logout`])
/// must be answered with exactly one completion method of [`super::Server`]; until then no
/// further command is read. All message references are UIDs of the selected mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `STARTTLS` was accepted: write out everything in `transmit()`, then run the TLS
    /// handshake and call [`super::Server::tls_established`]. Do not feed plaintext meanwhile.
    StartTls,
    /// `LOGIN` or `AUTHENTICATE PLAIN/LOGIN`: check the credentials, answer with
    /// [`super::Server::auth_accept`] or [`super::Server::auth_reject`].
    Login {
        /// How.
        method: AuthMethod,
        /// SASL PLAIN authorization identity, if different from the user name.
        authzid: Option<String>,
        /// User name (the full address, by our convention).
        username: String,
        /// Password or app password.
        password: Secret,
    },
    /// `ID` (RFC 2971): answer with [`super::Server::id_reply`].
    Id(Option<Vec<(String, Option<String>)>>),
    /// `SELECT` / `EXAMINE`: answer with [`super::Server::select_ok`] or `no`. Any previously
    /// selected mailbox is already deselected.
    Select {
        /// The mailbox.
        mailbox: Mailbox,
        /// EXAMINE.
        read_only: bool,
        /// CONDSTORE was asked for (or enabled): send HIGHESTMODSEQ.
        condstore: bool,
        /// QRESYNC parameters, if any (QRESYNC enabled).
        qresync: Option<QresyncParams>,
    },
    /// `CREATE`: `ok` or `no`.
    Create {
        /// The mailbox.
        mailbox: Mailbox,
        /// Special-use attributes asked for (RFC 6154 CREATE-SPECIAL-USE).
        special_use: Vec<Atom>,
    },
    /// `DELETE`: `ok` or `no`.
    Delete {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `RENAME`: `ok` or `no`.
    Rename {
        /// Old name.
        from: Mailbox,
        /// New name.
        to: Mailbox,
    },
    /// `SUBSCRIBE`: `ok` or `no`.
    Subscribe {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `UNSUBSCRIBE`: `ok` or `no`.
    Unsubscribe {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `LIST` / `LSUB`: call [`super::Server::list_item`] for each match (see
    /// [`crate::syntax::list_matches`]), [`super::Server::list_status`] for LIST-STATUS, then `ok`.
    List {
        /// Reference name (decoded).
        reference: String,
        /// Patterns (decoded).
        patterns: Vec<String>,
        /// Selection options.
        select: ListSelect,
        /// Return options.
        ret: ListReturn,
        /// This was `LSUB`.
        lsub: bool,
    },
    /// `STATUS`: answer with [`super::Server::status_ok`] or `no`.
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// Items asked.
        items: Vec<StatusItem>,
    },
    /// A message of `APPEND` begins: [`super::Server::append_accept`] (the data follows as
    /// [`Event::AppendData`]) or [`super::Server::append_reject`].
    AppendStart {
        /// Target mailbox.
        mailbox: Mailbox,
        /// Flags to set.
        flags: Vec<Flag>,
        /// INTERNALDATE to set.
        date: Option<DateTime>,
        /// Exact size of the message.
        size: u64,
        /// 0 for the first message, 1.. for further MULTIAPPEND messages.
        index: usize,
    },
    /// A chunk of the message being appended (informational).
    AppendData(Bytes),
    /// All messages of the APPEND were received: store them, then
    /// [`super::Server::append_ok`] or `no`.
    AppendComplete,
    /// The APPEND was abandoned (bad syntax after the message): discard what was received
    /// (informational; the client got a tagged BAD).
    AppendAborted,
    /// `NOOP` or `CHECK` in the selected state: report changes (new messages, expunges, flag
    /// changes) with the mailbox-update methods, then `ok`.
    Poll,
    /// `CLOSE` (`expunge` on a read-write mailbox: remove \Deleted messages silently) or
    /// `UNSELECT`: then `ok`.
    Close {
        /// Remove \Deleted messages.
        expunge: bool,
    },
    /// `EXPUNGE` / `UID EXPUNGE`: remove \Deleted messages (only among `uids` if given), call
    /// [`super::Server::message_expunged`] for each, then `ok`.
    Expunge {
        /// UID EXPUNGE's set, resolved.
        uids: Option<Vec<u32>>,
    },
    /// `SEARCH` / `UID SEARCH`: evaluate (see [`crate::syntax::SearchKey::matches`]) and
    /// answer with [`super::Server::search_result`].
    Search {
        /// The criteria; every message-number set is already translated to a UID set.
        criteria: SearchKey,
        /// `CHARSET` as the client named it. The criteria's strings are already decoded
        /// from it to UTF-8 (GB2312, GBK, GB18030, Big5... see `syntax::charset`); an
        /// unsupported charset was answered `NO [BADCHARSET]` and never reaches the host.
        charset: Option<String>,
        /// ESEARCH `RETURN` options, if any.
        ret: Option<Vec<SearchReturn>>,
    },
    /// `FETCH` / `UID FETCH`: call [`super::Server::fetch_item`] per message (ascending), then
    /// `ok`. For QRESYNC `VANISHED`, call [`super::Server::fetch_vanished`] first.
    Fetch {
        /// The messages, ascending, existing in the session's view.
        uids: Vec<u32>,
        /// What to return.
        attrs: Vec<FetchAttr>,
        /// CONDSTORE `CHANGEDSINCE`.
        changed_since: Option<u64>,
        /// QRESYNC `VANISHED`: the UID set asked for (which may include expunged UIDs).
        vanished: Option<Ranges>,
    },
    /// `STORE` / `UID STORE`: change flags, call [`super::Server::store_item`] per changed
    /// message, then [`super::Server::store_ok`].
    Store {
        /// The messages.
        uids: Vec<u32>,
        /// Replace, add or remove.
        action: StoreAction,
        /// The flags.
        flags: Vec<Flag>,
        /// CONDSTORE `UNCHANGEDSINCE`.
        unchanged_since: Option<u64>,
    },
    /// `COPY` / `UID COPY`: [`super::Server::copy_ok`] or `no`.
    Copy {
        /// Source messages.
        uids: Vec<u32>,
        /// Destination.
        mailbox: Mailbox,
    },
    /// `MOVE` / `UID MOVE`: [`super::Server::move_ok`] (the session sends the expunges) or `no`.
    Move {
        /// Source messages.
        uids: Vec<u32>,
        /// Destination.
        mailbox: Mailbox,
    },
    /// `IDLE`: [`super::Server::idle_accept`] (then report changes as they happen) or `no`.
    Idle,
    /// The client ended IDLE; the session already answered OK (informational).
    IdleDone,
    /// `GETACL`: [`super::Server::acl_reply`] or `no`.
    GetAcl {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `SETACL`: `ok` or `no`.
    SetAcl {
        /// The mailbox.
        mailbox: Mailbox,
        /// Who.
        identifier: String,
        /// Rights, optionally prefixed by `+` or `-`.
        rights: String,
    },
    /// `DELETEACL`: `ok` or `no`.
    DeleteAcl {
        /// The mailbox.
        mailbox: Mailbox,
        /// Who.
        identifier: String,
    },
    /// `LISTRIGHTS`: [`super::Server::listrights_reply`] or `no`.
    ListRights {
        /// The mailbox.
        mailbox: Mailbox,
        /// Who.
        identifier: String,
    },
    /// `MYRIGHTS`: [`super::Server::myrights_reply`] or `no`.
    MyRights {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `GETQUOTA`: [`super::Server::quota_reply`] or `no`.
    GetQuota {
        /// Quota root.
        root: String,
    },
    /// `GETQUOTAROOT`: [`super::Server::quotaroot_reply`] or `no`.
    GetQuotaRoot {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `SETQUOTA`: `ok` or `no`.
    SetQuota {
        /// Quota root.
        root: String,
        /// New limits.
        limits: Vec<QuotaLimit>,
    },
    /// The session ended (LOGOUT, BYE, limits): write out `transmit()`, then close
    /// (informational). Events still queued are dropped; an answer to an event the host already
    /// holds returns [`crate::Error::WrongState`].
    Logout,
}
