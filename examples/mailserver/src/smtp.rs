//! SMTP: inbound delivery for local recipients (port 25 role: no AUTH, never an open relay)
//! and submission (AUTH required; From rules with shared mailboxes; restricted accounts only
//! inside their own domain). smtp-core plugged into the connection driver.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mailstore::{AccountId, MailDirection, MailLogRecord, MailboxName, ShareLevel};
use smtp_core::{AuthPolicy, Event, Reply, Server};

use crate::app::{App, LoginRefusal, Principal, Proto, unix_now};
use crate::driver::{ConnInfo, Next, Session};
use crate::mailutil::{domain_of, normalise};

/// How the authenticated user may use a From address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendAs {
    /// Their own address.
    Own,
    /// A shared mailbox with the on-behalf right: From stays the owner, Sender: is added.
    OnBehalf,
    /// A shared mailbox with the delegate right: sent as the owner.
    Delegate,
}

#[derive(Debug, Default)]
struct Txn {
    from: String,
    local: Vec<AccountId>,
    remote: Vec<String>,
    data: Vec<u8>,
}

pub struct SmtpSession {
    app: Arc<App>,
    core: Server,
    submission: bool,
    principal: Option<Principal>,
    txn: Option<Txn>,
    declared_size: Option<u64>,
}

fn reply(code: u16, text: impl Into<String>) -> Reply {
    Reply::new(code, text.into())
}

impl SmtpSession {
    pub fn new(
        app: Arc<App>,
        submission: bool,
        implicit_tls: bool,
        peer: std::net::IpAddr,
    ) -> SmtpSession {
        let mut config = smtp_core::Config::new(app.config.hostname.clone());
        config.max_message_size = app.config.limits.max_message_bytes;
        config.idle_timeout =
            std::time::Duration::from_secs(app.config.limits.smtp_idle_timeout_secs);
        config.implicit_tls = implicit_tls;
        config.starttls = !implicit_tls;
        if submission {
            config.auth = AuthPolicy::Required;
            config.plaintext_auth = app.plaintext_allowed(peer);
        }
        let mut core = Server::new(config);
        core.handle_timeout(Instant::now());
        SmtpSession {
            app,
            core,
            submission,
            principal: None,
            txn: None,
            declared_size: None,
        }
    }

    async fn answer(
        &mut self,
        ev: Event,
        conn: &ConnInfo,
    ) -> Result<Option<Next>, smtp_core::Error> {
        match ev {
            Event::Helo { .. } => self.core.accept()?,
            Event::StartTls => {
                self.core.accept()?;
                return Ok(Some(Next::StartTls));
            }
            Event::Auth {
                authzid,
                username,
                password,
                ..
            } => {
                if authzid
                    .as_deref()
                    .is_some_and(|a| !a.is_empty() && !a.eq_ignore_ascii_case(&username))
                {
                    self.core.reject(reply(
                        535,
                        "5.7.8 log in as yourself; send from a shared mailbox by putting its address in From",
                    ))?;
                    return Ok(None);
                }
                match self
                    .app
                    .login(Proto::Smtp, &username, password.expose().as_bytes(), conn)
                    .await
                {
                    Ok(p) => {
                        self.principal = Some(p);
                        self.core.accept()?;
                    }
                    Err(LoginRefusal {
                        temporary: true,
                        text,
                        ..
                    }) => self.core.reject(reply(454, format!("4.7.0 {text}")))?,
                    Err(LoginRefusal { text, .. }) => {
                        self.core.reject(reply(535, format!("5.7.8 {text}")))?
                    }
                }
            }
            Event::MailFrom { from, params } => {
                let from = normalise(from.as_str());
                if self.submission {
                    let Some(p) = self.principal.clone() else {
                        self.core
                            .reject(reply(530, "5.7.0 authentication required"))?;
                        return Ok(None);
                    };
                    if from.is_empty() {
                        self.core.reject(reply(
                            550,
                            "5.7.1 the null sender cannot be used for submission",
                        ))?;
                        return Ok(None);
                    }
                    if let Err(why) = self.app.may_send_as(&p, &from).await {
                        self.core.reject(reply(550, format!("5.7.1 {why}")))?;
                        return Ok(None);
                    }
                }
                self.declared_size = params.size;
                self.txn = Some(Txn {
                    from,
                    ..Txn::default()
                });
                self.core.accept()?;
            }
            Event::RcptTo { to, .. } => {
                let r = self.check_rcpt(&to).await;
                match r {
                    Ok(()) => self.core.accept()?,
                    Err(rep) => self.core.reject(rep)?,
                }
            }
            Event::DataStart { .. } => {
                if let Some(t) = &mut self.txn {
                    t.data.clear();
                }
                self.core.accept()?
            }
            Event::Data(chunk) => {
                if let Some(t) = &mut self.txn {
                    t.data.extend_from_slice(&chunk);
                }
            }
            Event::DataEnd { .. } => {
                let r = self.finish(conn).await;
                match r {
                    Ok(text) => self.core.accept_with(reply(250, text))?,
                    Err(rep) => self.core.reject(rep)?,
                }
            }
            Event::DataAborted { .. } | Event::Reset => {
                self.txn = None;
            }
            _ => {}
        }
        Ok(None)
    }

