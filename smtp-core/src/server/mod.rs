//! The server state machine.

mod config;
mod event;

use std::collections::VecDeque;
use std::time::Instant;

use base64::Engine;
use bytes::{Buf, BytesMut};

pub use config::{AuthPolicy, Config};
pub use event::{AbortReason, Event, Mechanism};

use crate::command::{Command, ParseError, parse_command};
use crate::data::{DecodeStatus, DotUnstuffer};
use crate::error::Error;
use crate::framer::{Frame, next_line};
use crate::params::Body;
use crate::reply::{Reply, ec};
use crate::secret::Secret;

/// The decision the server waits for.
#[derive(Debug)]
enum Pending {
    Helo { domain: String, extended: bool },
    Auth { username: String },
    StartTls,
    Mail { smtputf8: bool },
    Rcpt,
    Data,
    Bdat { size: u64, last: bool },
    MessageEnd,
}

impl Pending {
    fn name(&self) -> &'static str {
        match self {
            Pending::Helo { .. } => "Helo",
            Pending::Auth { .. } => "Auth",
            Pending::StartTls => "StartTls",
            Pending::Mail { .. } => "MailFrom",
            Pending::Rcpt => "RcptTo",
            Pending::Data | Pending::Bdat { .. } => "DataStart",
            Pending::MessageEnd => "DataEnd",
        }
    }
}

#[derive(Debug)]
enum Mode {
    Command,
    /// Waiting for the client's SASL response.
    AuthPlain,
    AuthLoginUser,
    AuthLoginPass {
        username: String,
    },
    /// Receiving DATA.
    Data {
        decoder: DotUnstuffer,
        size: u64,
        aborted: Option<AbortReason>,
    },
    /// Receiving a BDAT chunk: `remaining` octets still to read.
    Bdat {
        remaining: u64,
        last: bool,
        /// Octets are read and dropped, then `reply` is sent.
        discard: Option<Reply>,
    },
    /// STARTTLS accepted: waiting for [`Server::tls_started`].
    TlsHandshake,
    Closed,
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Mode::Command => "Command",
            Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPass { .. } => "Auth",
            Mode::Data { .. } => "Data",
            Mode::Bdat { .. } => "Bdat",
            Mode::TlsHandshake => "TlsHandshake",
            Mode::Closed => "Closed",
        }
    }
}

#[derive(Debug, Default)]
struct Transaction {
    smtputf8: bool,
    rcpts: usize,
    /// BDAT chunks accepted so far (the message has started).
    chunking: bool,
    /// Octets received so far in BDAT chunks.
    size: u64,
}

/// A Sans-I/O SMTP server session (one per connection).
///
/// See the crate documentation for a complete driver loop.
#[derive(Debug)]
pub struct Server {
    config: Config,
    input: BytesMut,
    output: Vec<u8>,
    events: VecDeque<Event>,
    pending: Option<Pending>,
    mode: Mode,
    /// Discarding the rest of an overlong line.
    discarding: bool,
    helo: Option<String>,
    extended: bool,
    tls: bool,
    auth_user: Option<String>,
    txn: Option<Transaction>,
    errors: u32,
    deadline: Option<Instant>,
    activity: bool,
}

const STATE_WAIT: &str = "no decision pending";

impl Server {
    /// A new session; the 220 greeting is queued at once.
    pub fn new(config: Config) -> Self {
        let greeting = Reply::new(220, format!("{} {}", config.hostname, config.greeting));
        let mut s = Server {
            tls: config.implicit_tls,
            config,
            input: BytesMut::with_capacity(1024),
            output: Vec::with_capacity(512),
            events: VecDeque::new(),
            pending: None,
            mode: Mode::Command,
            discarding: false,
            helo: None,
            extended: false,
            auth_user: None,
            txn: None,
            errors: 0,
            deadline: None,
            activity: true,
        };
        s.send(&greeting);
        s
    }

    /// Hands bytes read from the client to the session (any split works the same). Bytes fed
    /// after the session closed are ignored.
    pub fn feed(&mut self, bytes: &[u8]) {
        if matches!(self.mode, Mode::Closed) {
            return;
        }
        self.activity = true;
        crate::data::append_input(&mut self.input, bytes);
    }

