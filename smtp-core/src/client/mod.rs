//! The client state machine, for outbound relay and submission.

mod capabilities;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine;

pub use capabilities::Capabilities;

use crate::command::ReversePath;
use crate::data::DotStuffer;
use crate::error::Error;
use crate::params::{Body, MailParams, RcptParams, Ret};
use crate::reply::Reply;
use crate::reply_parser::ReplyParser;
use crate::secret::Secret;

/// Client settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Our name for EHLO/HELO.
    pub helo_name: String,
    /// Longest reply line accepted.
    pub max_line_length: usize,
    /// How long to wait for a reply (RFC 5321 section 4.5.3.2 suggests 5 minutes).
    pub reply_timeout: Duration,
    /// How long to wait for the reply after the end of data (10 minutes).
    pub data_end_timeout: Duration,
}

impl ClientConfig {
    /// Defaults: 4096-octet reply lines, 5 minutes per reply, 10 minutes after the data.
    pub fn new(helo_name: impl Into<String>) -> Self {
        ClientConfig {
            helo_name: helo_name.into(),
            max_line_length: 4096,
            reply_timeout: Duration::from_secs(300),
            data_end_timeout: Duration::from_secs(600),
        }
    }
}

/// One message's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Sender (null for bounces).
    pub from: ReversePath<'static>,
    /// MAIL parameters; each is sent only when the server offers its extension (SIZE, BODY,
    /// SMTPUTF8, DSN) and `AUTH=` only after we authenticated.
    pub params: MailParams<'static>,
    /// Recipients with their parameters (NOTIFY / ORCPT only sent when DSN is offered).
    pub recipients: Vec<(String, RcptParams<'static>)>,
}

/// What the client reports to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Greeting and EHLO (or HELO) done: commands may be sent. Also after STARTTLS.
    Ready(Capabilities),
    /// STARTTLS answered 220: do the TLS handshake, then call
    /// [`Client::tls_established`].
    TlsReady,
    /// AUTH succeeded.
    Authenticated,
    /// The sender was refused; the transaction is over.
    MailRefused(Reply),
    /// The answer to one recipient (`index` into [`Envelope::recipients`]).
    RcptResult {
        /// Which recipient.
        index: usize,
        /// The server's reply.
        reply: Reply,
    },
    /// 354: write the message with [`Client::send_data`] and [`Client::end_data`].
    DataReady,
    /// The final answer for the message (250: delivered to the accepted recipients), or the
    /// refusal of DATA, or the last refusal when no recipient was accepted.
    MessageResult(Reply),
    /// The server refused something outside a transaction (greeting, EHLO, STARTTLS, AUTH).
    /// The session is still usable unless [`Client::is_closed`].
    Refused(Reply),
    /// The session ended (QUIT answered, 421, timeout, or the server broke the protocol).
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    AuthLoginUser,
    AuthLoginPass,
    AuthResult,
    Mail,
    Rcpt(usize),
    Data,
    DataEnd,
    /// A reply whose content does not matter (RSET after a failed transaction).
    Ignore,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for replies; no host command allowed except quit.
    Busy,
    /// Ready for commands.
    Ready,
    /// STARTTLS accepted: waiting for the host's handshake.
    TlsHandshake,
    /// Transaction in progress (replies outstanding).
    Transaction,
    /// The host writes the message.
    Data,
    Closed,
}

#[derive(Debug, Default)]
struct Txn {
    rcpts: usize,
    /// Recipient commands not yet sent (no pipelining).
    unsent: VecDeque<String>,
    mail_ok: bool,
    accepted: usize,
    last_refusal: Option<Reply>,
    mail_refusal: Option<Reply>,
}

/// A Sans-I/O SMTP client session (one per connection).
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    input: Vec<u8>,
    output: Vec<u8>,
    events: VecDeque<ClientEvent>,
    expect: VecDeque<Expect>,
    parser: ReplyParser,
    state: State,
    caps: Capabilities,
    tls: bool,
    authenticated: bool,
    login: Option<(String, Secret)>,
    txn: Option<Txn>,
    stuffer: DotStuffer,
    deadline: Option<Instant>,
    activity: bool,
}