    async fn check_rcpt(&mut self, to: &str) -> Result<(), Reply> {
        let rcpt = normalise(to);
        let rcpt = if rcpt == "postmaster" {
            format!("postmaster@{}", self.app.config.domain)
        } else {
            rcpt
        };
        let domain = domain_of(&rcpt);
        let from = self
            .txn
            .as_ref()
            .map(|t| t.from.clone())
            .unwrap_or_default();
        if self.app.is_local_domain(&domain) {
            let Some(acc) = self.app.account(&rcpt) else {
                return Err(reply(550, format!("5.1.1 <{rcpt}>: no such user here")));
            };
            let Ok(id) = AccountId::new(&rcpt) else {
                return Err(reply(550, format!("5.1.1 <{rcpt}>: no such user here")));
            };
            if acc.kind() == auth2fa::AccountKind::Delivery && domain_of(&from) != domain {
                return Err(reply(
                    550,
                    format!(
                        "5.7.1 <{rcpt}> is a document delivery mailbox: it accepts mail only from {domain}"
                    ),
                ));
            }
            if let Ok(q) = self.app.store.quota(&id).await
                && let Some(max) = q.quota.max_bytes
            {
                let incoming = self.declared_size.unwrap_or(0);
                if q.used_bytes >= max {
                    return Err(reply(
                        452,
                        format!("4.2.2 <{rcpt}>: mailbox full, try again later"),
                    ));
                }
                if incoming > 0 && q.used_bytes + incoming > max {
                    return Err(reply(
                        552,
                        format!("5.2.2 <{rcpt}>: this message does not fit in the mailbox quota"),
                    ));
                }
            }
            if self.submission
                && let Some(p) = &self.principal
                && let Some(why) = restricted_reason(p, &rcpt)
            {
                return Err(reply(550, format!("5.7.1 <{rcpt}>: {why}")));
            }
            if let Some(t) = &mut self.txn
                && !t.local.contains(&id)
            {
                t.local.push(id);
            }
            return Ok(());
        }
        if !self.submission {
            return Err(reply(
                550,
                format!(
                    "5.7.1 <{rcpt}>: relay access denied (this server accepts mail only for its own domains; authenticate on the submission port to send)"
                ),
            ));
        }
        let Some(p) = &self.principal else {
            return Err(reply(530, "5.7.0 authentication required"));
        };
        if let Some(why) = restricted_reason(p, &rcpt) {
            return Err(reply(550, format!("5.7.1 <{rcpt}>: {why}")));
        }
        if self.app.config.smarthost.is_none() {
            return Err(reply(
                550,
                format!(
                    "5.7.1 <{rcpt}>: this server has no smarthost configured, so it cannot deliver to other domains; ask the administrator"
                ),
            ));
        }
        if let Some(t) = &mut self.txn
            && !t.remote.contains(&rcpt)
        {
            t.remote.push(rcpt);
        }
        Ok(())
    }

