//! POP3 over the account's INBOX: pop3-core plugged into the connection driver.
//!
//! Login through auth2fa (replies say what to do), the maildrop lock (`-ERR [IN-USE]` while
//! another POP3 session holds it), RETR / TOP straight from the store, and deletions only in
//! the UPDATE state after QUIT (a dropped connection deletes nothing).

use std::sync::Arc;
use std::time::Instant;

use mailstore::{MailboxId, Uid};
use pop3_core::{AuthFailure, Event, MaildropFailure, MessageInfo, Server};

use crate::app::{App, LoginRefusal, MaildropLock, Principal, Proto};
use crate::driver::{ConnInfo, Next, Session};

pub struct Pop3Session {
    app: Arc<App>,
    core: Server,
    principal: Option<Principal>,
    lock: Option<MaildropLock>,
    mailbox: Option<MailboxId>,
    uids: Vec<Uid>,
}

impl Pop3Session {
    pub fn new(app: Arc<App>, implicit_tls: bool, peer: std::net::IpAddr) -> Pop3Session {
        let config = pop3_core::Config {
            greeting: format!("{} POP3 ready", app.config.hostname),
            tls: implicit_tls,
            stls: !implicit_tls,
            allow_plaintext_auth: app.plaintext_allowed(peer),
            idle_timeout: std::time::Duration::from_secs(app.config.limits.pop3_idle_timeout_secs),
            ..pop3_core::Config::default()
        };
        let core = match Server::new(config.clone(), Instant::now()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "bad POP3 configuration; using defaults");
                Server::new(pop3_core::Config::default(), Instant::now())
                    .expect("default POP3 configuration is valid")
            }
        };
        Pop3Session {
            app,
            core,
            principal: None,
            lock: None,
            mailbox: None,
            uids: Vec::new(),
        }
    }

    async fn answer(
        &mut self,
        ev: Event,
        conn: &ConnInfo,
    ) -> Result<Option<Next>, pop3_core::Error> {
        match ev {
            Event::Authenticate {
                authzid,
                username,
                password,
                ..
            } => {
                if authzid
                    .as_deref()
                    .is_some_and(|a| !a.eq_ignore_ascii_case(&username))
                {
                    self.core.auth_reject_with_text(
                        AuthFailure::Permanent,
                        "shared mailboxes are available over IMAP only",
                    )?;
                    return Ok(None);
                }
                match self
                    .app
                    .login(Proto::Pop3, &username, password.expose(), conn)
                    .await
                {
                    Ok(p) => {
                        self.principal = Some(p);
                        self.core.auth_accept()?;
                    }
                    Err(LoginRefusal {
                        temporary, text, ..
                    }) => {
                        let why = if temporary {
                            AuthFailure::Temporary
                        } else {
                            AuthFailure::Credentials
                        };
                        self.core.auth_reject_with_text(why, &text)?;
                    }
                }
            }
            Event::Apop { .. } => {
                self.core.auth_reject(AuthFailure::Credentials)?;
            }
            Event::LockMaildrop { .. } => {
                let Some(p) = self.principal.clone() else {
                    self.core.maildrop_reject(MaildropFailure::Permanent)?;
                    return Ok(None);
                };
                let Some(lock) = self.app.lock_maildrop(&p.address) else {
                    self.core.maildrop_reject(MaildropFailure::InUse)?;
                    return Ok(None);
                };
                match self.app.pop3_listing(&p.address).await {
                    Ok((mbox, list)) => {
                        let mut infos = Vec::with_capacity(list.len());
                        self.uids.clear();
                        for (uid, size, uidl) in list {
                            let Ok(u) = pop3_core::Uid::new(uidl) else {
                                continue;
                            };
                            self.uids.push(uid);
                            infos.push(MessageInfo::new(size, u));
                        }
                        self.mailbox = Some(mbox);
                        self.lock = Some(lock);
                        self.core.maildrop_ready(infos)?;
                    }
                    Err(e) => {
                        tracing::warn!(account = %p.address, error = %e, "cannot open the maildrop");
                        self.core.maildrop_reject(MaildropFailure::Temporary)?;
                    }
                }
            }
            Event::Retrieve { index, top, .. } => {
                let (Some(mbox), Some(&uid)) = (self.mailbox, self.uids.get(index)) else {
                    self.core.retrieve_failed()?;
                    return Ok(None);
                };
                match self.app.store.read_message(mbox, uid).await {
                    Ok(bytes) => {
                        self.core.retrieve(bytes)?;
                        if top.is_none() {
                            // RETR marks the message read, as IMAP clients expect afterwards.
                            let seen = mailstore::Flags::from_flags([mailstore::Flag::Seen]);
                            let _ = self
                                .app
                                .store
                                .store_flags(mbox, &[uid], mailstore::FlagOp::Add, &seen, None)
                                .await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "RETR failed");
                        self.core.retrieve_failed()?;
                    }
                }
            }
            Event::Update { deleted } => {
                let uids: Vec<Uid> = deleted
                    .iter()
                    .filter_map(|&i| self.uids.get(i).copied())
                    .collect();
                let result = match self.mailbox {
                    Some(mbox) if !uids.is_empty() => self.app.delete_messages(mbox, &uids).await,
                    _ => Ok(()),
                };
                self.lock = None;
                match result {
                    Ok(()) => self.core.update_done()?,
                    Err(e) => {
                        tracing::warn!(error = %e, "POP3 UPDATE failed");
                        self.core.update_failed()?
                    }
                }
            }
            Event::StartTls => return Ok(Some(Next::StartTls)),
            Event::Closed { .. } => {
                self.lock = None;
                return Ok(Some(Next::Close));
            }
        }
        Ok(None)
    }
}

impl Session for Pop3Session {
    fn feed(&mut self, data: &[u8]) {
        self.core.feed(data);
    }

    async fn process(&mut self, conn: &ConnInfo) -> Next {
        let mut next = Next::Continue;
        while let Some(ev) = self.core.poll_event() {
            match self.answer(ev, conn).await {
                Ok(Some(Next::Close)) => next = Next::Close,
                Ok(Some(Next::StartTls)) => return Next::StartTls,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "POP3 state error");
                    return Next::Close;
                }
            }
        }
        if self.core.is_closed() {
            Next::Close
        } else {
            next
        }
    }

    fn transmit(&mut self) -> Vec<u8> {
        let out = self.core.transmit().to_vec();
        self.core.consume(out.len());
        out
    }

    fn wants_input(&self) -> bool {
        self.core.wants_input()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.core.handle_timeout(now);
    }

    fn tls_started(&mut self) {
        let _ = self.core.tls_established();
    }

    fn idle_timeout(&mut self) {
        self.core.close_by_host();
    }

    fn shutdown(&mut self) {
        self.core.close_by_host();
    }

    async fn closed(&mut self) {
        self.lock = None;
    }
}