fn wrong(action: &'static str, state: State) -> Error {
    Error::WrongState {
        action,
        state: match state {
            State::Busy => "waiting for a reply",
            State::Ready => "ready",
            State::TlsHandshake => "TLS handshake",
            State::Transaction => "transaction",
            State::Data => "data",
            State::Closed => "closed",
        },
    }
}

fn check_address(a: &str) -> Result<(), Error> {
    if a.is_empty()
        || a.len() > crate::command::MAX_PATH_LEN
        || a.chars()
            .any(|c| c.is_control() || c == '<' && !a.contains('"') || c == ' ' && !a.contains('"'))
    {
        return Err(Error::InvalidArgument("address"));
    }
    Ok(())
}

impl Client {
    /// A new session; it waits for the server's greeting.
    pub fn new(config: ClientConfig) -> Self {
        Client {
            config,
            input: Vec::with_capacity(512),
            output: Vec::with_capacity(512),
            events: VecDeque::new(),
            expect: VecDeque::from([Expect::Greeting]),
            parser: ReplyParser::new(),
            state: State::Busy,
            caps: Capabilities::default(),
            tls: false,
            authenticated: false,
            login: None,
            txn: None,
            stuffer: DotStuffer::new(),
            deadline: None,
            activity: true,
        }
    }