    /// Like [`feed`](Self::feed), for a buffer the host owns (the one a socket read filled):
    /// when no earlier input is pending, the buffer is taken over without a copy, and
    /// [`Event::Data`] chunks are slices of it. Bytes fed after the session closed are ignored.
    pub fn feed_bytes(&mut self, bytes: BytesMut) {
        if matches!(self.mode, Mode::Closed) {
            return;
        }
        self.activity = true;
        crate::data::append_owned(&mut self.input, bytes);
    }

    /// The next event, or `None` when more input (or an answer to a pending decision) is needed.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            self.process();
        }
        self.events.pop_front()
    }

    /// Bytes to write to the client.
    pub fn transmit(&self) -> &[u8] {
        &self.output
    }

    /// Marks `n` bytes of [`transmit`](Self::transmit) as written.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.drain(..n);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next (None: no timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending.is_some() || matches!(self.mode, Mode::Closed) {
            None
        } else {
            self.deadline
        }
    }

    /// Drives the idle timer. Call it after every [`feed`](Self::feed) (it re-arms the timer
    /// from `now`) and when [`poll_timeout`](Self::poll_timeout) has passed; an idle session is
    /// answered 421 4.4.2 and closed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.mode, Mode::Closed) {
            return;
        }
        if self.activity || self.deadline.is_none() || self.pending.is_some() {
            self.activity = false;
            self.deadline = Some(now + self.config.idle_timeout);
        } else if self.deadline.is_some_and(|d| now >= d) {
            let r = Reply::with_enhanced(
                421,
                crate::reply::EnhancedCode {
                    class: 4,
                    subject: 4,
                    detail: 2,
                },
                format!("{} Error: timeout exceeded", self.config.hostname),
            );
            self.close_with(&r);
        }
    }

    /// Whether the session has ended (after QUIT, 421, or [`shutdown`](Self::shutdown)): write
    /// what [`transmit`](Self::transmit) still holds, then close the connection.
    pub fn is_closed(&self) -> bool {
        matches!(self.mode, Mode::Closed)
    }

    /// Whether the server waits for the host to answer a decision event. Meanwhile nothing is
    /// read: a host may stop reading from the socket.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Ends the session with the given reply (e.g. 421 4.3.2 on shutdown).
    pub fn shutdown(&mut self, reply: &Reply) -> Result<(), Error> {
        if matches!(self.mode, Mode::Closed) {
            return Err(self.wrong("shutdown"));
        }
        self.pending = None;
        self.close_with(reply);
        Ok(())
    }

    /// Name given in HELO/EHLO, once accepted.
    pub fn helo_name(&self) -> Option<&str> {
        self.helo.as_deref()
    }

    /// Whether the connection is TLS (implicit or after STARTTLS).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The user whose AUTH was accepted.
    pub fn authenticated_user(&self) -> Option<&str> {
        self.auth_user.as_deref()
    }

    /// Allows or forbids AUTH while the connection is not TLS (the host decides).
    pub fn set_plaintext_auth(&mut self, allowed: bool) {
        self.config.plaintext_auth = allowed;
    }

    /// The `with` protocol name for the Received header (RFC 3848 / RFC 6531): `SMTP`,
    /// `ESMTP`, `ESMTPS`, `ESMTPA`, `ESMTPSA`, or the `UTF8SMTP...` forms for SMTPUTF8.
    pub fn protocol(&self) -> &'static str {
        let utf8 = self.txn.as_ref().is_some_and(|t| t.smtputf8);
        match (self.extended, utf8, self.tls, self.auth_user.is_some()) {
            (false, _, _, _) => "SMTP",
            (true, false, false, false) => "ESMTP",
            (true, false, true, false) => "ESMTPS",
            (true, false, false, true) => "ESMTPA",
            (true, false, true, true) => "ESMTPSA",
            (true, true, false, false) => "UTF8SMTP",
            (true, true, true, false) => "UTF8SMTPS",
            (true, true, false, true) => "UTF8SMTPA",
            (true, true, true, true) => "UTF8SMTPSA",
        }
    }

    /// Accepts the pending decision with its default positive reply.
    pub fn accept(&mut self) -> Result<(), Error> {
        self.answer(None, true)
    }

    /// Accepts the pending decision with a custom positive reply (2xx; 354 for DATA; for
    /// EHLO the text replaces the first line, the capabilities follow).
    pub fn accept_with(&mut self, reply: Reply) -> Result<(), Error> {
        self.answer(Some(reply), true)
    }

    /// Refuses the pending decision with a 4xx or 5xx reply.
    pub fn reject(&mut self, reply: Reply) -> Result<(), Error> {
        self.answer(Some(reply), false)
    }

    /// After STARTTLS was accepted and its 220 written, the host did the TLS handshake: the
    /// session starts over (RFC 3207). Any plaintext the client sent after STARTTLS is dropped.
    pub fn tls_started(&mut self) -> Result<(), Error> {
        if !matches!(self.mode, Mode::TlsHandshake) {
            return Err(self.wrong("tls_started"));
        }
        self.input.clear();
        self.discarding = false;
        self.mode = Mode::Command;
        self.tls = true;
        self.helo = None;
        self.extended = false;
        self.auth_user = None;
        self.txn = None;
        Ok(())
    }

    fn wrong(&self, action: &'static str) -> Error {
        Error::WrongState {
            action,
            state: match &self.pending {
                Some(p) => p.name(),
                None if matches!(self.mode, Mode::Command) => STATE_WAIT,
                None => self.mode.name(),
            },
        }
    }

    fn send(&mut self, r: &Reply) {
        r.write_to(&mut self.output);
    }

    fn close_with(&mut self, r: &Reply) {
        self.send(r);
        self.mode = Mode::Closed;
        self.input.clear();
        self.pending = None;
    }

    /// Sends an error reply and counts it; too many end the session.
    fn send_error(&mut self, r: &Reply) {
        self.send(r);
        self.errors += 1;
        if self.errors >= self.config.max_errors && !matches!(self.mode, Mode::Closed) {
            let bye = Reply::st(
                421,
                ec(4, 7, 0),
                &format!(
                    "{} Too many errors, closing connection",
                    self.config.hostname
                ),
            );
            self.close_with(&bye);
        }
    }

    fn reset_txn(&mut self) {
        if self.txn.take().is_some() {
            self.events.push_back(Event::Reset);
        }
    }

    fn answer(&mut self, reply: Option<Reply>, positive: bool) -> Result<(), Error> {
        let action = if positive { "accept" } else { "reject" };
        let Some(pending) = self.pending.as_ref() else {
            return Err(self.wrong(action));
        };
        // The decision event is always the last one queued: while events are queued, the host
        // has not seen it yet (it is answering an earlier, informational event).
        if !self.events.is_empty() {
            return Err(Error::WrongState {
                action,
                state: "decision event not yet polled",
            });
        }
        if let Some(r) = &reply {
            let ok = if positive {
                match pending {
                    Pending::Data => r.code() == 354,
                    Pending::Bdat { .. } => r.is_positive_completion(),
                    _ => r.is_positive_completion(),
                }
            } else {
                r.is_failure()
            };
            if !ok {
                return Err(Error::InvalidReply {
                    code: r.code(),
                    reason: if !positive {
                        "reject needs a 4xx or 5xx reply"
                    } else if matches!(pending, Pending::Data) {
                        "accepting DATA needs 354"
                    } else {
                        "accept needs a 2xx reply"
                    },
                });
            }
        }
        let Some(pending) = self.pending.take() else {
            return Err(self.wrong(action));
        };
        if !positive {
            let r = reply.unwrap_or_else(|| Reply::st(550, ec(5, 0, 0), "Rejected"));
            match pending {
                Pending::Auth { .. } => {
                    self.mode = Mode::Command;
                }
                Pending::Data => self.reset_txn(),
                Pending::Bdat { size, .. } => {
                    self.reset_txn();
                    self.mode = Mode::Bdat {
                        remaining: size,
                        last: true,
                        discard: Some(r),
                    };
                    return Ok(());
                }
                Pending::MessageEnd => self.txn = None,
                _ => {}
            }
            self.send_error(&r);
            return Ok(());
        }
        match pending {
            Pending::Helo { domain, extended } => {
                let first = reply.map_or_else(
                    || format!("{} Hello {}", self.config.hostname, domain),
                    |r| r.text(),
                );
                self.txn = None;
                self.helo = Some(domain);
                self.extended = extended;
                let r = if extended {
                    Reply::from_parts(250, None, self.capabilities(first))
                } else {
                    Reply::new(250, first)
                };
                self.send(&r);
            }
            Pending::Auth { username } => {
                self.mode = Mode::Command;
                self.auth_user = Some(username);
                let r = reply
                    .unwrap_or_else(|| Reply::st(235, ec(2, 7, 0), "Authentication successful"));
                self.send(&r);
            }
            Pending::StartTls => {
                let r = reply.unwrap_or_else(|| Reply::st(220, ec(2, 0, 0), "Ready to start TLS"));
                self.send(&r);
                self.reset_txn();
                self.mode = Mode::TlsHandshake;
            }
            Pending::Mail { smtputf8 } => {
                self.txn = Some(Transaction {
                    smtputf8,
                    ..Transaction::default()
                });
                let r = reply.unwrap_or_else(|| Reply::st(250, ec(2, 1, 0), "Ok"));
                self.send(&r);
            }
            Pending::Rcpt => {
                if let Some(t) = self.txn.as_mut() {
                    t.rcpts += 1;
                }
                let r = reply.unwrap_or_else(|| Reply::st(250, ec(2, 1, 5), "Ok"));
                self.send(&r);
            }
            Pending::Data => {
                let r = reply
                    .unwrap_or_else(|| Reply::st(354, None, "End data with <CR><LF>.<CR><LF>"));
                self.send(&r);
                self.mode = Mode::Data {
                    decoder: DotUnstuffer::new(self.config.bare_line),
                    size: 0,
                    aborted: None,
                };
            }
            Pending::Bdat { size, last } => {
                if let Some(t) = self.txn.as_mut() {
                    t.chunking = true;
                }
                self.start_bdat(size, last);
            }
            Pending::MessageEnd => {
                self.txn = None;
                let r = reply.unwrap_or_else(|| Reply::st(250, ec(2, 0, 0), "Ok: queued"));
                self.send(&r);
            }
        }
        Ok(())
    }

    fn capabilities(&self, first: String) -> Vec<String> {
        let c = &self.config;
        let mut v = vec![first, "PIPELINING".into()];
        v.push(format!("SIZE {}", c.max_message_size));
        v.push("8BITMIME".into());
        v.push("ENHANCEDSTATUSCODES".into());
        if c.smtputf8 {
            v.push("SMTPUTF8".into());
        }
        if c.chunking {
            v.push("CHUNKING".into());
        }
        if c.dsn {
            v.push("DSN".into());
        }
        if c.starttls && !self.tls {
            v.push("STARTTLS".into());
        }
        if self.auth_offered() && self.auth_user.is_none() {
            v.push("AUTH PLAIN LOGIN".into());
        }
        v
    }

    fn auth_offered(&self) -> bool {
        self.config.auth != AuthPolicy::Disabled && (self.tls || self.config.plaintext_auth)
    }

    fn process(&mut self) {
        while self.events.is_empty() && self.pending.is_none() {
            let progressed = match &self.mode {
                Mode::Closed | Mode::TlsHandshake => false,
                Mode::Data { .. } => self.process_data(),
                Mode::Bdat { .. } => self.process_bdat(),
                Mode::Command
                | Mode::AuthPlain
                | Mode::AuthLoginUser
                | Mode::AuthLoginPass { .. } => self.process_line(),
            };
            if !progressed {
                break;
            }
        }
    }

    fn process_line(&mut self) -> bool {
        match next_line(&self.input, self.config.max_line_length, self.discarding) {
            Frame::Incomplete => false,
            Frame::Skip(n) => {
                self.input.advance(n);
                self.discarding = true;
                true
            }
            Frame::TooLong { consumed, ended } => {
                self.input.advance(consumed);
                self.discarding = !ended;
                if !matches!(self.mode, Mode::Command) {
                    self.mode = Mode::Command;
                }
                self.send_error(&Reply::st(500, ec(5, 5, 6), "Line too long"));
                true
            }
            Frame::Line {
                len,
                consumed,
                bare_lf,
            } => {
                let was_discarding = self.discarding;
                self.discarding = false;
                let line = self.input.split_to(consumed).freeze();
                if was_discarding {
                    return true;
                }
                if bare_lf && self.config.bare_line == crate::BareLinePolicy::Reject {
                    self.mode = Mode::Command;
                    self.send_error(&Reply::st(500, ec(5, 5, 2), "Line must end with CRLF"));
                    return true;
                }
                let line = &line[..len];
                match std::mem::replace(&mut self.mode, Mode::Command) {
                    Mode::Command => self.command(line),
                    Mode::AuthPlain => self.auth_plain(line),
                    Mode::AuthLoginUser => self.auth_login_user(line),
                    Mode::AuthLoginPass { username } => self.auth_login_pass(line, username),
                    other => self.mode = other,
                }
                true
            }
        }
    }

    fn command(&mut self, line: &[u8]) {
        let cmd = match parse_command(line) {
            Ok(c) => c,
            Err(e) => {
                // A BDAT we cannot parse leaves us unable to find the next command: close.
                if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"BDAT ") {
                    let r = Reply::st(
                        421,
                        ec(4, 5, 4),
                        &format!(
                            "{} Bad BDAT command, closing connection",
                            self.config.hostname
                        ),
                    );
                    self.close_with(&r);
                    return;
                }
                let r = match e {
                    ParseError::Unknown => Reply::st(500, ec(5, 5, 1), "Command unrecognized"),
                    ParseError::Syntax(s) => {
                        Reply::build(501, ec(5, 5, 4), format!("Syntax error: {s}"))
                    }
                    ParseError::BadSender => {
                        Reply::st(501, ec(5, 1, 7), "Bad sender address syntax")
                    }
                    ParseError::BadRecipient => {
                        Reply::st(501, ec(5, 1, 3), "Bad recipient address syntax")
                    }
                    ParseError::UnknownParameter => {
                        Reply::st(555, ec(5, 5, 4), "Unsupported parameter")
                    }
                };
                self.send_error(&r);
                return;
            }
        };
        match cmd {
            Command::Ehlo(d) | Command::Helo(d) => {
                let extended = matches!(cmd, Command::Ehlo(_));
                self.reset_txn();
                self.pending = Some(Pending::Helo {
                    domain: d.to_owned(),
                    extended,
                });
                self.events.push_back(Event::Helo {
                    domain: d.to_owned(),
                    extended,
                });
            }
            Command::Noop => self.send(&Reply::st(250, ec(2, 0, 0), "Ok")),
            Command::Rset => {
                self.reset_txn();
                self.send(&Reply::st(250, ec(2, 0, 0), "Ok"));
            }
            Command::Quit => {
                let r = Reply::st(221, ec(2, 0, 0), &format!("{} Bye", self.config.hostname));
                self.close_with(&r);
            }
            Command::Vrfy => self.send(&Reply::st(
                252,
                ec(2, 5, 2),
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn => self.send_error(&Reply::st(502, ec(5, 5, 1), "EXPN not available")),
            Command::Help => self.send(&Reply::st(
                214,
                ec(2, 0, 0),
                "See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)",
            )),
            Command::StartTls => {
                if self.tls {
                    self.send_error(&Reply::st(503, ec(5, 5, 1), "TLS already active"));
                } else if !self.config.starttls {
                    self.send_error(&Reply::st(502, ec(5, 5, 1), "STARTTLS not available"));
                } else {
                    self.pending = Some(Pending::StartTls);
                    self.events.push_back(Event::StartTls);
                }
            }
            Command::Auth { mechanism, initial } => self.auth_start(mechanism, initial),
            Command::Mail { from, params } => {
                let err = if self.helo.is_none() {
                    Some(Reply::st(503, ec(5, 5, 1), "Send HELO/EHLO first"))
                } else if self.txn.is_some() {
                    Some(Reply::st(503, ec(5, 5, 1), "Nested MAIL command"))
                } else if self.config.auth == AuthPolicy::Required && self.auth_user.is_none() {
                    Some(Reply::st(530, ec(5, 7, 0), "Authentication required"))
                } else if !self.extended && params != Default::default() {
                    Some(Reply::st(555, ec(5, 5, 4), "Parameters need EHLO"))
                } else if params
                    .size
                    .is_some_and(|s| s > self.config.max_message_size)
                {
                    Some(Reply::st(
                        552,
                        ec(5, 3, 4),
                        "Message size exceeds fixed limit",
                    ))
                } else if params.body == Some(Body::BinaryMime) {
                    Some(Reply::st(555, ec(5, 5, 4), "BINARYMIME not supported"))
                } else if params.smtputf8 && !self.config.smtputf8 {
                    Some(Reply::st(555, ec(5, 5, 4), "SMTPUTF8 not supported"))
                } else if !self.config.dsn && (params.ret.is_some() || params.envid.is_some()) {
                    Some(Reply::st(555, ec(5, 5, 4), "DSN not supported"))
                } else if !params.smtputf8 && !from.as_str().is_ascii() {
                    Some(Reply::st(
                        553,
                        ec(5, 6, 7),
                        "Non-ASCII address needs SMTPUTF8",
                    ))
                } else {
                    None
                };
                if let Some(r) = err {
                    self.send_error(&r);
                    return;
                }
                self.pending = Some(Pending::Mail {
                    smtputf8: params.smtputf8,
                });
                self.events.push_back(Event::MailFrom {
                    from: from.into_owned(),
                    params: params.into_owned(),
                });
            }
            Command::Rcpt { to, params } => {
                let err = match &self.txn {
                    None => Some(Reply::st(503, ec(5, 5, 1), "Need MAIL command")),
                    Some(t) if t.chunking => {
                        Some(Reply::st(503, ec(5, 5, 1), "BDAT transfer in progress"))
                    }
                    Some(t) if t.rcpts >= self.config.max_recipients => {
                        Some(Reply::st(452, ec(4, 5, 3), "Too many recipients"))
                    }
                    Some(t) if !t.smtputf8 && !to.is_ascii() => Some(Reply::st(
                        553,
                        ec(5, 6, 7),
                        "Non-ASCII address needs SMTPUTF8",
                    )),
                    Some(_) if !self.config.dsn && params != Default::default() => {
                        Some(Reply::st(555, ec(5, 5, 4), "DSN not supported"))
                    }
                    Some(_) => None,
                };
                if let Some(r) = err {
                    self.send_error(&r);
                    return;
                }
                self.pending = Some(Pending::Rcpt);
                self.events.push_back(Event::RcptTo {
                    to: to.into_owned(),
                    params: params.into_owned(),
                });
            }
            Command::Data => {
                let err = match &self.txn {
                    None => Some(Reply::st(503, ec(5, 5, 1), "Need MAIL command")),
                    Some(t) if t.chunking => {
                        Some(Reply::st(503, ec(5, 5, 1), "BDAT transfer in progress"))
                    }
                    Some(t) if t.rcpts == 0 => {
                        Some(Reply::st(554, ec(5, 5, 1), "No valid recipients"))
                    }
                    Some(_) => None,
                };
                if let Some(r) = err {
                    self.send_error(&r);
                    return;
                }
                self.pending = Some(Pending::Data);
                self.events.push_back(Event::DataStart { chunking: false });
            }
            Command::Bdat { size, last } => {
                if size > self.config.max_message_size {
                    // Reading (and dropping) a chunk bigger than any message we accept would
                    // only let the client keep the connection busy: refuse and close.
                    if self.txn.as_ref().is_some_and(|t| t.chunking) {
                        self.events.push_back(Event::DataAborted {
                            reason: AbortReason::TooBig,
                        });
                    }
                    self.txn = None;
                    let r = Reply::st(
                        552,
                        ec(5, 3, 4),
                        "Chunk exceeds the message size limit, closing connection",
                    );
                    self.close_with(&r);
                    return;
                }
                let err = if !self.config.chunking {
                    Some(Reply::st(502, ec(5, 5, 1), "CHUNKING not available"))
                } else {
                    match &self.txn {
                        None => Some(Reply::st(503, ec(5, 5, 1), "Need MAIL command")),
                        Some(t) if t.rcpts == 0 => {
                            Some(Reply::st(554, ec(5, 5, 1), "No valid recipients"))
                        }
                        Some(_) => None,
                    }
                };
                match err {
                    Some(r) => {
                        // The chunk follows anyway: read it, drop it, then answer.
                        self.mode = Mode::Bdat {
                            remaining: size,
                            last: true,
                            discard: Some(r),
                        };
                    }
                    None if self.txn.as_ref().is_some_and(|t| t.chunking) => {
                        self.start_bdat(size, last)
                    }
                    None => {
                        self.pending = Some(Pending::Bdat { size, last });
                        self.events.push_back(Event::DataStart { chunking: true });
                    }
                }
            }
        }
    }

    fn start_bdat(&mut self, size: u64, last: bool) {
        let total = self.txn.as_ref().map_or(0, |t| t.size).saturating_add(size);
        if total > self.config.max_message_size {
            self.reset_txn_silent();
            self.events.push_back(Event::DataAborted {
                reason: AbortReason::TooBig,
            });
            self.mode = Mode::Bdat {
                remaining: size,
                last: true,
                discard: Some(Reply::st(
                    552,
                    ec(5, 3, 4),
                    "Message size exceeds fixed limit",
                )),
            };
        } else {
            self.mode = Mode::Bdat {
                remaining: size,
                last,
                discard: None,
            };
        }
    }

    fn reset_txn_silent(&mut self) {
        self.txn = None;
    }

    fn process_bdat(&mut self) -> bool {
        let Mode::Bdat {
            remaining,
            last,
            discard,
        } = &mut self.mode
        else {
            return false;
        };
        if *remaining > 0 {
            if self.input.is_empty() {
                return false;
            }
            let n = (self.input.len() as u64).min(*remaining) as usize;
            *remaining -= n as u64;
            let chunk = self.input.split_to(n).freeze();
            if discard.is_none() {
                if let Some(t) = self.txn.as_mut() {
                    t.size += n as u64;
                }
                self.events.push_back(Event::Data(chunk));
            }
            if *remaining > 0 {
                return true;
            }
        }
        // Chunk complete.
        let last = *last;
        let discard = discard.take();
        self.mode = Mode::Command;
        match discard {
            Some(r) => self.send_error(&r),
            None if last => {
                let size = self.txn.as_ref().map_or(0, |t| t.size);
                self.pending = Some(Pending::MessageEnd);
                self.events.push_back(Event::DataEnd { size });
            }
            None => {
                let got = self.txn.as_ref().map_or(0, |t| t.size);
                self.send(&Reply::build(
                    250,
                    ec(2, 0, 0),
                    format!("{got} octets received"),
                ));
            }
        }
        true
    }

    fn process_data(&mut self) -> bool {
        let max = self.config.max_message_size;
        let Mode::Data {
            decoder,
            size,
            aborted,
        } = &mut self.mode
        else {
            return false;
        };
        let before = self.input.len();
        let events = &mut self.events;
        let status = decoder.decode(&mut self.input, &mut |chunk| {
            if aborted.is_none() {
                *size += chunk.len() as u64;
                if *size > max {
                    *aborted = Some(AbortReason::TooBig);
                    events.push_back(Event::DataAborted {
                        reason: AbortReason::TooBig,
                    });
                } else {
                    events.push_back(Event::Data(chunk));
                }
            }
        });
        if aborted.is_none()
            && decoder.saw_bare_line_ending()
            && self.config.bare_line == crate::BareLinePolicy::Reject
        {
            *aborted = Some(AbortReason::BareLineEnding);
            // Drop data events of this message not yet handed out.
            events.retain(|e| !matches!(e, Event::Data(_)));
            events.push_back(Event::DataAborted {
                reason: AbortReason::BareLineEnding,
            });
        }
        match status {
            DecodeStatus::NeedMore => self.input.len() != before,
            DecodeStatus::End => {
                let size = *size;
                let aborted = *aborted;
                self.mode = Mode::Command;
                match aborted {
                    None => {
                        self.pending = Some(Pending::MessageEnd);
                        self.events.push_back(Event::DataEnd { size });
                    }
                    Some(reason) => {
                        self.txn = None;
                        let r = match reason {
                            AbortReason::TooBig => {
                                Reply::st(552, ec(5, 3, 4), "Message size exceeds fixed limit")
                            }
                            AbortReason::BareLineEnding => Reply::st(
                                550,
                                ec(5, 6, 0),
                                "Message contains bare CR or LF (see RFC 5321 section 2.3.8)",
                            ),
                        };
                        self.send_error(&r);
                    }
                }
                true
            }
        }
    }

    fn auth_start(&mut self, mechanism: &str, initial: Option<&str>) {
        let err = if self.config.auth == AuthPolicy::Disabled {
            Some(Reply::st(502, ec(5, 5, 1), "AUTH not available"))
        } else if self.helo.is_none() || !self.extended {
            Some(Reply::st(503, ec(5, 5, 1), "Send EHLO first"))
        } else if self.auth_user.is_some() {
            Some(Reply::st(503, ec(5, 5, 1), "Already authenticated"))
        } else if self.txn.is_some() {
            Some(Reply::st(
                503,
                ec(5, 5, 1),
                "AUTH not allowed during a mail transaction",
            ))
        } else if !self.auth_offered() {
            Some(Reply::st(
                538,
                ec(5, 7, 11),
                "Encryption required for requested authentication mechanism",
            ))
        } else {
            None
        };
        if let Some(r) = err {
            self.send_error(&r);
            return;
        }
        if mechanism.eq_ignore_ascii_case("PLAIN") {
            match initial {
                Some(ir) => self.auth_plain(ir.as_bytes()),
                None => {
                    self.send(&Reply::st(334, None, ""));
                    self.mode = Mode::AuthPlain;
                }
            }
        } else if mechanism.eq_ignore_ascii_case("LOGIN") {
            match initial {
                Some(ir) => self.auth_login_user(ir.as_bytes()),
                None => {
                    self.send(&Reply::st(334, None, "VXNlcm5hbWU6"));
                    self.mode = Mode::AuthLoginUser;
                }
            }
        } else {
            self.send_error(&Reply::st(
                504,
                ec(5, 5, 4),
                "Unrecognized authentication type",
            ));
        }
    }

    /// Decodes one SASL response line; `None` after an error reply was sent.
    fn sasl_decode(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        if line == b"*" {
            self.send_error(&Reply::st(501, ec(5, 7, 0), "Authentication cancelled"));
            return None;
        }
        if line == b"=" {
            return Some(Vec::new());
        }
        match base64::engine::general_purpose::STANDARD.decode(line) {
            Ok(v) => Some(v),
            Err(_) => {
                self.send_error(&Reply::st(501, ec(5, 5, 2), "Invalid base64 data"));
                None
            }
        }
    }

    fn auth_plain(&mut self, line: &[u8]) {
        let Some(raw) = self.sasl_decode(line) else {
            return;
        };
        let raw = Secret::new(String::from_utf8_lossy(&raw).into_owned());
        let mut parts = raw.expose().splitn(3, '\0');
        let (Some(authzid), Some(user), Some(pass)) = (parts.next(), parts.next(), parts.next())
        else {
            self.send_error(&Reply::st(501, ec(5, 5, 2), "Malformed PLAIN response"));
            return;
        };
        if user.is_empty() {
            self.send_error(&Reply::st(501, ec(5, 5, 2), "Malformed PLAIN response"));
            return;
        }
        let ev = Event::Auth {
            mechanism: Mechanism::Plain,
            authzid: (!authzid.is_empty()).then(|| authzid.to_owned()),
            username: user.to_owned(),
            password: Secret::new(pass),
        };
        self.pending = Some(Pending::Auth {
            username: user.to_owned(),
        });
        self.events.push_back(ev);
    }

    fn auth_login_user(&mut self, line: &[u8]) {
        let Some(raw) = self.sasl_decode(line) else {
            return;
        };
        match String::from_utf8(raw) {
            Ok(u) if !u.is_empty() && !u.contains('\0') => {
                self.send(&Reply::st(334, None, "UGFzc3dvcmQ6"));
                self.mode = Mode::AuthLoginPass { username: u };
            }
            _ => self.send_error(&Reply::st(501, ec(5, 5, 2), "Malformed user name")),
        }
    }

    fn auth_login_pass(&mut self, line: &[u8], username: String) {
        let Some(raw) = self.sasl_decode(line) else {
            return;
        };
        let password = Secret::new(String::from_utf8_lossy(&raw).into_owned());
        self.pending = Some(Pending::Auth {
            username: username.clone(),
        });
        self.events.push_back(Event::Auth {
            mechanism: Mechanism::Login,
            authzid: None,
            username,
            password,
        });
    }
}