    /// The message is complete: check From (submission), add trace headers, store every local
    /// copy and queue remote recipients durably, log, and only then say 250.
    async fn finish(&mut self, conn: &ConnInfo) -> Result<String, Reply> {
        let Some(txn) = self.txn.take() else {
            return Err(reply(503, "5.5.1 no transaction"));
        };
        let mut raw = txn.data;
        if self.submission {
            let Some(p) = self.principal.clone() else {
                return Err(reply(530, "5.7.0 authentication required"));
            };
            let froms = crate::mailutil::header_from(&raw);
            if froms.is_empty() {
                return Err(reply(550, "5.6.0 the message has no From: header"));
            }
            let mut on_behalf = false;
            for f in &froms {
                match self.app.may_send_as(&p, f).await {
                    Ok(SendAs::OnBehalf) => on_behalf = true,
                    Ok(_) => {}
                    Err(why) => return Err(reply(550, format!("5.7.1 {why}"))),
                }
            }
            if on_behalf && !crate::mailutil::has_header(&raw, "Sender") {
                raw = crate::mailutil::prepend_header(&raw, "Sender", &format!("<{}>", p.email()));
            }
        }
        let id = queue_id();
        let date = rfc2822_now();
        if self.submission {
            // RFC 6409 section 8: the submission server completes Date and Message-ID, so sent
            // mail can be tracked (D1: read receipts are keyed by Message-ID).
            if !crate::mailutil::has_header(&raw, "Message-ID") {
                let mid = format!("<{id}.{}@{}>", unix_now(), self.app.config.hostname);
                raw = crate::mailutil::prepend_header(&raw, "Message-ID", &mid);
            }
            if !crate::mailutil::has_header(&raw, "Date") {
                raw = crate::mailutil::prepend_header(&raw, "Date", &date);
            }
        }
        let tls = conn.tls.then_some("TLS");
        let single = if txn.local.len() + txn.remote.len() == 1 {
            txn.local
                .first()
                .map(|a| a.as_str().to_string())
                .or_else(|| txn.remote.first().cloned())
        } else {
            None
        };
        let received = smtp_core::received_header(&smtp_core::ReceivedInfo {
            helo: self.core.helo_name().unwrap_or("unknown"),
            client_ip: conn.ip(),
            client_name: None,
            by: &self.app.config.hostname,
            protocol: self.core.protocol(),
            tls,
            id: Some(&id),
            recipient: single.as_deref(),
            date: &date,
        });
        let mut full = Vec::with_capacity(received.len() + raw.len());
        full.extend_from_slice(received.as_bytes());
        full.extend_from_slice(&raw);
        let full = Bytes::from(full);
        let (subject, message_id) = crate::mailutil::subject_and_id(&full);
        let mut delivered = 0usize;
        let mut failed: Vec<(String, String)> = Vec::new();
        let mut all_quota = true;
        for acc in &txn.local {
            match self.app.deliver_local(acc, full.clone()).await {
                Ok(_) => {
                    delivered += 1;
                    self.app
                        .log_mail(MailLogRecord {
                            time: unix_now(),
                            account: acc.clone(),
                            direction: MailDirection::Received,
                            from: txn.from.clone(),
                            to: vec![acc.as_str().to_string()],
                            subject: subject.clone(),
                            message_id: message_id.clone(),
                            status: format!("delivered id={id}"),
                        })
                        .await;
                }
                Err(e) => {
                    let quota = matches!(e, mailstore::StoreError::QuotaExceeded { .. });
                    all_quota &= quota;
                    tracing::warn!(account = acc.as_str(), error = %e, "local delivery failed");
                    failed.push((acc.as_str().to_string(), e.to_string()));
                }
            }
        }
        if !txn.remote.is_empty() {
            if let Err(e) = crate::queue::enqueue(&self.app, &txn.from, &txn.remote, &full).await {
                tracing::error!(error = %e, "cannot queue outbound mail");
                return Err(reply(
                    451,
                    "4.3.0 cannot queue the message now, try again later",
                ));
            }
            delivered += txn.remote.len();
        }
        if delivered == 0 {
            return Err(if all_quota && !failed.is_empty() {
                reply(
                    552,
                    "5.2.2 mailbox full: the message does not fit in the recipient's quota",
                )
            } else {
                reply(
                    451,
                    "4.3.0 the message could not be stored, try again later",
                )
            });
        }
        if !failed.is_empty() && !txn.from.is_empty() {
            // Some recipients took it, others not: the sender gets a bounce for those.
            let b = crate::mailutil::bounce(
                &self.app.config.hostname,
                &txn.from,
                &failed,
                &full,
                &date,
                &id,
            );
            if let Ok(sender) = AccountId::new(&txn.from)
                && self.app.is_local_domain(&domain_of(&txn.from))
            {
                let _ = self.app.deliver_local(&sender, Bytes::from(b)).await;
            }
        }
        if self.submission
            && let Some(p) = &self.principal
        {
            let mut to: Vec<String> = txn.local.iter().map(|a| a.as_str().to_string()).collect();
            to.extend(txn.remote.iter().cloned());
            self.app
                .log_mail(MailLogRecord {
                    time: unix_now(),
                    account: p.address.clone(),
                    direction: MailDirection::Sent,
                    from: txn.from.clone(),
                    to,
                    subject: subject.clone(),
                    message_id: message_id.clone(),
                    status: if txn.remote.is_empty() {
                        format!("delivered id={id}")
                    } else {
                        format!("queued id={id}")
                    },
                })
                .await;
        }
        tracing::info!(id = %id, from = %txn.from, local = txn.local.len(), remote = txn.remote.len(), "message accepted");
        Ok(format!("2.0.0 Ok: stored as {id}"))
    }
}

