//! The Sans-I/O IMAP server session.
//!
//! A [`Server`] is fed the client's bytes, produces [`Event`]s for the host to decide, takes
//! the host's answers through typed methods that check the session's state, and produces the
//! bytes to write. See the crate documentation for a whole session.

mod answer;
mod config;
mod event;
mod selected;

use std::collections::VecDeque;
use std::time::Instant;

use base64::Engine;
use bytes::{Buf, BytesMut};

pub use answer::{CopyUid, SelectInfo};
pub use config::{AuthMechanism, Config, Extensions, Namespaces};
pub use event::{AuthMethod, Event};

use crate::Secret;
use crate::framer::literal_marker;
use crate::syntax::command::{append_continue, append_head};
use crate::syntax::literal::LiteralKind;
use crate::syntax::{
    Atom, Capability, Code, Command, CommandBody, Data, FetchAttr, Mailbox, Ranges, Response,
    SearchKey, SearchReturn, SequenceSet, Status, Tag, Writer, parse_command,
};
use selected::Selected;

/// The session's protocol state (RFC 9051 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Before LOGIN/AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// The session is over.
    Logout,
}

#[derive(Debug)]
enum State {
    NotAuthenticated,
    Authenticated,
    Selected(Box<Selected>),
    Logout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaslStep {
    PlainResponse,
    LoginUser,
    LoginPassword,
}

#[derive(Debug)]
enum Mode {
    /// Reading commands.
    Command,
    /// Reading a SASL response line.
    Sasl {
        step: SaslStep,
        user: Option<String>,
    },
    /// IDLE accepted: waiting for DONE.
    Idle,
    /// Waiting for the host to accept or reject an APPEND message.
    AppendWait { sync: bool, size: u64 },
    /// Streaming an APPEND message.
    AppendData { remaining: u64 },
    /// After a message: another message or the end of the APPEND.
    AppendNext,
    /// Skipping the bytes of a refused non-synchronizing literal.
    Discard { skip: u64 },
    /// Skipping the rest of a refused command line.
    DiscardLine,
    /// STARTTLS accepted, waiting for the host's handshake.
    AwaitTls,
}

#[derive(Debug)]
pub(crate) enum PendingKind {
    Login,
    Id,
    Select {
        read_only: bool,
        condstore: bool,
    },
    Simple,
    List {
        lsub: bool,
    },
    Status,
    AppendStart,
    AppendComplete,
    Poll,
    Close,
    Expunge,
    Search {
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
    },
    Fetch {
        uid: bool,
        want_uid: bool,
    },
    Store {
        uid: bool,
        silent: bool,
    },
    Copy,
    Move {
        uids: Vec<u32>,
    },
    Idle,
    GetAcl(Mailbox),
    ListRights(Mailbox, String),
    MyRights(Mailbox),
    GetQuota,
    GetQuotaRoot(Mailbox),
}

impl PendingKind {
    fn name(&self) -> &'static str {
        match self {
            PendingKind::Login => "waiting for auth_accept/auth_reject",
            PendingKind::Id => "waiting for id_reply",
            PendingKind::Select { .. } => "waiting for select_ok",
            PendingKind::Simple => "waiting for ok/no",
            PendingKind::List { .. } => "answering LIST",
            PendingKind::Status => "waiting for status_ok",
            PendingKind::AppendStart => "waiting for append_accept/append_reject",
            PendingKind::AppendComplete => "waiting for append_ok",
            PendingKind::Poll => "answering NOOP/CHECK",
            PendingKind::Close => "answering CLOSE/UNSELECT",
            PendingKind::Expunge => "answering EXPUNGE",
            PendingKind::Search { .. } => "waiting for search_result",
            PendingKind::Fetch { .. } => "answering FETCH",
            PendingKind::Store { .. } => "answering STORE",
            PendingKind::Copy => "waiting for copy_ok",
            PendingKind::Move { .. } => "waiting for move_ok",
            PendingKind::Idle => "waiting for idle_accept",
            PendingKind::GetAcl(_) => "waiting for acl_reply",
            PendingKind::ListRights(..) => "waiting for listrights_reply",
            PendingKind::MyRights(_) => "waiting for myrights_reply",
            PendingKind::GetQuota => "waiting for quota_reply",
            PendingKind::GetQuotaRoot(_) => "waiting for quotaroot_reply",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub tag: Tag,
    pub name: &'static str,
    pub kind: PendingKind,
}

const MAX_BAD_COMMANDS: u32 = 20;
const CHUNK: usize = 256 * 1024;

/// A server session. See the [crate documentation](crate) for how a host drives it.
#[derive(Debug)]
pub struct Server {
    cfg: Config,
    inbuf: BytesMut,
    out: Vec<u8>,
    out_pos: usize,
    events: VecDeque<Event>,
    state: State,
    mode: Mode,
    pending: Option<Pending>,
    tls: bool,
    utf8: bool,
    rev2: bool,
    condstore: bool,
    qresync: bool,
    auth_failures: u32,
    bad_commands: u32,
    // framer state of the command being read
    scan: usize,
    line_len: usize,
    literal_total: u64,
    literal_end: Option<usize>,
    // APPEND in progress
    cont_tag: Option<Tag>,
    append_mailbox: Option<Mailbox>,
    append_index: usize,
    // timeouts
    deadline: Option<Instant>,
    activity: bool,
    saved_search: Option<Vec<u32>>,
    logout_sent: bool,
    selecting: Option<Mailbox>,
}

impl Server {
    /// A new session; the greeting is queued at once.
    pub fn new(config: Config) -> Self {
        let mut s = Server {
            tls: config.tls,
            cfg: config,
            inbuf: BytesMut::new(),
            out: Vec::new(),
            out_pos: 0,
            events: VecDeque::new(),
            state: State::NotAuthenticated,
            mode: Mode::Command,
            pending: None,
            utf8: false,
            rev2: false,
            condstore: false,
            qresync: false,
            auth_failures: 0,
            bad_commands: 0,
            scan: 0,
            line_len: 0,
            literal_total: 0,
            literal_end: None,
            cont_tag: None,
            append_mailbox: None,
            append_index: 0,
            deadline: None,
            activity: true,
            saved_search: None,
            logout_sent: false,
            selecting: None,
        };
        let caps = s.capabilities();
        let text = s.cfg.greeting.clone();
        s.respond(&Response::Status {
            status: Status::Ok,
            code: Some(Code::Capability(caps)),
            text,
        });
        s
    }

