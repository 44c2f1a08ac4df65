//! [`Server`]: the POP3 session state machine (RFC 1939, 2449, 2595, 3206, 5034, 6856).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Instant;

use bytes::Bytes;

use crate::command::{self, Command, CommandError};
use crate::event::{AuthFailure, CloseReason, Event, MaildropFailure, Mechanism};
use crate::framer::{Framer, TooLong};
use crate::output::Output;
use crate::sasl;
use crate::stuffing::Encoder;
use crate::{Config, Error, MessageInfo, Secret};

/// Source bytes encoded per refill of the output queue; bounds per-connection memory while a
/// message streams.
const WINDOW: usize = 128 * 1024;

/// The RFC 1939 session state, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Before a successful login (and while the host checks one).
    Authorization,
    /// Logged in, maildrop open.
    Transaction,
    /// QUIT received in TRANSACTION; the host is committing deletions.
    Update,
    /// The session has ended.
    Closed,
}

#[derive(Debug)]
enum SaslStep {
    Plain,
    LoginUser,
    LoginPass(String),
}

#[derive(Debug)]
struct Maildrop {
    messages: Vec<MessageInfo>,
    deleted: Vec<bool>,
}

impl Maildrop {
    fn visible(&self) -> impl Iterator<Item = (usize, &MessageInfo)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.deleted[*i])
    }

    fn stat(&self) -> (usize, u64) {
        self.visible()
            .fold((0, 0), |(n, s), (_, m)| (n + 1, s + m.size))
    }

    /// The 0-based index of message number `n`, if it exists and is not deleted.
    fn lookup(&self, n: u32) -> Result<usize, &'static str> {
        let i = (n as usize).wrapping_sub(1);
        if n == 0 || i >= self.messages.len() {
            Err("No such message")
        } else if self.deleted[i] {
            Err("Message already deleted")
        } else {
            Ok(i)
        }
    }
}

#[derive(Debug)]
enum Phase {
    Authorization {
        user: Option<String>,
        sasl: Option<SaslStep>,
    },
    Transaction(Maildrop),
    Update,
    Closed,
}

/// What the session waits for from the host.
#[derive(Debug)]
enum Wait {
    None,
    Auth,
    Lock,
    Retrieve {
        index: usize,
        top: Option<u32>,
        started: bool,
    },
    Update,
    Tls,
}

impl Wait {
    fn name(&self) -> &'static str {
        match self {
            Wait::None => "not waiting for the host",
            Wait::Auth => "waiting for an authentication answer",
            Wait::Lock => "waiting for the maildrop",
            Wait::Retrieve { .. } => "waiting for message bytes",
            Wait::Update => "waiting for the update to commit",
            Wait::Tls => "waiting for the TLS handshake",
        }
    }
}

#[derive(Debug)]
struct Body {
    encoder: Encoder,
    chunks: VecDeque<Bytes>,
    ended: bool,
}

/// A POP3 server session: bytes in, [`Event`]s out, the host's answers in, bytes out.
///
/// See the crate documentation for the driving loop. The session never blocks, reads no clock
/// and performs no I/O.
#[derive(Debug)]
pub struct Server {
    config: Config,
    framer: Framer,
    out: Output,
    phase: Phase,
    wait: Wait,
    body: Option<Body>,
    events: VecDeque<Event>,
    /// The mailbox named by the pending authentication.
    mailbox: Option<String>,
    tls_active: bool,
    utf8: bool,
    bad_commands: u32,
    auth_failures: u32,
    last_activity: Instant,
    active_since_check: bool,
}

impl Server {
    /// Starts a session at time `now`; the greeting is queued at once.
    pub fn new(config: Config, now: Instant) -> Result<Self, Error> {
        config.validate()?;
        let mut s = Server {
            tls_active: config.tls,
            config,
            framer: Framer::default(),
            out: Output::default(),
            phase: Phase::Authorization {
                user: None,
                sasl: None,
            },
            wait: Wait::None,
            body: None,
            events: VecDeque::new(),
            mailbox: None,
            utf8: false,
            bad_commands: 0,
            auth_failures: 0,
            last_activity: now,
            active_since_check: false,
        };
        let mut greeting = format!("+OK {}", s.config.greeting);
        if let Some(ts) = &s.config.apop_timestamp {
            greeting.push(' ');
            greeting.push_str(ts);
        }
        greeting.push_str("\r\n");
        s.out.extend(greeting.as_bytes());
        Ok(s)
    }

