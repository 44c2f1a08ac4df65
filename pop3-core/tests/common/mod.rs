//! In-memory driver: a host with a fixed user table and store, fed at any chunk size.
#![allow(dead_code)]

use std::time::Instant;

use bytes::Bytes;
use pop3_core::{
    AuthFailure, CloseReason, Config, Event, MaildropFailure, MessageInfo, Server, Uid,
};

pub const APOP_TS: &str = "<1896.697170952@dbc.mtview.ca.us>";
pub const APOP_DIGEST: &str = "c4c9334bac560ecc979e58001b3e22fb"; // RFC 1939, secret "tanstaaf"

#[derive(Debug, Clone)]
pub struct Host {
    pub messages: Vec<Bytes>,
    /// Listed sizes (defaults to the byte length).
    pub sizes: Vec<u64>,
    pub lock_held: bool,
    /// Serve messages in chunks of this size (0 = whole).
    pub body_chunk: usize,
    /// Fail the retrieval of this index after its first chunk (Some(true)) or before (Some(false)).
    pub fail_retrieve: Option<(usize, bool)>,
    pub committed: Option<Vec<usize>>,
    pub closed: Option<CloseReason>,
    pub start_tls: u32,
    pub auth_log: Vec<(String, Option<String>)>,
    pub mailboxes: Vec<String>,
}

impl Host {
    pub fn new(messages: Vec<&[u8]>) -> Self {
        let messages: Vec<Bytes> = messages.into_iter().map(Bytes::copy_from_slice).collect();
        Host {
            sizes: messages.iter().map(|m| m.len() as u64).collect(),
            messages,
            lock_held: false,
            body_chunk: 0,
            fail_retrieve: None,
            committed: None,
            closed: None,
            start_tls: 0,
            auth_log: Vec::new(),
            mailboxes: Vec::new(),
        }
    }

    pub fn handle(&mut self, s: &mut Server, ev: Event) {
        match ev {
            Event::Authenticate {
                username,
                password,
                authzid,
                ..
            } => {
                self.auth_log.push((username.clone(), authzid.clone()));
                let good = (username == "alice@example.edu" && password.expose() == b"s3cret pw")
                    || (username == "mrose" && password.expose() == b"tanstaaf");
                if !username.contains('@') && username != "mrose" {
                    s.auth_reject_with_text(
                        AuthFailure::Credentials,
                        "Log in with your full address\r\n(user@domain)",
                    )
                    .unwrap();
                } else if good && authzid.as_deref().is_none_or(|z| z == "shared@example.edu") {
                    s.auth_accept().unwrap();
                } else {
                    s.auth_reject(AuthFailure::Credentials).unwrap();
                }
            }
            Event::Apop {
                username,
                timestamp,
                digest,
            } => {
                if username == "mrose" && timestamp == APOP_TS && digest == APOP_DIGEST {
                    s.auth_accept().unwrap();
                } else {
                    s.auth_reject(AuthFailure::Credentials).unwrap();
                }
            }
            Event::LockMaildrop { mailbox } => {
                self.mailboxes.push(mailbox);
                if self.lock_held {
                    s.maildrop_reject(MaildropFailure::InUse).unwrap();
                } else {
                    let list = self
                        .sizes
                        .iter()
                        .enumerate()
                        .map(|(i, &size)| {
                            MessageInfo::new(size, Uid::new(format!("uid-{i:04}")).unwrap())
                        })
                        .collect();
                    s.maildrop_ready(list).unwrap();
                }
            }
            Event::Retrieve { index, .. } => {
                let msg = self.messages[index].clone();
                match self.fail_retrieve {
                    Some((i, false)) if i == index => s.retrieve_failed().unwrap(),
                    Some((i, true)) if i == index => {
                        s.retrieve_chunk(msg.slice(..msg.len() / 2)).unwrap();
                        s.retrieve_failed().unwrap();
                    }
                    _ if self.body_chunk == 0 => s.retrieve(msg).unwrap(),
                    _ => {
                        let mut i = 0;
                        while i < msg.len() {
                            let j = (i + self.body_chunk).min(msg.len());
                            s.retrieve_chunk(msg.slice(i..j)).unwrap();
                            i = j;
                        }
                        s.retrieve_end().unwrap();
                    }
                }
            }
            Event::Update { deleted } => {
                self.committed = Some(deleted);
                s.update_done().unwrap();
            }
            Event::StartTls => {
                self.start_tls += 1;
            }
            Event::Closed { reason } => {
                assert!(self.closed.is_none(), "Closed raised twice");
                self.closed = Some(reason);
            }
        }
    }