    /// Hands bytes read from the server to the session.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.state != State::Closed {
            self.activity = true;
            self.input.extend_from_slice(bytes);
        }
    }

    /// The next event, or `None` when more input or a host action is needed.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        if self.events.is_empty() {
            self.process();
        }
        self.events.pop_front()
    }

    /// Bytes to write to the server.
    pub fn transmit(&self) -> &[u8] {
        &self.output
    }

    /// Marks `n` bytes of [`transmit`](Self::transmit) as written.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.drain(..n);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.expect.is_empty() || self.state == State::Closed {
            None
        } else {
            self.deadline
        }
    }

    /// Drives the reply timer: call after every [`feed`](Self::feed) and host command, and when
    /// [`poll_timeout`](Self::poll_timeout) has passed. A server that does not answer in time
    /// ends the session ([`ClientEvent::Closed`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if self.expect.is_empty() {
            self.deadline = None;
            return;
        }
        let wait = if self.expect.front() == Some(&Expect::DataEnd) {
            self.config.data_end_timeout
        } else {
            self.config.reply_timeout
        };
        if self.activity || self.deadline.is_none() {
            self.activity = false;
            self.deadline = Some(now + wait);
        } else if self.deadline.is_some_and(|d| now >= d) {
            self.close();
        }
    }

    /// What the server offered in its last EHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether STARTTLS was done.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Sends STARTTLS (the server must offer it).
    pub fn start_tls(&mut self) -> Result<(), Error> {
        if self.state != State::Ready {
            return Err(wrong("start_tls", self.state));
        }
        if !self.caps.starttls || self.tls {
            return Err(Error::InvalidArgument("the server does not offer STARTTLS"));
        }
        self.send_cmd("STARTTLS", Expect::StartTls);
        self.state = State::Busy;
        Ok(())
    }

    /// After [`ClientEvent::TlsReady`] the host did the TLS handshake; EHLO is sent again.
    pub fn tls_established(&mut self) -> Result<(), Error> {
        if self.state != State::TlsHandshake {
            return Err(wrong("tls_established", self.state));
        }
        self.tls = true;
        self.input.clear();
        self.parser = ReplyParser::new();
        self.caps = Capabilities::default();
        let cmd = format!("EHLO {}", self.config.helo_name);
        self.send_cmd(&cmd, Expect::Ehlo);
        self.state = State::Busy;
        Ok(())
    }

    /// Authenticates with PLAIN (preferred) or LOGIN, whichever the server offers.
    pub fn authenticate(&mut self, username: &str, password: Secret) -> Result<(), Error> {
        if self.state != State::Ready {
            return Err(wrong("authenticate", self.state));
        }
        if username.is_empty() || username.contains('\0') || password.expose().contains('\0') {
            return Err(Error::InvalidArgument("user name or password"));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        if self.caps.auth.iter().any(|m| m == "PLAIN") {
            let ir = Secret::new(b64.encode(format!("\0{username}\0{}", password.expose())));
            let cmd = Secret::new(format!("AUTH PLAIN {}", ir.expose()));
            self.send_cmd(cmd.expose(), Expect::AuthResult);
        } else if self.caps.auth.iter().any(|m| m == "LOGIN") {
            self.login = Some((username.to_owned(), password));
            self.send_cmd("AUTH LOGIN", Expect::AuthLoginUser);
        } else {
            return Err(Error::InvalidArgument(
                "the server offers neither AUTH PLAIN nor LOGIN",
            ));
        }
        self.state = State::Busy;
        Ok(())
    }

    /// Starts a mail transaction: MAIL, RCPT for every recipient and DATA, all at once when the
    /// server offers PIPELINING, otherwise one at a time.
    pub fn send_mail(&mut self, envelope: &Envelope) -> Result<(), Error> {
        if self.state != State::Ready {
            return Err(wrong("send_mail", self.state));
        }
        if envelope.recipients.is_empty() {
            return Err(Error::InvalidArgument("no recipients"));
        }
        if let ReversePath::Address(a) = &envelope.from {
            check_address(a)?;
        }
        let mut rcpt_lines = VecDeque::new();
        for (to, p) in &envelope.recipients {
            check_address(to)?;
            let mut line = format!("RCPT TO:<{to}>");
            if self.caps.dsn {
                if let Some(n) = p.notify {
                    line.push_str(&format!(" NOTIFY={}", n.to_wire()));
                }
                if let Some(o) = &p.orcpt {
                    line.push_str(&format!(" ORCPT={};{}", o.addr_type, o.addr));
                }
            }
            rcpt_lines.push_back(line);
        }
        let p = &envelope.params;
        let mut mail = format!("MAIL FROM:<{}>", envelope.from.as_str());
        if let (Some(s), Some(_)) = (p.size, self.caps.size) {
            mail.push_str(&format!(" SIZE={s}"));
        }
        match p.body {
            Some(Body::EightBitMime) if self.caps.eightbitmime => mail.push_str(" BODY=8BITMIME"),
            Some(Body::SevenBit) if self.caps.esmtp => mail.push_str(" BODY=7BIT"),
            Some(Body::BinaryMime) => {
                return Err(Error::InvalidArgument("BINARYMIME is not supported"));
            }
            _ => {}
        }
        if p.smtputf8 {
            if !self.caps.smtputf8 {
                return Err(Error::InvalidArgument("the server does not offer SMTPUTF8"));
            }
            mail.push_str(" SMTPUTF8");
        } else if !envelope.from.as_str().is_ascii()
            || envelope.recipients.iter().any(|(r, _)| !r.is_ascii())
        {
            return Err(Error::InvalidArgument("non-ASCII address without SMTPUTF8"));
        }
        if self.caps.dsn {
            match p.ret {
                Some(Ret::Full) => mail.push_str(" RET=FULL"),
                Some(Ret::Headers) => mail.push_str(" RET=HDRS"),
                None => {}
            }
            if let Some(e) = &p.envid {
                mail.push_str(&format!(" ENVID={e}"));
            }
        }
        if let (Some(a), true) = (&p.auth, self.authenticated) {
            mail.push_str(&format!(" AUTH={a}"));
        }
        if mail.contains(['\r', '\n']) || rcpt_lines.iter().any(|l| l.contains(['\r', '\n'])) {
            return Err(Error::InvalidArgument("CR or LF in a parameter"));
        }
        self.send_cmd(&mail, Expect::Mail);
        let n = rcpt_lines.len();
        if self.caps.pipelining {
            for (i, line) in rcpt_lines.drain(..).enumerate() {
                self.send_cmd(&line, Expect::Rcpt(i));
            }
            self.send_cmd("DATA", Expect::Data);
        }
        self.txn = Some(Txn {
            rcpts: n,
            unsent: rcpt_lines,
            ..Txn::default()
        });
        self.stuffer = DotStuffer::new();
        self.state = State::Transaction;
        Ok(())
    }

    /// Writes message bytes after [`ClientEvent::DataReady`] (dot-stuffed, bare CR/LF sent as
    /// CRLF).
    pub fn send_data(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.state != State::Data {
            return Err(wrong("send_data", self.state));
        }
        self.stuffer.encode(bytes, &mut self.output);
        Ok(())
    }

    /// Ends the message (`CRLF.CRLF`); the answer comes as [`ClientEvent::MessageResult`].
    pub fn end_data(&mut self) -> Result<(), Error> {
        if self.state != State::Data {
            return Err(wrong("end_data", self.state));
        }
        self.stuffer.finish(&mut self.output);
        self.expect.push_back(Expect::DataEnd);
        self.activity = true;
        self.state = State::Busy;
        Ok(())
    }

    /// Sends RSET (between transactions, to clear the server's state).
    pub fn reset(&mut self) -> Result<(), Error> {
        if self.state != State::Ready {
            return Err(wrong("reset", self.state));
        }
        self.send_cmd("RSET", Expect::Ignore);
        Ok(())
    }

    /// Sends QUIT; [`ClientEvent::Closed`] follows the server's 221.
    pub fn quit(&mut self) -> Result<(), Error> {
        if !matches!(self.state, State::Ready | State::Busy) || self.expect.contains(&Expect::Quit)
        {
            return Err(wrong("quit", self.state));
        }
        self.send_cmd("QUIT", Expect::Quit);
        Ok(())
    }

    fn send_cmd(&mut self, line: &str, expect: Expect) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.extend_from_slice(b"\r\n");
        self.expect.push_back(expect);
        self.activity = true;
    }

    fn close(&mut self) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.expect.clear();
            self.input.clear();
            self.events.push_back(ClientEvent::Closed);
        }
    }

    fn process(&mut self) {
        while self.events.is_empty() && self.state != State::Closed {
            let Some(i) = memchr::memchr(b'\n', &self.input) else {
                if self.input.len() > self.config.max_line_length {
                    self.close();
                }
                return;
            };
            if i > self.config.max_line_length + 1 {
                self.close();
                return;
            }
            let line: Vec<u8> = self.input.drain(..=i).collect();
            let line = &line[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match self.parser.line(line) {
                Ok(None) => {}
                Ok(Some(reply)) => self.on_reply(reply),
                Err(_) => self.close(),
            }
        }
    }

    fn on_reply(&mut self, reply: Reply) {
        let Some(expect) = self.expect.pop_front() else {
            // Unsolicited: only 421 is meaningful.
            if reply.code() == 421 {
                self.events.push_back(ClientEvent::Refused(reply));
            }
            self.close();
            return;
        };
        if reply.code() == 421 && expect != Expect::Quit {
            self.events.push_back(ClientEvent::Refused(reply));
            self.close();
            return;
        }
        match expect {
            Expect::Greeting => {
                if reply.code() == 220 {
                    let cmd = format!("EHLO {}", self.config.helo_name);
                    self.send_cmd(&cmd, Expect::Ehlo);
                } else {
                    self.events.push_back(ClientEvent::Refused(reply));
                    self.send_cmd("QUIT", Expect::Quit);
                }
            }
            Expect::Ehlo => {
                if reply.is_positive_completion() {
                    self.caps = Capabilities::from_ehlo(&reply);
                    self.ready();
                } else if !self.tls && reply.is_permanent_failure() {
                    let cmd = format!("HELO {}", self.config.helo_name);
                    self.send_cmd(&cmd, Expect::Helo);
                } else {
                    self.events.push_back(ClientEvent::Refused(reply));
                    self.send_cmd("QUIT", Expect::Quit);
                }
            }
            Expect::Helo => {
                if reply.is_positive_completion() {
                    self.caps = Capabilities::default();
                    self.ready();
                } else {
                    self.events.push_back(ClientEvent::Refused(reply));
                    self.send_cmd("QUIT", Expect::Quit);
                }
            }
            Expect::StartTls => {
                if reply.code() == 220 {
                    self.state = State::TlsHandshake;
                    self.events.push_back(ClientEvent::TlsReady);
                } else {
                    self.events.push_back(ClientEvent::Refused(reply));
                    self.state = State::Ready;
                }
            }
            Expect::AuthLoginUser | Expect::AuthLoginPass => {
                let b64 = base64::engine::general_purpose::STANDARD;
                match (&self.login, reply.code()) {
                    (Some((user, pass)), 334) => {
                        let (resp, next) = if expect == Expect::AuthLoginUser {
                            (Secret::new(b64.encode(user)), Expect::AuthLoginPass)
                        } else {
                            (Secret::new(b64.encode(pass.expose())), Expect::AuthResult)
                        };
                        self.send_cmd(resp.expose(), next);
                    }
                    _ => self.auth_done(reply),
                }
            }
            Expect::AuthResult => self.auth_done(reply),
            Expect::Mail => {
                let ok = reply.is_positive_completion();
                if let Some(t) = self.txn.as_mut() {
                    t.mail_ok = ok;
                }
                if ok {
                    self.send_next_rcpt();
                } else if !self.caps.pipelining {
                    self.txn_failed(None);
                    self.events.push_back(ClientEvent::MailRefused(reply));
                } else if let Some(t) = self.txn.as_mut() {
                    // Reported once DATA is answered, when the transaction is over.
                    t.mail_refusal = Some(reply);
                }
            }
            Expect::Rcpt(index) => {
                if let Some(t) = self.txn.as_mut()
                    && t.mail_ok
                {
                    if reply.is_positive_completion() {
                        t.accepted += 1;
                    } else {
                        t.last_refusal = Some(reply.clone());
                    }
                    self.events
                        .push_back(ClientEvent::RcptResult { index, reply });
                }
                if !self.caps.pipelining {
                    self.send_next_rcpt();
                }
            }
            Expect::Data => {
                let (mail_ok, accepted, refusal, mail_refusal) =
                    self.txn.as_mut().map_or((false, 0, None, None), |t| {
                        (
                            t.mail_ok,
                            t.accepted,
                            t.last_refusal.take(),
                            t.mail_refusal.take(),
                        )
                    });
                if let Some(m) = mail_refusal {
                    if reply.code() == 354 {
                        self.output.extend_from_slice(b".\r\n");
                        self.expect.push_back(Expect::Ignore);
                    }
                    self.txn_failed(None);
                    self.events.push_back(ClientEvent::MailRefused(m));
                } else if reply.code() == 354 {
                    if mail_ok && accepted > 0 {
                        self.state = State::Data;
                        self.events.push_back(ClientEvent::DataReady);
                    } else {
                        // The server wants data though nothing was accepted: end it empty,
                        // its answer does not matter.
                        self.output.extend_from_slice(b".\r\n");
                        self.expect.push_back(Expect::Ignore);
                        self.txn_failed(refusal);
                    }
                } else {
                    self.txn = None;
                    self.state = State::Ready;
                    self.events
                        .push_back(ClientEvent::MessageResult(refusal.unwrap_or(reply)));
                }
            }
            Expect::DataEnd => {
                self.txn = None;
                self.state = State::Ready;
                self.events.push_back(ClientEvent::MessageResult(reply));
            }
            Expect::Ignore => {}
            Expect::Quit => {
                self.close();
            }
        }
    }

    fn ready(&mut self) {
        self.state = State::Ready;
        self.events.push_back(ClientEvent::Ready(self.caps.clone()));
    }

    fn auth_done(&mut self, reply: Reply) {
        self.login = None;
        self.state = State::Ready;
        if reply.code() == 235 {
            self.authenticated = true;
            self.events.push_back(ClientEvent::Authenticated);
        } else {
            if reply.code() == 334 {
                // A challenge we cannot answer: cancel.
                self.send_cmd("*", Expect::AuthResult);
                self.state = State::Busy;
                return;
            }
            self.events.push_back(ClientEvent::Refused(reply));
        }
    }

    /// Without pipelining: the next RCPT, or DATA when all are answered.
    fn send_next_rcpt(&mut self) {
        if self.caps.pipelining {
            return;
        }
        let Some(t) = self.txn.as_mut() else { return };
        if let Some(line) = t.unsent.pop_front() {
            let i = t.rcpts - t.unsent.len() - 1;
            self.send_cmd(&line, Expect::Rcpt(i));
        } else if t.accepted > 0 {
            self.send_cmd("DATA", Expect::Data);
        } else {
            let r = t.last_refusal.take();
            self.txn_failed(r);
        }
    }

    /// The transaction is over without a message: RSET the server, report.
    fn txn_failed(&mut self, refusal: Option<Reply>) {
        self.txn = None;
        self.state = State::Ready;
        self.send_cmd("RSET", Expect::Ignore);
        if let Some(r) = refusal {
            self.events.push_back(ClientEvent::MessageResult(r));
        }
    }
}