    /// A session whose client is already authenticated by other means (`* PREAUTH`).
    pub fn new_preauth(config: Config) -> Self {
        let mut s = Server::new(config);
        s.out.clear();
        s.state = State::Authenticated;
        let caps = s.capabilities();
        let text = s.cfg.greeting.clone();
        s.respond(&Response::PreAuth {
            code: Some(Code::Capability(caps)),
            text,
        });
        s
    }

    // ------------------------------------------------------------ I/O surface

    /// Feeds bytes read from the client (any split).
    pub fn feed(&mut self, data: &[u8]) {
        if matches!(self.state, State::Logout) || matches!(self.mode, Mode::AwaitTls) {
            return;
        }
        self.activity = true;
        self.inbuf.extend_from_slice(data);
        self.process();
        if !self.is_closed()
            && (self.pending.is_some() || matches!(self.mode, Mode::AppendWait { .. }))
        {
            self.check_pipeline_limits();
        }
    }

    /// The next event for the host, until `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to write to the client.
    pub fn transmit(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// Marks `n` bytes of [`Server::transmit`] as written.
    pub fn consume(&mut self, n: usize) {
        self.out_pos = (self.out_pos + n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// When [`Server::handle_timeout`] should next be called. `None` until the host has called
    /// `handle_timeout` once (the core reads no clock: the first call arms the timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            None
        } else {
            self.deadline
        }
    }

    /// Tells the session the time. Call it after reading input and whenever
    /// [`Server::poll_timeout`] has passed: an idle client gets `* BYE` (login timeout before
    /// authentication, idle timeout after).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        let dur = match self.state {
            State::NotAuthenticated => self.cfg.login_timeout,
            _ => self.cfg.idle_timeout,
        };
        if self.activity || self.deadline.is_none() || self.pending.is_some() {
            self.activity = false;
            self.deadline = Some(now + dur);
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            self.close_with_bye(None, "Autologout; idle for too long");
        }
    }

    /// Whether the host should read more input now (false while a command waits for the
    /// host's answer and enough input is already buffered, or during STARTTLS).
    pub fn wants_input(&self) -> bool {
        !self.is_closed()
            && !matches!(self.mode, Mode::AwaitTls)
            && (self.pending.is_none() && !matches!(self.mode, Mode::AppendWait { .. })
                || self.inbuf.len() < self.cfg.max_line_length)
    }

    /// Whether the session is over (after LOGOUT, BYE). Write out `transmit()`, then close.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Logout)
    }

    /// The protocol state.
    pub fn state(&self) -> SessionState {
        match self.state {
            State::NotAuthenticated => SessionState::NotAuthenticated,
            State::Authenticated => SessionState::Authenticated,
            State::Selected(_) => SessionState::Selected,
            State::Logout => SessionState::Logout,
        }
    }

    /// The selected mailbox, if any.
    pub fn selected_mailbox(&self) -> Option<&Mailbox> {
        match &self.state {
            State::Selected(s) => Some(&s.mailbox),
            _ => None,
        }
    }

    /// The UIDs of the selected mailbox as the client knows them (message number = index + 1).
    pub fn selected_uids(&self) -> &[u32] {
        match &self.state {
            State::Selected(s) => &s.uids,
            _ => &[],
        }
    }

    /// Whether the client enabled CONDSTORE (or used a CONDSTORE feature).
    pub fn condstore_enabled(&self) -> bool {
        self.condstore
    }

    /// Whether the client enabled QRESYNC.
    pub fn qresync_enabled(&self) -> bool {
        self.qresync
    }