/// Why a restricted (A2) or delivery (D3) account may not send to `rcpt`, if it may not.
fn restricted_reason(p: &Principal, rcpt: &str) -> Option<String> {
    let Ok(addr) = auth2fa::Address::parse(rcpt) else {
        return Some("invalid recipient address".into());
    };
    if p.auth.may_send_to(&addr) {
        return None;
    }
    let own = p.auth.address.domain();
    Some(match (p.auth.kind, p.auth.state) {
        (auth2fa::AccountKind::Delivery, _) => {
            format!("document delivery mailboxes may send only within {own}")
        }
        _ => format!(
            "your account is restricted: it may send only to addresses in {own} (send a request from this account to lift the restriction)"
        ),
    })
}

impl App {
    /// Whether `p` may use `from` as sender, and how (S1).
    pub async fn may_send_as(&self, p: &Principal, from: &str) -> Result<SendAs, String> {
        let from = normalise(from);
        if from == p.email() {
            return Ok(SendAs::Own);
        }
        let refuse = || {
            format!(
                "you ({}) may not send as <{from}>: use your own address or a mailbox shared with you with the on-behalf or delegate right",
                p.email()
            )
        };
        let Ok(owner) = AccountId::new(&from) else {
            return Err(refuse());
        };
        let Ok(mbox) = self.store.mailbox_id(&owner, &MailboxName::inbox()).await else {
            return Err(refuse());
        };
        let rights = self
            .store
            .my_rights(mbox, &p.address)
            .await
            .map_err(|_| refuse())?;
        match ShareLevel::from_rights(rights) {
            Some(ShareLevel::Delegate) => Ok(SendAs::Delegate),
            Some(ShareLevel::SendOnBehalf) => Ok(SendAs::OnBehalf),
            Some(ShareLevel::ReadOnly) => Err(format!(
                "you have read-only access to <{from}>: you may read it but not send as it"
            )),
            None => Err(refuse()),
        }
    }

    /// Writes a mail log record; a failure is logged, never fatal.
    pub async fn log_mail(&self, r: MailLogRecord) {
        if let Err(e) = self.store.log_mail(r).await {
            tracing::error!(error = %e, "cannot write the mail log");
        }
    }
}

fn queue_id() -> String {
    let mut b = [0u8; 6];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    let mut s = String::with_capacity(12);
    for x in b {
        s.push_str(&format!("{x:02X}"));
    }
    s
}

pub fn rfc2822_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|_| "Thu, 1 Jan 1970 00:00:00 +0000".into())
}

impl Session for SmtpSession {
    fn feed(&mut self, data: &[u8]) {
        self.core.feed(data);
    }

    fn feed_owned(&mut self, data: bytes::BytesMut) {
        // DATA chunks become slices of this buffer: no copy into the core.
        self.core.feed_bytes(data);
    }

    async fn process(&mut self, conn: &ConnInfo) -> Next {
        while let Some(ev) = self.core.poll_event() {
            match self.answer(ev, conn).await {
                Ok(Some(n)) => return n,
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "SMTP state error");
                    return Next::Close;
                }
            }
        }
        if self.core.is_closed() {
            Next::Close
        } else {
            Next::Continue
        }
    }

    fn transmit(&mut self) -> Vec<u8> {
        let out = self.core.transmit().to_vec();
        self.core.consume(out.len());
        out
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.core.handle_timeout(now);
    }

    fn tls_started(&mut self) {
        let _ = self.core.tls_started();
        self.principal = None;
        self.txn = None;
    }

    fn idle_timeout(&mut self) {
        let _ = self
            .core
            .shutdown(&reply(421, "4.4.2 idle too long, closing connection"));
    }

    fn shutdown(&mut self) {
        let _ = self
            .core
            .shutdown(&reply(421, "4.3.2 server shutting down, try again later"));
    }
}