    // ----- input -------------------------------------------------------------------------

    /// Feeds bytes received from the client, split anywhere.
    ///
    /// Ignored after the session closed and between STLS and [`Server::tls_established`].
    /// Closes the session with [`CloseReason::InputOverflow`] if more than four times
    /// [`Config::max_buffered_input`] octets pile up unprocessed (see [`Server::wants_input`]).
    pub fn feed(&mut self, data: &[u8]) {
        if data.is_empty() || matches!(self.phase, Phase::Closed) || matches!(self.wait, Wait::Tls)
        {
            return;
        }
        self.active_since_check = true;
        self.framer.push(data);
        if self.framer.buffered() > self.config.max_buffered_input.saturating_mul(4) {
            self.framer.clear();
            self.err(None, "Too much unprocessed input");
            self.close(CloseReason::InputOverflow);
        }
    }

    /// True when the host should read more input: the session is open and fewer than
    /// [`Config::max_buffered_input`] octets are waiting to be processed.
    pub fn wants_input(&self) -> bool {
        !matches!(self.phase, Phase::Closed)
            && !matches!(self.wait, Wait::Tls)
            && self.framer.buffered() < self.config.max_buffered_input
    }

    /// The next event for the host; call until `None`, and again after answering an event or
    /// writing output. Commands that need no host decision (STAT, LIST, UIDL, DELE, ...) are
    /// answered inside this call.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Some(ev);
            }
            if matches!(self.phase, Phase::Closed)
                || !matches!(self.wait, Wait::None)
                || self.body.is_some()
            {
                return None;
            }
            let sasl = matches!(self.phase, Phase::Authorization { sasl: Some(_), .. });
            let limit = if sasl || self.framer.starts_with_ci(b"AUTH ") {
                self.config.max_auth_line_len
            } else {
                self.config.max_line_len
            };
            let Some(frame) = self.framer.next(limit) else {
                self.framer.shrink_if_idle();
                return None;
            };
            match frame {
                Err(TooLong) => {
                    if sasl {
                        self.end_sasl();
                    }
                    self.bad(CommandError::TooLong.to_string().as_str());
                }
                Ok(range) if sasl => {
                    let line = Secret::new(self.framer.slice(range).to_vec());
                    self.sasl_line(line);
                }
                Ok(range) => match command::parse(self.framer.slice(range)) {
                    Ok(cmd) => self.command(cmd),
                    Err(e) => self.bad(e.to_string().as_str()),
                },
            }
        }
    }

    // ----- output ------------------------------------------------------------------------

    /// The next bytes to write to the client (empty when there is nothing to send). Call
    /// [`Server::consume`] with the number written. Message bodies are encoded lazily here,
    /// a window at a time, and large unchanged runs are slices of the host's buffer.
    pub fn transmit(&mut self) -> &[u8] {
        self.refill();
        self.out.front()
    }

    /// Like [`Server::transmit`], for `write_vectored`: fills `bufs` with the next slices to
    /// write, in order, and returns how many were filled (0 when there is nothing to send).
    /// Call [`Server::consume`] with the total number of octets written.
    pub fn transmit_vectored<'a>(&'a mut self, bufs: &mut [std::io::IoSlice<'a>]) -> usize {
        self.refill();
        self.out.fill_vectored(bufs)
    }

    /// Marks `n` octets of [`Server::transmit`]'s output as written.
    pub fn consume(&mut self, n: usize) {
        if n > 0 {
            self.active_since_check = true;
        }
        self.out.consume(n);
        if self.body.is_none() {
            self.out.shrink_if_idle();
        }
    }

    /// Octets queued for the client (a message body still being encoded is not counted).
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    // ----- time --------------------------------------------------------------------------

    /// When [`Server::handle_timeout`] must next be called, or `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!matches!(self.phase, Phase::Closed))
            .then(|| self.last_activity + self.config.idle_timeout)
    }

    /// Tells the session the time. Client activity since the previous call restarts the idle
    /// timer from `now`; without activity the session closes once the idle timeout has passed.
    /// Calling this after every read makes the idle timeout exact; calling it only at
    /// [`Server::poll_timeout`] deadlines lets an idle client stay up to twice as long.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        if self.active_since_check {
            self.active_since_check = false;
            self.last_activity = self.last_activity.max(now);
        } else if now >= self.last_activity + self.config.idle_timeout {
            self.body = None;
            self.err(None, "Disconnected for inactivity");
            self.close(CloseReason::IdleTimeout);
        }
    }

    // ----- queries -----------------------------------------------------------------------

    /// The RFC 1939 state.
    pub fn state(&self) -> SessionState {
        match self.phase {
            Phase::Authorization { .. } => SessionState::Authorization,
            Phase::Transaction(_) => SessionState::Transaction,
            Phase::Update => SessionState::Update,
            Phase::Closed => SessionState::Closed,
        }
    }

    /// True once the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// True when the client enabled UTF-8 mode (RFC 6856): messages may be sent with UTF-8
    /// headers unchanged.
    pub fn utf8_enabled(&self) -> bool {
        self.utf8
    }

    /// True when the connection is encrypted (implicit TLS or after STLS).
    pub fn is_tls(&self) -> bool {
        self.tls_active
    }

    // ----- answers -----------------------------------------------------------------------

    fn expect(&self, method: &'static str, ok: bool) -> Result<(), Error> {
        if ok {
            Ok(())
        } else {
            Err(Error::WrongState {
                method,
                state: if self.is_closed() {
                    "closed"
                } else {
                    self.wait.name()
                },
            })
        }
    }

    /// Answers [`Event::Authenticate`] or [`Event::Apop`]: the credentials are good. The
    /// session then raises [`Event::LockMaildrop`].
    pub fn auth_accept(&mut self) -> Result<(), Error> {
        self.expect("auth_accept", matches!(self.wait, Wait::Auth))?;
        let mailbox = self.mailbox.take().unwrap_or_default();
        self.wait = Wait::Lock;
        self.events.push_back(Event::LockMaildrop { mailbox });
        Ok(())
    }

    /// Answers [`Event::Authenticate`] or [`Event::Apop`]: refused, with the standard text for
    /// `why`.
    pub fn auth_reject(&mut self, why: AuthFailure) -> Result<(), Error> {
        self.auth_reject_with_text(why, "Authentication failed")
    }

    /// Like [`Server::auth_reject`] with the host's own text (control characters are replaced
    /// by spaces), such as "Log in with your full address, user@domain".
    pub fn auth_reject_with_text(&mut self, why: AuthFailure, text: &str) -> Result<(), Error> {
        self.expect("auth_reject", matches!(self.wait, Wait::Auth))?;
        self.wait = Wait::None;
        self.mailbox = None;
        let code = match why {
            AuthFailure::Credentials => "AUTH",
            AuthFailure::LoginDelay => "LOGIN-DELAY",
            AuthFailure::Temporary => "SYS/TEMP",
            AuthFailure::Permanent => "SYS/PERM",
        };
        self.err(Some(code), text);
        self.auth_failures += 1;
        if self.auth_failures >= self.config.max_auth_failures {
            self.err(None, "Too many authentication failures, closing connection");
            self.close(CloseReason::TooManyAuthFailures);
        }
        Ok(())
    }

    /// Answers [`Event::LockMaildrop`]: the maildrop is locked; `messages` is its listing in
    /// message-number order. The session enters TRANSACTION.
    pub fn maildrop_ready(&mut self, messages: Vec<MessageInfo>) -> Result<(), Error> {
        self.expect("maildrop_ready", matches!(self.wait, Wait::Lock))?;
        self.wait = Wait::None;
        let drop = Maildrop {
            deleted: vec![false; messages.len()],
            messages,
        };
        let (n, size) = drop.stat();
        self.phase = Phase::Transaction(drop);
        self.ok(&format!("Logged in, {n} messages ({size} octets)"));
        Ok(())
    }

    /// Answers [`Event::LockMaildrop`]: the maildrop could not be opened. The session stays in
    /// AUTHORIZATION.
    pub fn maildrop_reject(&mut self, why: MaildropFailure) -> Result<(), Error> {
        self.expect("maildrop_reject", matches!(self.wait, Wait::Lock))?;
        self.wait = Wait::None;
        match why {
            MaildropFailure::InUse => {
                self.err(Some("IN-USE"), "Maildrop is locked by another session")
            }
            MaildropFailure::Temporary => {
                self.err(Some("SYS/TEMP"), "Maildrop temporarily unavailable")
            }
            MaildropFailure::Permanent => self.err(Some("SYS/PERM"), "Maildrop unavailable"),
        }
        Ok(())
    }

    /// Answers [`Event::Retrieve`] with the whole message as stored (zero-copy: large
    /// unchanged runs are sent as slices of `message`).
    pub fn retrieve(&mut self, message: Bytes) -> Result<(), Error> {
        self.retrieve_chunk(message)?;
        self.retrieve_end()
    }

    /// Answers [`Event::Retrieve`] with the next part of the message; finish with
    /// [`Server::retrieve_end`]. Chunks may split lines anywhere.
    pub fn retrieve_chunk(&mut self, chunk: Bytes) -> Result<(), Error> {
        self.expect("retrieve_chunk", matches!(self.wait, Wait::Retrieve { .. }))?;
        self.start_body();
        if let Some(body) = &mut self.body
            && !chunk.is_empty()
        {
            body.chunks.push_back(chunk);
        }
        self.refill();
        Ok(())
    }

    /// Ends the message given by [`Server::retrieve_chunk`].
    pub fn retrieve_end(&mut self) -> Result<(), Error> {
        self.expect("retrieve_end", matches!(self.wait, Wait::Retrieve { .. }))?;
        self.start_body();
        if let Some(body) = &mut self.body {
            body.ended = true;
        }
        self.wait = Wait::None;
        self.refill();
        Ok(())
    }

    /// Answers [`Event::Retrieve`]: the message cannot be read. Before any chunk this is a
    /// `-ERR [SYS/TEMP]`; after the first chunk the response cannot be repaired, so the
    /// session closes ([`CloseReason::RetrieveAborted`]) and the client sees no terminator.
    pub fn retrieve_failed(&mut self) -> Result<(), Error> {
        self.expect(
            "retrieve_failed",
            matches!(self.wait, Wait::Retrieve { .. }),
        )?;
        if let Wait::Retrieve { started: true, .. } = self.wait {
            self.body = None;
            self.close(CloseReason::RetrieveAborted);
        } else {
            self.wait = Wait::None;
            self.err(Some("SYS/TEMP"), "Message could not be read");
        }
        Ok(())
    }

    /// Answers [`Event::Update`]: the deletions are committed and the lock released. Sends the
    /// final `+OK` and closes ([`CloseReason::Quit`]).
    pub fn update_done(&mut self) -> Result<(), Error> {
        self.expect("update_done", matches!(self.wait, Wait::Update))?;
        self.wait = Wait::None;
        self.ok("Logging out");
        self.close(CloseReason::Quit);
        Ok(())
    }

    /// Answers [`Event::Update`]: some deletions could not be committed. Sends
    /// `-ERR [SYS/TEMP]` and closes ([`CloseReason::Quit`]).
    pub fn update_failed(&mut self) -> Result<(), Error> {
        self.expect("update_failed", matches!(self.wait, Wait::Update))?;
        self.wait = Wait::None;
        self.err(Some("SYS/TEMP"), "Some deleted messages were not removed");
        self.close(CloseReason::Quit);
        Ok(())
    }

    /// Answers [`Event::StartTls`]: the handshake succeeded. The session restarts in
    /// AUTHORIZATION with everything learnt before forgotten (RFC 2595 section 4); no new
    /// greeting is sent.
    pub fn tls_established(&mut self) -> Result<(), Error> {
        self.expect("tls_established", matches!(self.wait, Wait::Tls))?;
        self.wait = Wait::None;
        self.tls_active = true;
        self.utf8 = false;
        self.framer.clear();
        self.phase = Phase::Authorization {
            user: None,
            sasl: None,
        };
        Ok(())
    }

    /// Ends the session from the host side (shutdown): `-ERR [SYS/TEMP]` is queued and
    /// [`Event::Closed`] with [`CloseReason::Host`] follows. Deletes nothing.
    pub fn close_by_host(&mut self) {
        if self.is_closed() {
            return;
        }
        self.body = None;
        self.err(Some("SYS/TEMP"), "Server closing connection");
        self.close(CloseReason::Host);
    }

    // ----- internals ---------------------------------------------------------------------

    fn ok(&mut self, text: &str) {
        self.out.extend(b"+OK");
        if !text.is_empty() {
            self.out.extend(b" ");
            self.out.extend(text.as_bytes());
        }
        self.out.extend(b"\r\n");
    }

    fn err(&mut self, code: Option<&str>, text: &str) {
        self.out.extend(b"-ERR ");
        if let Some(code) = code {
            self.out.extend(b"[");
            self.out.extend(code.as_bytes());
            self.out.extend(b"] ");
        }
        for c in text.bytes() {
            self.out
                .push_byte(if c.is_ascii_control() { b' ' } else { c });
        }
        self.out.extend(b"\r\n");
    }

    fn close(&mut self, reason: CloseReason) {
        self.phase = Phase::Closed;
        self.wait = Wait::None;
        self.mailbox = None;
        self.framer.clear();
        self.events.push_back(Event::Closed { reason });
    }

    fn bad(&mut self, text: &str) {
        self.bad_commands += 1;
        if self.bad_commands >= self.config.max_bad_commands {
            self.err(None, "Too many bad commands, closing connection");
            self.close(CloseReason::TooManyBadCommands);
        } else {
            self.err(None, text);
        }
    }

    fn auth_allowed(&self) -> bool {
        self.tls_active || self.config.allow_plaintext_auth
    }

    fn start_body(&mut self) {
        if let Wait::Retrieve {
            index,
            top,
            started: started @ false,
        } = &mut self.wait
        {
            *started = true;
            let (index, top) = (*index, *top);
            if top.is_some() {
                self.ok("Top of message follows");
            } else {
                let size = match &self.phase {
                    Phase::Transaction(d) => d.messages[index].size,
                    _ => 0,
                };
                self.ok(&format!("{size} octets"));
            }
            self.body = Some(Body {
                encoder: Encoder::new(top),
                chunks: VecDeque::new(),
                ended: false,
            });
        }
    }

    /// Encodes pending message bytes until a window's worth of output is queued.
    fn refill(&mut self) {
        let Some(body) = &mut self.body else { return };
        while self.out.len() < WINDOW {
            match body.chunks.front_mut() {
                Some(chunk) => {
                    let piece = if chunk.len() > WINDOW {
                        chunk.split_to(WINDOW)
                    } else {
                        body.chunks.pop_front().unwrap_or_default()
                    };
                    body.encoder.encode(&piece, &mut self.out);
                }
                None if body.ended => {
                    body.encoder.finish(&mut self.out);
                    self.body = None;
                    return;
                }
                None => return,
            }
        }
    }

    fn end_sasl(&mut self) {
        if let Phase::Authorization { sasl, user } = &mut self.phase {
            *sasl = None;
            *user = None;
        }
    }

    fn authenticate(
        &mut self,
        mechanism: Mechanism,
        authzid: Option<String>,
        username: String,
        password: Secret,
    ) {
        self.mailbox = Some(authzid.clone().unwrap_or_else(|| username.clone()));
        self.wait = Wait::Auth;
        self.events.push_back(Event::Authenticate {
            mechanism,
            authzid,
            username,
            password,
        });
    }

    fn sasl_line(&mut self, line: Secret) {
        let Phase::Authorization { sasl, .. } = &mut self.phase else {
            return;
        };
        let step = sasl.take();
        if line.expose() == b"*" {
            self.err(None, "Authentication cancelled");
            return;
        }
        let Some(decoded) = sasl::decode_response(line.expose()) else {
            self.bad("Invalid base64 in SASL response");
            return;
        };
        self.sasl_step(step, decoded);
    }

    fn sasl_step(&mut self, step: Option<SaslStep>, decoded: Secret) {
        match step {
            Some(SaslStep::Plain) => match sasl::parse_plain(decoded.expose()) {
                Some(p) => self.authenticate(Mechanism::Plain, p.authzid, p.authcid, p.password),
                None => self.bad("Malformed PLAIN response"),
            },
            Some(SaslStep::LoginUser) => match sasl::identity(decoded.expose()) {
                Some(user) => {
                    if let Phase::Authorization { sasl, .. } = &mut self.phase {
                        *sasl = Some(SaslStep::LoginPass(user));
                    }
                    self.out.extend(b"+ UGFzc3dvcmQ6\r\n");
                }
                None => self.bad("Malformed user name"),
            },
            Some(SaslStep::LoginPass(user)) => {
                if decoded.is_empty() {
                    self.bad("Empty password");
                } else {
                    self.authenticate(Mechanism::Login, None, user, decoded);
                }
            }
            None => {}
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Capa => self.capa(),
            Command::Noop if matches!(self.phase, Phase::Transaction(_)) => self.ok(""),
            Command::Quit => self.quit(),
            cmd => match &self.phase {
                Phase::Authorization { .. } => self.authorization(cmd),
                Phase::Transaction(_) => self.transaction(cmd),
                Phase::Update | Phase::Closed => {}
            },
        }
    }

    fn capa(&mut self) {
        let auth = matches!(self.phase, Phase::Authorization { .. });
        let mut s = String::from(
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n",
        );
        if auth && self.auth_allowed() {
            s.push_str("USER\r\nSASL PLAIN LOGIN\r\n");
        }
        if auth && self.config.stls && !self.tls_active {
            s.push_str("STLS\r\n");
        }
        if self.config.utf8 {
            s.push_str("UTF8 USER\r\n");
        }
        if let Some(imp) = &self.config.implementation {
            let _ = write!(s, "IMPLEMENTATION {imp}\r\n");
        }
        s.push_str(".\r\n");
        self.out.extend(s.as_bytes());
    }

    fn quit(&mut self) {
        match std::mem::replace(&mut self.phase, Phase::Update) {
            Phase::Transaction(drop) => {
                let deleted = drop
                    .deleted
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &d)| d.then_some(i))
                    .collect();
                self.wait = Wait::Update;
                self.events.push_back(Event::Update { deleted });
            }
            _ => {
                self.ok("Logging out");
                self.close(CloseReason::Quit);
            }
        }
    }

    fn plaintext_refused(&mut self) -> bool {
        if self.auth_allowed() {
            return false;
        }
        self.bad_commands += 1;
        if self.bad_commands >= self.config.max_bad_commands {
            self.err(None, "Too many bad commands, closing connection");
            self.close(CloseReason::TooManyBadCommands);
        } else {
            self.err(
                Some("AUTH"),
                "Plaintext authentication disallowed on non-secure connection",
            );
        }
        true
    }

    fn authorization(&mut self, cmd: Command) {
        match cmd {
            Command::User(name) => {
                if self.plaintext_refused() {
                    return;
                }
                if let Phase::Authorization { user, .. } = &mut self.phase {
                    *user = Some(name);
                }
                self.ok("Send PASS");
            }
            Command::Pass(password) => {
                if self.plaintext_refused() {
                    return;
                }
                let name = match &mut self.phase {
                    Phase::Authorization { user, .. } => user.take(),
                    _ => None,
                };
                match name {
                    Some(name) => self.authenticate(Mechanism::UserPass, None, name, password),
                    None => self.bad("Send USER first"),
                }
            }
            Command::Apop { name, digest } => match self.config.apop_timestamp.clone() {
                Some(timestamp) => {
                    self.mailbox = Some(name.clone());
                    self.wait = Wait::Auth;
                    self.events.push_back(Event::Apop {
                        username: name,
                        timestamp,
                        digest,
                    });
                }
                None => self.bad("APOP not available"),
            },
            Command::Auth { mechanism, initial } => self.auth(mechanism, initial),
            Command::Stls => {
                if !self.config.stls || self.tls_active {
                    self.bad("STLS not available");
                    return;
                }
                self.ok("Begin TLS negotiation");
                // Anything pipelined after STLS arrived in plaintext: drop it.
                self.framer.clear();
                self.wait = Wait::Tls;
                self.events.push_back(Event::StartTls);
            }
            Command::Utf8 if self.config.utf8 => {
                self.utf8 = true;
                self.ok("UTF8 enabled");
            }
            Command::Utf8 => self.bad("Unknown command"),
            _ => self.bad("Command not valid before login"),
        }
    }

    fn auth(&mut self, mechanism: Option<String>, initial: Option<Secret>) {
        let Some(mech) = mechanism else {
            if self.auth_allowed() {
                self.out.extend(b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
            } else {
                self.out.extend(b"+OK\r\n.\r\n");
            }
            return;
        };
        if self.plaintext_refused() {
            return;
        }
        if let Phase::Authorization { user, .. } = &mut self.phase {
            *user = None;
        }
        let step = match mech.as_str() {
            "PLAIN" => SaslStep::Plain,
            "LOGIN" => SaslStep::LoginUser,
            _ => {
                self.err(None, "Unsupported authentication mechanism");
                return;
            }
        };
        match initial {
            Some(ir) => match sasl::decode_response(ir.expose()) {
                Some(decoded) => self.sasl_step(Some(step), decoded),
                None => self.bad("Invalid base64 in initial response"),
            },
            None => {
                self.out.extend(match step {
                    SaslStep::LoginUser => &b"+ VXNlcm5hbWU6\r\n"[..],
                    _ => b"+ \r\n",
                });
                if let Phase::Authorization { sasl, .. } = &mut self.phase {
                    *sasl = Some(step);
                }
            }
        }
    }

    fn transaction(&mut self, cmd: Command) {
        let Phase::Transaction(drop) = &mut self.phase else {
            return;
        };
        let mut s = String::new();
        match cmd {
            Command::Stat => {
                let (n, size) = drop.stat();
                let _ = write!(s, "+OK {n} {size}\r\n");
            }
            Command::List(None) => {
                let (n, size) = drop.stat();
                let _ = write!(s, "+OK {n} messages ({size} octets)\r\n");
                for (i, m) in drop.visible() {
                    let _ = write!(s, "{} {}\r\n", i + 1, m.size);
                }
                s.push_str(".\r\n");
            }
            Command::List(Some(n)) => match drop.lookup(n) {
                Ok(i) => {
                    let _ = write!(s, "+OK {n} {}\r\n", drop.messages[i].size);
                }
                Err(e) => return self.err(None, e),
            },
            Command::Uidl(None) => {
                s.push_str("+OK\r\n");
                for (i, m) in drop.visible() {
                    let _ = write!(s, "{} {}\r\n", i + 1, m.uid);
                }
                s.push_str(".\r\n");
            }
            Command::Uidl(Some(n)) => match drop.lookup(n) {
                Ok(i) => {
                    let _ = write!(s, "+OK {n} {}\r\n", drop.messages[i].uid);
                }
                Err(e) => return self.err(None, e),
            },
            Command::Dele(n) => match drop.lookup(n) {
                Ok(i) => {
                    drop.deleted[i] = true;
                    let _ = write!(s, "+OK Message {n} deleted\r\n");
                }
                Err(e) => return self.err(None, e),
            },
            Command::Rset => {
                drop.deleted.iter_mut().for_each(|d| *d = false);
                let (n, size) = drop.stat();
                let _ = write!(s, "+OK Maildrop has {n} messages ({size} octets)\r\n");
            }
            Command::Retr(n) | Command::Top(n, _) => {
                let top = match cmd {
                    Command::Top(_, lines) => Some(lines),
                    _ => None,
                };
                match drop.lookup(n) {
                    Ok(index) => {
                        let uid = drop.messages[index].uid.clone();
                        self.wait = Wait::Retrieve {
                            index,
                            top,
                            started: false,
                        };
                        self.events.push_back(Event::Retrieve { index, uid, top });
                    }
                    Err(e) => self.err(None, e),
                }
                return;
            }
            _ => return self.bad("Command not valid in this state"),
        }
        self.out.extend(s.as_bytes());
    }
}