    /// Whether UTF-8 mailbox names are in use (UTF8=ACCEPT or IMAP4rev2 enabled).
    pub fn utf8_enabled(&self) -> bool {
        self.utf8
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Ends the session at once with `* BYE text` (shutdown, blocked address...).
    pub fn bye(&mut self, text: &str) {
        if !self.is_closed() {
            self.close_with_bye(None, text);
        }
    }

    /// The host finished the TLS handshake after [`Event::StartTls`].
    pub fn tls_established(&mut self) -> Result<(), crate::Error> {
        if !matches!(self.mode, Mode::AwaitTls) {
            return Err(self.wrong("tls_established"));
        }
        self.tls = true;
        self.mode = Mode::Command;
        self.activity = true;
        self.process();
        Ok(())
    }

    // ------------------------------------------------------------ capabilities

    fn login_disabled(&self) -> bool {
        self.cfg.login_disabled_without_tls && !self.tls
    }

    /// The capabilities advertised in the current state.
    pub fn capabilities(&self) -> Vec<Capability> {
        let e = &self.cfg.extensions;
        let mut v = vec![Capability::Imap4rev1];
        if e.imap4rev2 {
            v.push(Capability::Imap4rev2);
        }
        if matches!(self.state, State::NotAuthenticated) {
            if !self.tls && self.cfg.starttls {
                v.push(Capability::StartTls);
            }
            if self.login_disabled() {
                v.push(Capability::LoginDisabled);
            } else {
                for m in &self.cfg.auth_mechanisms {
                    v.push(Capability::Auth(
                        Atom::new(match m {
                            AuthMechanism::Plain => "PLAIN",
                            AuthMechanism::Login => "LOGIN",
                        })
                        .expect("valid atom"),
                    ));
                }
            }
            v.push(Capability::SaslIr);
        }
        if e.literal_plus {
            v.push(Capability::LiteralPlus);
        } else if e.literal_minus {
            v.push(Capability::LiteralMinus);
        }
        v.push(Capability::Enable);
        if e.id {
            v.push(Capability::Id);
        }
        if e.idle {
            v.push(Capability::Idle);
        }
        v.extend([
            Capability::Namespace,
            Capability::UidPlus,
            Capability::Move,
            Capability::Unselect,
            Capability::Children,
            Capability::ListExtended,
            Capability::Esearch,
            Capability::SearchRes,
            Capability::Binary,
        ]);
        if e.list_status {
            v.push(Capability::ListStatus);
        }
        if e.special_use {
            v.push(Capability::SpecialUse);
        }
        if e.condstore {
            v.push(Capability::Condstore);
        }
        if e.qresync {
            v.push(Capability::Qresync);
        }
        if e.acl {
            v.push(Capability::Acl);
            v.push(Capability::Rights(Atom::new("texk").expect("valid atom")));
        }
        if e.quota {
            v.push(Capability::Quota);
            v.push(Capability::QuotaRes(
                Atom::new("STORAGE").expect("valid atom"),
            ));
            v.push(Capability::QuotaRes(
                Atom::new("MESSAGE").expect("valid atom"),
            ));
            v.push(Capability::QuotaSet);
        }
        if e.utf8_accept {
            v.push(Capability::Utf8Accept);
        }
        if e.multiappend {
            v.push(Capability::MultiAppend);
        }
        v.push(Capability::AppendLimit(Some(self.cfg.max_append_size)));
        v
    }

    // ------------------------------------------------------------ output helpers

    pub(crate) fn writer(&mut self) -> Writer {
        Writer {
            buf: std::mem::take(&mut self.out),
            utf8: self.utf8,
            ..Default::default()
        }
    }

    pub(crate) fn put(&mut self, w: Writer) {
        self.out = w.buf;
    }

    pub(crate) fn respond(&mut self, r: &Response<'_>) {
        let mut w = self.writer();
        r.write(&mut w);
        self.put(w);
    }

    pub(crate) fn data(&mut self, d: &Data<'_>) {
        let mut w = self.writer();
        d.write(&mut w);
        self.put(w);
    }

    pub(crate) fn tagged(&mut self, tag: &Tag, status: Status, code: Option<Code>, text: &str) {
        self.respond(&Response::Tagged {
            tag: tag.clone(),
            status,
            code,
            text: text.to_owned(),
        });
    }

    fn untagged_bad(&mut self, text: &str) {
        self.respond(&Response::Status {
            status: Status::Bad,
            code: None,
            text: text.into(),
        });
    }

    pub(crate) fn wrong(&self, method: &'static str) -> crate::Error {
        crate::Error::WrongState {
            method,
            state: match (&self.pending, &self.mode, &self.state) {
                (_, _, State::Logout) => "the session is closed",
                (Some(p), _, _) => p.kind.name(),
                (None, Mode::AwaitTls, _) => "waiting for tls_established",
                (None, Mode::Idle, _) => "idling",
                (None, Mode::AppendData { .. } | Mode::AppendNext, _) => "receiving APPEND data",
                _ => "no command is waiting for an answer",
            },
        }
    }

    pub(crate) fn close_with_bye(&mut self, code: Option<Code>, text: &str) {
        self.respond(&Response::Bye {
            code,
            text: text.into(),
        });
        self.enter_logout();
    }

    fn enter_logout(&mut self) {
        self.state = State::Logout;
        self.pending = None;
        self.inbuf.clear();
        // Events still queued can no longer be answered: drop them (the host's answer to an
        // event it already holds now returns `WrongState`).
        let appending = matches!(
            self.mode,
            Mode::AppendData { .. } | Mode::AppendNext | Mode::AppendWait { .. }
        ) || self
            .events
            .iter()
            .any(|e| matches!(e, Event::AppendStart { .. } | Event::AppendData(_)));
        self.events.clear();
        if !self.logout_sent {
            self.logout_sent = true;
            if appending {
                self.events.push_back(Event::AppendAborted);
            }
            self.events.push_back(Event::Logout);
        }
        self.mode = Mode::Command;
    }

    fn check_pipeline_limits(&mut self) {
        let base = self.cfg.max_line_length.saturating_mul(4).max(256 * 1024);
        if let Mode::AppendWait { size, .. } = self.mode {
            // A LITERAL+ message may arrive before the host accepted it: allow the message.
            let limit = (base as u64).saturating_add(size);
            if self.inbuf.len() as u64 > limit {
                self.close_with_bye(
                    Some(Code::Limit),
                    "Too much input while a command is in progress",
                );
            }
            return;
        }
        if self.inbuf.len() > base {
            self.close_with_bye(
                Some(Code::Limit),
                "Too much input while a command is in progress",
            );
        } else if crate::framer::count_commands(&self.inbuf, self.cfg.max_pipelined)
            > self.cfg.max_pipelined
        {
            self.close_with_bye(Some(Code::Limit), "Too many pipelined commands");
        }
    }

    // ------------------------------------------------------------ input processing

    pub(crate) fn process(&mut self) {
        while self.pending.is_none() && !self.is_closed() {
            let progressed = match self.mode {
                Mode::Command => self.step_command(),
                Mode::Sasl { .. } | Mode::Idle => self.step_line(),
                Mode::AppendWait { .. } | Mode::AwaitTls => false,
                Mode::AppendData { .. } => self.step_append_data(),
                Mode::AppendNext => self.step_append_next(),
                Mode::Discard { .. } => self.step_discard(),
                Mode::DiscardLine => self.step_discard_line(),
            };
            if !progressed {
                break;
            }
        }
    }

    fn reset_frame(&mut self) {
        self.scan = 0;
        self.line_len = 0;
        self.literal_total = 0;
        self.literal_end = None;
    }

    fn frame_tag(&self) -> Option<Tag> {
        let n = self
            .inbuf
            .iter()
            .take_while(|&&b| crate::syntax::literal::is_tag_char(b))
            .count();
        if n > 0 && n <= 64 && self.inbuf.get(n) == Some(&b' ') {
            Some(Tag::from_valid(&self.inbuf[..n]))
        } else {
            None
        }
    }

    fn reply_bad(&mut self, tag: Option<Tag>, code: Option<Code>, text: &str) {
        self.bad_commands += 1;
        match tag {
            Some(t) => self.tagged(&t, Status::Bad, code, text),
            None => self.untagged_bad(text),
        }
        if self.bad_commands >= MAX_BAD_COMMANDS {
            self.close_with_bye(None, "Too many invalid commands");
        }
    }

    fn step_command(&mut self) -> bool {
        if let Some(end) = self.literal_end {
            if self.inbuf.len() < end {
                return false;
            }
            self.scan = end;
            self.literal_end = None;
        }
        let Some(pos) = memchr::memchr(b'\n', &self.inbuf[self.scan..]) else {
            if self.line_len + (self.inbuf.len() - self.scan) > self.cfg.max_line_length {
                let tag = self.frame_tag();
                self.inbuf.clear();
                self.reset_frame();
                self.mode = Mode::DiscardLine;
                self.reply_bad(tag, Some(Code::TooBig), "Command line too long");
                return true;
            }
            return false;
        };
        let lf = self.scan + pos;
        self.line_len += pos + 1;
        if self.line_len > self.cfg.max_line_length {
            let tag = self.frame_tag();
            self.inbuf.advance(lf + 1);
            self.reset_frame();
            self.reply_bad(tag, Some(Code::TooBig), "Command line too long");
            return true;
        }
        if let Some((size, kind)) = literal_marker(&self.inbuf[self.scan..=lf]) {
            if is_append(&self.inbuf)
                && let Ok((b"", head)) = append_head(&self.inbuf[..=lf], self.utf8)
            {
                let (tag, mailbox, flags, date, size, kind) = head;
                self.inbuf.advance(lf + 1);
                self.reset_frame();
                self.start_append(tag, mailbox, flags, date, size, kind, 0);
                return true;
            }
            self.literal_total = self.literal_total.saturating_add(size);
            let too_big = self.literal_total > self.cfg.max_literal_size
                || (kind == LiteralKind::NonSyncMinus && size > 4096);
            if too_big {
                let tag = self.frame_tag();
                self.inbuf.advance(lf + 1);
                self.reset_frame();
                if kind != LiteralKind::Sync {
                    self.mode = Mode::Discard { skip: size };
                }
                self.reply_bad(tag, Some(Code::TooBig), "Literal too large");
                return true;
            }
            if kind == LiteralKind::Sync {
                self.continuation("Ready for literal data");
            }
            self.literal_end = Some(lf + 1 + size as usize);
            return true;
        }
        let frame = self.inbuf.split_to(lf + 1);
        self.reset_frame();
        self.handle_frame(&frame);
        true
    }

    pub(crate) fn continuation(&mut self, text: &str) {
        self.respond(&Response::Continue {
            code: None,
            text: text.into(),
        });
    }

    fn step_discard(&mut self) -> bool {
        let Mode::Discard { skip } = self.mode else {
            return false;
        };
        if self.inbuf.is_empty() {
            return false;
        }
        let k = (skip.min(self.inbuf.len() as u64)) as usize;
        self.inbuf.advance(k);
        let left = skip - k as u64;
        self.mode = if left == 0 {
            Mode::DiscardLine
        } else {
            Mode::Discard { skip: left }
        };
        true
    }

    fn step_discard_line(&mut self) -> bool {
        match memchr::memchr(b'\n', &self.inbuf) {
            None => {
                // keep a tail in case a literal marker is split across reads
                if self.inbuf.len() > 32 {
                    let n = self.inbuf.len() - 32;
                    self.inbuf.advance(n);
                }
                false
            }
            Some(lf) => {
                let marker = literal_marker(&self.inbuf[..=lf]);
                self.inbuf.advance(lf + 1);
                self.mode = match marker {
                    Some((n, k)) if k != LiteralKind::Sync => Mode::Discard { skip: n },
                    _ => Mode::Command,
                };
                true
            }
        }
    }

    /// Reads one line in SASL or IDLE mode.
    fn step_line(&mut self) -> bool {
        let Some(lf) = memchr::memchr(b'\n', &self.inbuf) else {
            if self.inbuf.len() > self.cfg.max_line_length {
                self.inbuf.clear();
                self.line_error("Line too long");
                self.mode = Mode::DiscardLine;
                return true;
            }
            return false;
        };
        let line = self.inbuf.split_to(lf + 1);
        let mut l = &line[..lf];
        if l.last() == Some(&b'\r') {
            l = &l[..l.len() - 1];
        }
        match std::mem::replace(&mut self.mode, Mode::Command) {
            Mode::Idle => {
                let tag = self.cont_tag.take();
                self.events.push_back(Event::IdleDone);
                if let Some(tag) = tag {
                    if l.eq_ignore_ascii_case(b"DONE") {
                        self.tagged(&tag, Status::Ok, None, "IDLE terminated");
                    } else {
                        self.tagged(&tag, Status::Bad, None, "Expected DONE");
                    }
                }
            }
            Mode::Sasl { step, user } => self.sasl_line(l, step, user),
            other => self.mode = other,
        }
        true
    }

    fn line_error(&mut self, text: &str) {
        if let Mode::Idle = std::mem::replace(&mut self.mode, Mode::Command) {
            self.events.push_back(Event::IdleDone);
        }
        if let Some(tag) = self.cont_tag.take() {
            self.tagged(&tag, Status::Bad, None, text);
        }
    }

    fn sasl_line(&mut self, l: &[u8], step: SaslStep, user: Option<String>) {
        let tag = self
            .cont_tag
            .take()
            .unwrap_or_else(|| Tag::from_valid(b"*"));
        if l == b"*" {
            self.tagged(&tag, Status::Bad, None, "Authentication cancelled");
            return;
        }
        let decoded = match base64::engine::general_purpose::STANDARD.decode(l) {
            Ok(d) => Secret::new(d),
            Err(_) => {
                self.tagged(&tag, Status::Bad, None, "Invalid base64 in SASL response");
                return;
            }
        };
        self.sasl_data(tag, step, user, decoded);
    }

    fn sasl_data(&mut self, tag: Tag, step: SaslStep, user: Option<String>, data: Secret) {
        match step {
            SaslStep::PlainResponse => {
                let parts: Vec<&[u8]> = data.expose().split(|&b| b == 0).collect();
                let ok = parts.len() == 3 && !parts[1].is_empty() && !parts[2].is_empty();
                let (authz, authc) = if ok {
                    (
                        std::str::from_utf8(parts[0]).ok(),
                        std::str::from_utf8(parts[1]).ok(),
                    )
                } else {
                    (None, None)
                };
                match (ok, authz, authc) {
                    (true, Some(z), Some(c)) => {
                        let password = Secret::new(parts[2]);
                        let authzid = if z.is_empty() || z == c {
                            None
                        } else {
                            Some(z.to_owned())
                        };
                        let username = c.to_owned();
                        self.begin_login(
                            tag,
                            AuthMethod::Sasl(AuthMechanism::Plain),
                            authzid,
                            username,
                            password,
                        );
                    }
                    _ => self.tagged(&tag, Status::Bad, None, "Invalid PLAIN response"),
                }
            }
            SaslStep::LoginUser => match std::str::from_utf8(data.expose()) {
                Ok(u) if !u.is_empty() => {
                    self.cont_tag = Some(tag);
                    self.mode = Mode::Sasl {
                        step: SaslStep::LoginPassword,
                        user: Some(u.to_owned()),
                    };
                    self.continuation("UGFzc3dvcmQ6");
                }
                _ => self.tagged(&tag, Status::Bad, None, "Invalid user name"),
            },
            SaslStep::LoginPassword => {
                let username = user.unwrap_or_default();
                self.begin_login(
                    tag,
                    AuthMethod::Sasl(AuthMechanism::Login),
                    None,
                    username,
                    data,
                );
            }
        }
    }

    fn begin_login(
        &mut self,
        tag: Tag,
        method: AuthMethod,
        authzid: Option<String>,
        username: String,
        password: Secret,
    ) {
        self.pending = Some(Pending {
            tag,
            name: if method == AuthMethod::LoginCommand {
                "LOGIN"
            } else {
                "AUTHENTICATE"
            },
            kind: PendingKind::Login,
        });
        self.events.push_back(Event::Login {
            method,
            authzid,
            username,
            password,
        });
    }

    // ------------------------------------------------------------ APPEND streaming

    #[allow(clippy::too_many_arguments)]
    fn start_append(
        &mut self,
        tag: Tag,
        mailbox: Mailbox,
        flags: Vec<crate::syntax::Flag>,
        date: Option<crate::syntax::DateTime>,
        size: u64,
        kind: LiteralKind,
        index: usize,
    ) {
        let sync = kind == LiteralKind::Sync;
        let refuse = |s: &mut Server, code: Option<Code>, status: Status, text: &str| {
            if !sync {
                s.mode = Mode::Discard { skip: size };
            }
            s.tagged(&tag, status, code, text);
        };
        if !matches!(self.state, State::Authenticated | State::Selected(_)) {
            return refuse(self, None, Status::Bad, "Command not allowed in this state");
        }
        if index > 0 && !self.cfg.extensions.multiappend {
            self.events.push_back(Event::AppendAborted);
            return refuse(self, None, Status::Bad, "MULTIAPPEND is not supported");
        }
        if kind == LiteralKind::NonSyncMinus && size > 4096 {
            if index > 0 {
                self.events.push_back(Event::AppendAborted);
            }
            return refuse(
                self,
                Some(Code::TooBig),
                Status::Bad,
                "Non-synchronizing literal too large",
            );
        }
        if size > self.cfg.max_append_size {
            if index > 0 {
                self.events.push_back(Event::AppendAborted);
            }
            return refuse(self, Some(Code::TooBig), Status::No, "Message too large");
        }
        self.append_index = index;
        self.append_mailbox = Some(mailbox.clone());
        self.cont_tag = Some(tag.clone());
        self.mode = Mode::AppendWait { sync, size };
        self.pending = Some(Pending {
            tag,
            name: "APPEND",
            kind: PendingKind::AppendStart,
        });
        self.events.push_back(Event::AppendStart {
            mailbox,
            flags,
            date,
            size,
            index,
        });
    }

    pub(crate) fn append_accepted(&mut self) {
        if let Mode::AppendWait { sync, size } = self.mode {
            if sync {
                self.continuation("Ready for literal data");
            }
            self.mode = if size == 0 {
                Mode::AppendNext
            } else {
                Mode::AppendData { remaining: size }
            };
        }
    }

    pub(crate) fn append_refused(&mut self) {
        if let Mode::AppendWait { sync, size } = self.mode {
            self.mode = if sync {
                Mode::Command
            } else {
                Mode::Discard { skip: size }
            };
        }
        self.append_mailbox = None;
    }

    fn step_append_data(&mut self) -> bool {
        let Mode::AppendData { remaining } = self.mode else {
            return false;
        };
        if self.inbuf.is_empty() {
            return false;
        }
        let k = (remaining.min(self.inbuf.len() as u64) as usize).min(CHUNK);
        let chunk = self.inbuf.split_to(k).freeze();
        self.events.push_back(Event::AppendData(chunk));
        let left = remaining - k as u64;
        self.mode = if left == 0 {
            Mode::AppendNext
        } else {
            Mode::AppendData { remaining: left }
        };
        true
    }

    fn step_append_next(&mut self) -> bool {
        let Some(lf) = memchr::memchr(b'\n', &self.inbuf) else {
            if self.inbuf.len() > self.cfg.max_line_length {
                self.abort_append("Command line too long");
                return true;
            }
            return false;
        };
        let parsed = match append_continue(&self.inbuf[..=lf]) {
            Ok((b"", v)) => Some(v),
            _ => None,
        };
        let tag = self
            .cont_tag
            .clone()
            .unwrap_or_else(|| Tag::from_valid(b"*"));
        match parsed {
            None => {
                self.abort_append("Invalid APPEND arguments after message");
                true
            }
            Some(None) => {
                self.inbuf.advance(lf + 1);
                self.mode = Mode::Command;
                self.cont_tag = None;
                self.append_mailbox = None;
                self.pending = Some(Pending {
                    tag,
                    name: "APPEND",
                    kind: PendingKind::AppendComplete,
                });
                self.events.push_back(Event::AppendComplete);
                true
            }
            Some(Some((flags, date, size, kind))) => {
                self.inbuf.advance(lf + 1);
                let mailbox = match self.append_mailbox.clone() {
                    Some(m) => m,
                    None => {
                        self.abort_append("Internal error");
                        return true;
                    }
                };
                let index = self.append_index + 1;
                self.start_append(tag, mailbox, flags, date, size, kind, index);
                true
            }
        }
    }

    fn abort_append(&mut self, text: &str) {
        let tag = self.cont_tag.take();
        self.append_mailbox = None;
        self.mode = Mode::DiscardLine;
        self.events.push_back(Event::AppendAborted);
        self.reply_bad(tag, None, text);
    }

    // ------------------------------------------------------------ commands

    fn handle_frame(&mut self, frame: &[u8]) {
        let cmd = match parse_command(frame, self.utf8) {
            Ok(c) => c,
            Err(e) => {
                self.reply_bad(e.tag, None, e.reason);
                return;
            }
        };
        self.dispatch(cmd);
    }

    fn set_pending(&mut self, tag: Tag, name: &'static str, kind: PendingKind, ev: Event) {
        self.pending = Some(Pending { tag, name, kind });
        self.events.push_back(ev);
    }

    fn dispatch(&mut self, cmd: Command) {
        let Command { tag, body } = cmd;
        let name = body.name();
        let st = self.state();
        let authed = matches!(st, SessionState::Authenticated | SessionState::Selected);
        let selected = st == SessionState::Selected;
        let e = self.cfg.extensions.clone();
        let not_allowed = |s: &mut Server, tag: &Tag| {
            s.reply_bad(Some(tag.clone()), None, "Command not allowed in this state");
        };
        match body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                self.data(&Data::Capability(caps));
                self.complete_internal(&tag, "CAPABILITY completed");
            }
            CommandBody::Noop | CommandBody::Check if selected => {
                self.set_pending(tag, name, PendingKind::Poll, Event::Poll);
            }
            CommandBody::Noop => self.complete_internal(&tag, "NOOP completed"),
            CommandBody::Logout => {
                self.respond(&Response::Bye {
                    code: None,
                    text: "Logging out".into(),
                });
                self.tagged(&tag, Status::Ok, None, "LOGOUT completed");
                self.enter_logout();
            }
            CommandBody::Id(params) if e.id => {
                self.set_pending(tag, name, PendingKind::Id, Event::Id(params));
            }
            CommandBody::StartTls => {
                if st != SessionState::NotAuthenticated || self.tls || !self.cfg.starttls {
                    return self.reply_bad(Some(tag), None, "STARTTLS not available");
                }
                self.tagged(&tag, Status::Ok, None, "Begin TLS negotiation now");
                // Anything pipelined after STARTTLS is discarded (command injection).
                self.inbuf.clear();
                self.mode = Mode::AwaitTls;
                self.events.push_back(Event::StartTls);
            }
            CommandBody::Login { username, password } => {
                if st != SessionState::NotAuthenticated {
                    return not_allowed(self, &tag);
                }
                if self.login_disabled() {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::PrivacyRequired),
                        "Plaintext authentication is disallowed without TLS",
                    );
                }
                self.begin_login(tag, AuthMethod::LoginCommand, None, username, password);
            }
            CommandBody::Authenticate { mechanism, initial } => {
                if st != SessionState::NotAuthenticated {
                    return not_allowed(self, &tag);
                }
                let mech = if mechanism.as_str().eq_ignore_ascii_case("PLAIN") {
                    Some(AuthMechanism::Plain)
                } else if mechanism.as_str().eq_ignore_ascii_case("LOGIN") {
                    Some(AuthMechanism::Login)
                } else {
                    None
                };
                let Some(mech) = mech.filter(|m| self.cfg.auth_mechanisms.contains(m)) else {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::Cannot),
                        "Unsupported authentication mechanism",
                    );
                };
                if self.login_disabled() {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::PrivacyRequired),
                        "Plaintext authentication is disallowed without TLS",
                    );
                }
                let step = match mech {
                    AuthMechanism::Plain => SaslStep::PlainResponse,
                    AuthMechanism::Login => SaslStep::LoginUser,
                };
                match initial {
                    Some(ir) => {
                        let data = if ir.expose() == b"=" {
                            Secret::default()
                        } else {
                            match base64::engine::general_purpose::STANDARD.decode(ir.expose()) {
                                Ok(d) => Secret::new(d),
                                Err(_) => {
                                    return self.reply_bad(
                                        Some(tag),
                                        None,
                                        "Invalid base64 in initial response",
                                    );
                                }
                            }
                        };
                        self.sasl_data(tag, step, None, data);
                    }
                    None => {
                        self.cont_tag = Some(tag);
                        self.mode = Mode::Sasl { step, user: None };
                        self.continuation(if step == SaslStep::LoginUser {
                            "VXNlcm5hbWU6"
                        } else {
                            ""
                        });
                    }
                }
            }
            CommandBody::Enable(caps) => {
                if st != SessionState::Authenticated {
                    return not_allowed(self, &tag);
                }
                let mut enabled = Vec::new();
                for c in caps {
                    let cap = Capability::from_atom(c.as_str());
                    let ok = match cap {
                        Capability::Condstore if e.condstore => {
                            self.condstore = true;
                            true
                        }
                        Capability::Qresync if e.qresync => {
                            self.qresync = true;
                            self.condstore = true;
                            true
                        }
                        Capability::Utf8Accept if e.utf8_accept => {
                            self.utf8 = true;
                            true
                        }
                        Capability::Imap4rev2 if e.imap4rev2 => {
                            self.rev2 = true;
                            self.utf8 = true;
                            true
                        }
                        _ => false,
                    };
                    if ok && !enabled.contains(&cap) {
                        enabled.push(cap);
                    }
                }
                self.data(&Data::Enabled(enabled));
                self.complete_internal(&tag, "ENABLE completed");
            }
            _ if !authed => not_allowed(self, &tag),
            CommandBody::Namespace => {
                let ns = self.cfg.namespaces.clone();
                self.data(&Data::Namespace {
                    personal: ns.personal,
                    other: ns.other,
                    shared: ns.shared,
                });
                self.complete_internal(&tag, "NAMESPACE completed");
            }
            CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
                let read_only = name == "EXAMINE";
                if params.qresync.is_some() && !self.qresync {
                    return self.reply_bad(Some(tag), None, "QRESYNC is not enabled");
                }
                if (params.condstore && !e.condstore) || (params.qresync.is_some() && !e.qresync) {
                    return self.reply_bad(Some(tag), None, "Unsupported SELECT parameter");
                }
                if params.condstore {
                    self.condstore = true;
                }
                if matches!(self.state, State::Selected(_)) {
                    self.state = State::Authenticated;
                    self.respond(&Response::Status {
                        status: Status::Ok,
                        code: Some(Code::Closed),
                        text: "Previous mailbox closed".into(),
                    });
                }
                let condstore = self.condstore;
                self.selecting = Some(mailbox.clone());
                self.set_pending(
                    tag,
                    name,
                    PendingKind::Select {
                        read_only,
                        condstore,
                    },
                    Event::Select {
                        mailbox,
                        read_only,
                        condstore,
                        qresync: params.qresync,
                    },
                );
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => {
                if !special_use.is_empty() && !e.special_use {
                    return self.reply_bad(Some(tag), None, "SPECIAL-USE is not supported");
                }
                self.set_pending(
                    tag,
                    name,
                    PendingKind::Simple,
                    Event::Create {
                        mailbox,
                        special_use,
                    },
                );
            }
            CommandBody::Delete(mailbox) => {
                self.set_pending(tag, name, PendingKind::Simple, Event::Delete { mailbox })
            }
            CommandBody::Rename { from, to } => {
                self.set_pending(tag, name, PendingKind::Simple, Event::Rename { from, to })
            }
            CommandBody::Subscribe(mailbox) => {
                self.set_pending(tag, name, PendingKind::Simple, Event::Subscribe { mailbox })
            }
            CommandBody::Unsubscribe(mailbox) => self.set_pending(
                tag,
                name,
                PendingKind::Simple,
                Event::Unsubscribe { mailbox },
            ),
            CommandBody::List {
                select,
                reference,
                patterns,
                ret,
            } => {
                if ret.status.is_some() && !e.list_status {
                    return self.reply_bad(Some(tag), None, "LIST-STATUS is not supported");
                }
                if patterns.len() == 1 && patterns[0].is_empty() && select == Default::default() {
                    // Hierarchy delimiter query.
                    self.data(&Data::List(crate::syntax::ListItem {
                        attributes: vec![crate::syntax::ListAttr::NoSelect],
                        delimiter: Some(self.cfg.delimiter),
                        mailbox: Mailbox::root(),
                        child_subscribed: false,
                    }));
                    return self.complete_internal(&tag, "LIST completed");
                }
                self.set_pending(
                    tag,
                    name,
                    PendingKind::List { lsub: false },
                    Event::List {
                        reference,
                        patterns,
                        select,
                        ret,
                        lsub: false,
                    },
                );
            }
            CommandBody::Lsub { reference, pattern } => self.set_pending(
                tag,
                name,
                PendingKind::List { lsub: true },
                Event::List {
                    reference,
                    patterns: vec![pattern],
                    select: Default::default(),
                    ret: Default::default(),
                    lsub: true,
                },
            ),
            CommandBody::Status { mailbox, items } => {
                if items.contains(&crate::syntax::StatusItem::HighestModSeq) {
                    self.condstore = true;
                }
                self.set_pending(
                    tag,
                    name,
                    PendingKind::Status,
                    Event::Status { mailbox, items },
                )
            }
            CommandBody::Append { .. } => {
                // A complete APPEND frame means the message literal was not recognised.
                self.reply_bad(Some(tag), None, "Invalid APPEND arguments")
            }
            CommandBody::Idle if e.idle => {
                self.set_pending(tag, name, PendingKind::Idle, Event::Idle);
            }
            CommandBody::GetAcl(m) if e.acl => self.set_pending(
                tag,
                name,
                PendingKind::GetAcl(m.clone()),
                Event::GetAcl { mailbox: m },
            ),
            CommandBody::SetAcl {
                mailbox,
                identifier,
                rights,
            } if e.acl => self.set_pending(
                tag,
                name,
                PendingKind::Simple,
                Event::SetAcl {
                    mailbox,
                    identifier,
                    rights,
                },
            ),
            CommandBody::DeleteAcl {
                mailbox,
                identifier,
            } if e.acl => self.set_pending(
                tag,
                name,
                PendingKind::Simple,
                Event::DeleteAcl {
                    mailbox,
                    identifier,
                },
            ),
            CommandBody::ListRights {
                mailbox,
                identifier,
            } if e.acl => self.set_pending(
                tag,
                name,
                PendingKind::ListRights(mailbox.clone(), identifier.clone()),
                Event::ListRights {
                    mailbox,
                    identifier,
                },
            ),
            CommandBody::MyRights(m) if e.acl => self.set_pending(
                tag,
                name,
                PendingKind::MyRights(m.clone()),
                Event::MyRights { mailbox: m },
            ),
            CommandBody::GetQuota(root) if e.quota => {
                self.set_pending(tag, name, PendingKind::GetQuota, Event::GetQuota { root })
            }
            CommandBody::GetQuotaRoot(m) if e.quota => self.set_pending(
                tag,
                name,
                PendingKind::GetQuotaRoot(m.clone()),
                Event::GetQuotaRoot { mailbox: m },
            ),
            CommandBody::SetQuota { root, limits } if e.quota => self.set_pending(
                tag,
                name,
                PendingKind::Simple,
                Event::SetQuota { root, limits },
            ),
            _ if !selected => not_allowed(self, &tag),
            CommandBody::Close | CommandBody::Unselect => {
                let ro = matches!(&self.state, State::Selected(s) if s.read_only);
                let expunge = name == "CLOSE" && !ro;
                self.set_pending(tag, name, PendingKind::Close, Event::Close { expunge });
            }
            CommandBody::Expunge | CommandBody::UidExpunge(_) => {
                if matches!(&self.state, State::Selected(s) if s.read_only) {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::Cannot),
                        "Mailbox is read-only",
                    );
                }
                let uids = match &body {
                    CommandBody::UidExpunge(set) => match self.resolve(set, true) {
                        Ok(u) => Some(u),
                        Err(_) => return self.reply_bad(Some(tag), None, "Invalid UID set"),
                    },
                    _ => None,
                };
                self.set_pending(tag, name, PendingKind::Expunge, Event::Expunge { uids });
            }
            CommandBody::Search {
                uid,
                charset,
                ret,
                criteria,
            } => {
                if !crate::syntax::charset::Charset::from_label(charset.as_deref()).is_supported() {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::BadCharset(
                            crate::syntax::charset::ADVERTISED
                                .iter()
                                .map(|c| (*c).to_owned())
                                .collect(),
                        )),
                        "Unsupported charset",
                    );
                }
                let Some(criteria) = self.translate_search(criteria) else {
                    return self.reply_bad(Some(tag), None, "Invalid message set in SEARCH");
                };
                if has_modseq(&criteria) {
                    self.condstore = true;
                }
                self.set_pending(
                    tag,
                    name,
                    PendingKind::Search {
                        uid,
                        ret: ret.clone(),
                    },
                    Event::Search {
                        criteria,
                        charset,
                        ret,
                    },
                );
            }
            CommandBody::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            } => {
                if modifiers.vanished && !self.qresync {
                    return self.reply_bad(Some(tag), None, "QRESYNC is not enabled");
                }
                let uids = match self.resolve(&set, uid) {
                    Ok(u) => u,
                    Err(_) => {
                        return self.reply_bad(Some(tag), None, "Invalid message sequence number");
                    }
                };
                if modifiers.changed_since.is_some() || attrs.contains(&FetchAttr::ModSeq) {
                    self.condstore = true;
                }
                let vanished = if modifiers.vanished {
                    match &set {
                        SequenceSet::Ranges(r) => Some(r.clone()),
                        SequenceSet::Saved => Ranges::from_sorted(&uids),
                    }
                } else {
                    None
                };
                let want_uid = uid || attrs.contains(&FetchAttr::Uid);
                self.set_pending(
                    tag,
                    name,
                    PendingKind::Fetch { uid, want_uid },
                    Event::Fetch {
                        uids,
                        attrs,
                        changed_since: modifiers.changed_since,
                        vanished,
                    },
                );
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => {
                if matches!(&self.state, State::Selected(s) if s.read_only) {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::Cannot),
                        "Mailbox is read-only",
                    );
                }
                let uids = match self.resolve(&set, uid) {
                    Ok(u) => u,
                    Err(_) => {
                        return self.reply_bad(Some(tag), None, "Invalid message sequence number");
                    }
                };
                if unchanged_since.is_some() {
                    self.condstore = true;
                }
                self.set_pending(
                    tag,
                    name,
                    PendingKind::Store { uid, silent },
                    Event::Store {
                        uids,
                        action,
                        flags,
                        unchanged_since,
                    },
                );
            }
            CommandBody::Copy { uid, set, mailbox } | CommandBody::Move { uid, set, mailbox } => {
                let is_move = name.ends_with("MOVE");
                if is_move && matches!(&self.state, State::Selected(s) if s.read_only) {
                    return self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::Cannot),
                        "Mailbox is read-only",
                    );
                }
                let uids = match self.resolve(&set, uid) {
                    Ok(u) => u,
                    Err(_) => {
                        return self.reply_bad(Some(tag), None, "Invalid message sequence number");
                    }
                };
                if is_move {
                    self.set_pending(
                        tag,
                        name,
                        PendingKind::Move { uids: uids.clone() },
                        Event::Move { uids, mailbox },
                    );
                } else {
                    self.set_pending(tag, name, PendingKind::Copy, Event::Copy { uids, mailbox });
                }
            }
            _ => self.reply_bad(Some(tag), None, "Command not supported"),
        }
    }

    fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<u32>, selected::BadSet> {
        match &self.state {
            State::Selected(s) => s.resolve(set, uid, &self.saved_search),
            _ => Err(selected::BadSet),
        }
    }

    /// Replaces message-number sets (and `$`) by UID sets.
    fn translate_search(&self, key: SearchKey) -> Option<SearchKey> {
        let State::Selected(sel) = &self.state else {
            return None;
        };
        fn to_uid(uids: Vec<u32>) -> SearchKey {
            match Ranges::from_sorted(&uids) {
                Some(r) => SearchKey::Uid(SequenceSet::Ranges(r)),
                None => SearchKey::Not(Box::new(SearchKey::All)),
            }
        }
        fn walk(k: SearchKey, sel: &Selected, saved: &Option<Vec<u32>>) -> Option<SearchKey> {
            Some(match k {
                SearchKey::SequenceSet(SequenceSet::Ranges(r)) => {
                    let n = sel.uids.len() as u32;
                    to_uid(
                        r.expand(n)
                            .into_iter()
                            .map(|s| sel.uids[s as usize - 1])
                            .collect(),
                    )
                }
                SearchKey::SequenceSet(SequenceSet::Saved) | SearchKey::Uid(SequenceSet::Saved) => {
                    to_uid(sel.resolve(&SequenceSet::Saved, true, saved).ok()?)
                }
                SearchKey::Not(k) => SearchKey::Not(Box::new(walk(*k, sel, saved)?)),
                SearchKey::Or(a, b) => SearchKey::Or(
                    Box::new(walk(*a, sel, saved)?),
                    Box::new(walk(*b, sel, saved)?),
                ),
                SearchKey::And(v) => SearchKey::And(
                    v.into_iter()
                        .map(|k| walk(k, sel, saved))
                        .collect::<Option<_>>()?,
                ),
                other => other,
            })
        }
        walk(key, sel, &self.saved_search)
    }

    pub(crate) fn complete_internal(&mut self, tag: &Tag, text: &str) {
        self.bad_commands = 0;
        self.flush_updates(true);
        self.tagged(tag, Status::Ok, None, text);
    }

    /// Sends the mailbox updates waiting for a point where RFC 9051 allows them.
    pub(crate) fn flush_updates(&mut self, allow_expunge: bool) {
        let qresync = self.qresync;
        let State::Selected(sel) = &mut self.state else {
            return;
        };
        let mut w = Writer {
            buf: std::mem::take(&mut self.out),
            utf8: self.utf8,
            ..Default::default()
        };
        if allow_expunge && !sel.expunged.is_empty() {
            let mut gone = std::mem::take(&mut sel.expunged);
            gone.sort_unstable();
            gone.dedup();
            if qresync {
                let present: Vec<u32> = gone
                    .iter()
                    .copied()
                    .filter(|u| sel.seq_of(*u).is_some())
                    .collect();
                sel.uids.retain(|u| gone.binary_search(u).is_err());
                if let Some(r) = Ranges::from_sorted(&present) {
                    Data::Vanished {
                        earlier: false,
                        uids: r,
                    }
                    .write(&mut w);
                }
            } else {
                // Highest first, so each number is still right when the client reads it.
                for &u in gone.iter().rev() {
                    if let Some(seq) = sel.seq_of(u) {
                        sel.uids.remove(seq as usize - 1);
                        Data::Expunge(seq).write(&mut w);
                    }
                }
            }
            sel.flag_updates
                .retain(|(u, ..)| gone.binary_search(u).is_err());
        }
        if !sel.new_uids.is_empty() {
            let new = std::mem::take(&mut sel.new_uids);
            sel.uids.extend(new);
            Data::Exists(sel.uids.len() as u32).write(&mut w);
        }
        if !sel.flag_updates.is_empty() {
            for (uid, flags, modseq) in std::mem::take(&mut sel.flag_updates) {
                if let Some(seq) = sel.seq_of(uid) {
                    let mut items = vec![
                        crate::syntax::FetchItem::Flags(flags),
                        crate::syntax::FetchItem::Uid(uid),
                    ];
                    if let Some(m) = modseq {
                        items.push(crate::syntax::FetchItem::ModSeq(m));
                    }
                    Data::Fetch { seq, items }.write(&mut w);
                }
            }
        }
        self.out = w.buf;
    }
}