    /// Polls events and drains output (writing at most `write_max` octets per write).
    pub fn pump(&mut self, s: &mut Server, wire: &mut Vec<u8>, write_max: usize) {
        loop {
            while let Some(ev) = s.poll_event() {
                let tls = matches!(ev, Event::StartTls);
                self.handle(s, ev);
                if tls {
                    // Flush the +OK in plaintext, "handshake", restart.
                    self.drain(s, wire, write_max);
                    wire.extend_from_slice(b"<TLS>");
                    s.tls_established().unwrap();
                }
            }
            if !self.drain_once(s, wire, write_max) {
                break;
            }
        }
    }

    fn drain_once(&mut self, s: &mut Server, wire: &mut Vec<u8>, write_max: usize) -> bool {
        let out = s.transmit();
        if out.is_empty() {
            return false;
        }
        let n = out.len().min(write_max);
        wire.extend_from_slice(&out[..n]);
        s.consume(n);
        true
    }

    fn drain(&mut self, s: &mut Server, wire: &mut Vec<u8>, write_max: usize) {
        while self.drain_once(s, wire, write_max) {}
    }
}

pub fn config() -> Config {
    Config {
        allow_plaintext_auth: true,
        ..Config::default()
    }
}

/// Runs a whole session: `input` fed in chunks of `chunk` octets. Returns the wire output.
pub fn run_with(
    config: Config,
    host: &mut Host,
    input: &[u8],
    chunk: usize,
    write_max: usize,
) -> Vec<u8> {
    run_phases(config, host, &[input], chunk, write_max)
}

/// Like [`run_with`], but each phase starts a fresh read (the client waited for answers).
pub fn run_phases(
    config: Config,
    host: &mut Host,
    phases: &[&[u8]],
    chunk: usize,
    write_max: usize,
) -> Vec<u8> {
    let now = Instant::now();
    let mut s = Server::new(config, now).unwrap();
    let mut wire = Vec::new();
    host.pump(&mut s, &mut wire, write_max);
    for input in phases {
        for c in input.chunks(chunk.max(1)) {
            s.feed(c);
            s.handle_timeout(now);
            host.pump(&mut s, &mut wire, write_max);
        }
    }
    wire
}

/// Runs the session at every chunk size 1..=512 (and several write sizes), asserts the
/// output and the host's view are the same each time, and returns them.
pub fn run_all_chunkings(config: Config, host: &Host, input: &[u8]) -> (Vec<u8>, Host) {
    run_phases_all_chunkings(config, host, &[input])
}

/// [`run_all_chunkings`] for a session in several phases.
pub fn run_phases_all_chunkings(config: Config, host: &Host, phases: &[&[u8]]) -> (Vec<u8>, Host) {
    let mut first_host = host.clone();
    let first = run_phases(
        config.clone(),
        &mut first_host,
        phases,
        usize::MAX,
        usize::MAX,
    );
    for chunk in 1..=512 {
        let write_max = [1, 7, 64, usize::MAX][chunk % 4];
        let mut h = host.clone();
        h.body_chunk = host.body_chunk.max(chunk % 3 * chunk);
        let out = run_phases(config.clone(), &mut h, phases, chunk, write_max);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&first),
            "output differs at chunk size {chunk}"
        );
        assert_eq!(h.committed, first_host.committed, "chunk {chunk}");
        assert_eq!(h.closed, first_host.closed, "chunk {chunk}");
    }
    (first, first_host)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