fn has_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq(_) => true,
        SearchKey::Not(k) => has_modseq(k),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::And(v) => v.iter().any(has_modseq),
        _ => false,
    }
}

/// Whether the frame is an APPEND command (`tag SP APPEND SP`).
fn is_append(buf: &[u8]) -> bool {
    let n = buf
        .iter()
        .take_while(|&&b| crate::syntax::literal::is_tag_char(b))
        .count();
    buf.len() > n + 8 && buf[n] == b' ' && buf[n + 1..n + 8].eq_ignore_ascii_case(b"APPEND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert_eq!(
            literal_marker(b"a LOGIN {5}\r\n"),
            Some((5, LiteralKind::Sync))
        );
        assert_eq!(
            literal_marker(b"a LOGIN {5+}\n"),
            Some((5, LiteralKind::NonSyncPlus))
        );
        assert_eq!(
            literal_marker(b"a LOGIN {5-}\r\n"),
            Some((5, LiteralKind::NonSyncMinus))
        );
        assert_eq!(literal_marker(b"a LOGIN {}\r\n"), None);
        assert_eq!(literal_marker(b"a LOGIN x}\r\n"), None);
        assert!(is_append(b"a1 append INBOX {3}\r\n"));
        assert!(!is_append(b"a1 APPENDX"));
    }
}
