//! The durable outbound queue: mail for other domains is written to DATA/queue/ (message and
//! envelope, fsynced) before the submission's 250, then relayed to the configured smarthost
//! with smtp-core's client, retried with exponential backoff, and bounced (a DSN to the sender)
//! after a permanent refusal or the last failed attempt.
//!
//! Without a smarthost nothing is queued: submission refuses other domains at RCPT with
//! 550 5.7.1 and a reason (see README, "Mail to other domains").

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use smtp_core::{Client, ClientConfig, ClientEvent, Envelope, MailParams, RcptParams, ReversePath};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::app::{App, unix_now, write_atomic};
use crate::mailutil::domain_of;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    id: String,
    from: String,
    rcpts: Vec<String>,
    attempts: u32,
    next_attempt: i64,
    last_error: String,
}

fn dir(app: &App) -> PathBuf {
    app.data.join("queue")
}

/// Queues a message for `rcpts` durably; returns its queue id.
pub async fn enqueue(
    app: &Arc<App>,
    from: &str,
    rcpts: &[String],
    raw: &Bytes,
) -> std::io::Result<String> {
    let d = dir(app);
    let id = format!("{}-{:016x}", unix_now(), rand_u64());
    let entry = Entry {
        id: id.clone(),
        from: from.to_string(),
        rcpts: rcpts.to_vec(),
        attempts: 0,
        next_attempt: 0,
        last_error: String::new(),
    };
    let raw = raw.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&d)?;
        write_atomic(&d.join(format!("{}.eml", entry.id)), &raw)?;
        write_atomic(
            &d.join(format!("{}.json", entry.id)),
            &serde_json::to_vec(&entry).map_err(std::io::Error::other)?,
        )
    })
    .await
    .map_err(std::io::Error::other)??;
    app.queue_wake.notify_one();
    Ok(id)
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u64::from_le_bytes(b)
}

fn load_entries(d: &Path) -> Vec<Entry> {
    let Ok(rd) = std::fs::read_dir(d) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json")
            && let Ok(b) = std::fs::read(&p)
            && let Ok(entry) = serde_json::from_slice::<Entry>(&b)
        {
            v.push(entry);
        }
    }
    v.sort_by_key(|e| e.next_attempt);
    v
}

/// Runs the queue until the task is aborted.
pub async fn worker(app: Arc<App>) {
    let Some(smarthost) = app.config.smarthost.clone() else {
        return;
    };
    let d = dir(&app);
    loop {
        let now = unix_now();
        let mut next_wake = now + 3600;
        for mut entry in load_entries(&d) {
            if entry.next_attempt > now {
                next_wake = next_wake.min(entry.next_attempt);
                continue;
            }
            let raw = match std::fs::read(d.join(format!("{}.eml", entry.id))) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(id = %entry.id, error = %e, "queued message unreadable; dropping entry");
                    let _ = std::fs::remove_file(d.join(format!("{}.json", entry.id)));
                    continue;
                }
            };
            entry.attempts += 1;
            let outcome = relay(&app, &smarthost, &entry, &raw).await;
            let mut failed_now: Vec<(String, String)> = Vec::new();
            let mut remaining = Vec::new();
            match outcome {
                Ok(results) => {
                    for (rcpt, res) in entry.rcpts.iter().zip(results) {
                        match res {
                            RcptOutcome::Delivered => {
                                log_relay(&app, &entry, rcpt, "relayed").await;
                            }
                            RcptOutcome::Permanent(why) => failed_now.push((rcpt.clone(), why)),
                            RcptOutcome::Temporary(why) => {
                                entry.last_error = why;
                                remaining.push(rcpt.clone());
                            }
                        }
                    }
                }
                Err(why) => {
                    entry.last_error = why;
                    remaining = entry.rcpts.clone();
                }
            }
            if !remaining.is_empty() && entry.attempts >= smarthost.max_attempts {
                let why = format!(
                    "gave up after {} attempts; last error: {}",
                    entry.attempts, entry.last_error
                );
                failed_now.extend(remaining.drain(..).map(|r| (r, why.clone())));
            }
            if !failed_now.is_empty() {
                for (rcpt, why) in &failed_now {
                    log_relay(&app, &entry, rcpt, &format!("bounced: {why}")).await;
                }
                send_bounce(&app, &entry, &failed_now, &raw).await;
            }
            if remaining.is_empty() {
                let _ = std::fs::remove_file(d.join(format!("{}.json", entry.id)));
                let _ = std::fs::remove_file(d.join(format!("{}.eml", entry.id)));
            } else {
                let backoff = smarthost
                    .initial_backoff_secs
                    .saturating_mul(1u64 << (entry.attempts - 1).min(16));
                entry.rcpts = remaining;
                entry.next_attempt = unix_now() + backoff as i64;
                next_wake = next_wake.min(entry.next_attempt);
                tracing::info!(id = %entry.id, attempt = entry.attempts, error = %entry.last_error, "relay deferred");
                if let Ok(b) = serde_json::to_vec(&entry) {
                    let _ = write_atomic(&d.join(format!("{}.json", entry.id)), &b);
                }
            }
        }
        let wait = (next_wake - unix_now()).clamp(0, 3600) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(wait.max(1))) => {}
            _ = app.queue_wake.notified() => {}
        }
    }
}

async fn log_relay(app: &App, entry: &Entry, rcpt: &str, status: &str) {
    let Ok(acc) = mailstore::AccountId::new(&entry.from) else {
        return;
    };
    if !app.is_local_domain(&domain_of(&entry.from)) {
        return;
    }
    app.log_mail(mailstore::MailLogRecord {
        time: unix_now(),
        account: acc,
        direction: mailstore::MailDirection::Sent,
        from: entry.from.clone(),
        to: vec![rcpt.to_string()],
        subject: String::new(),
        message_id: String::new(),
        status: format!("{status} id={}", entry.id),
    })
    .await;
}

async fn send_bounce(app: &App, entry: &Entry, failed: &[(String, String)], raw: &[u8]) {
    if entry.from.is_empty() || !app.is_local_domain(&domain_of(&entry.from)) {
        tracing::warn!(id = %entry.id, "undeliverable message with no local sender; dropped");
        return;
    }
    let Ok(sender) = mailstore::AccountId::new(&entry.from) else {
        return;
    };
    let b = crate::mailutil::bounce(
        &app.config.hostname,
        &entry.from,
        failed,
        raw,
        &crate::smtp::rfc2822_now(),
        &entry.id,
    );
    if let Err(e) = app.deliver_local(&sender, Bytes::from(b)).await {
        tracing::error!(id = %entry.id, error = %e, "cannot deliver the bounce");
    }
}

/// A reply as the sender should see it: code, enhanced code and text.
fn show(r: &smtp_core::Reply) -> String {
    match r.enhanced() {
        Some(e) => format!("{} {e} {}", r.code(), r.text()),
        None => format!("{} {}", r.code(), r.text()),
    }
}

enum RcptOutcome {
    Delivered,
    Temporary(String),
    Permanent(String),
}

/// The relay connection: plain until STARTTLS, then TLS.
enum Relay {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Relay {
    async fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Relay::Plain(s) => s.write_all(b).await,
            Relay::Tls(s) => {
                s.write_all(b).await?;
                s.flush().await
            }
        }
    }
    async fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Relay::Plain(s) => s.read(b).await,
            Relay::Tls(s) => s.read(b).await,
        }
    }
}

/// One delivery attempt through the smarthost; per-recipient outcomes, or why the whole
/// attempt failed (temporary).
async fn relay(
    app: &App,
    smarthost: &crate::config::Smarthost,
    entry: &Entry,
    raw: &[u8],
) -> Result<Vec<RcptOutcome>, String> {
    let address = smarthost.address.as_str();
    let tls = match &smarthost.ca_file {
        Some(ca) => Some(
            crate::tls::client_config(&crate::config::Config::resolve(&app.data, ca))
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let auth = match (&smarthost.auth_user, &smarthost.auth_password_file) {
        (Some(u), Some(f)) => {
            let pw = std::fs::read_to_string(crate::config::Config::resolve(&app.data, f))
                .map_err(|e| format!("cannot read the smarthost password file: {e}"))?;
            Some((u.clone(), pw.trim_end_matches(['\r', '\n']).to_string()))
        }
        _ => None,
    };
    let stream = tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(address))
        .await
        .map_err(|_| format!("connecting to smarthost {address} timed out"))?
        .map_err(|e| format!("cannot connect to smarthost {address}: {e}"))?;
    let mut stream = Relay::Plain(stream);
    let mut client = Client::new(ClientConfig::new(app.config.hostname.clone()));
    let envelope = Envelope {
        from: if entry.from.is_empty() {
            ReversePath::Null
        } else {
            ReversePath::Address(entry.from.clone().into())
        },
        params: MailParams {
            size: Some(raw.len() as u64),
            ..Default::default()
        },
        recipients: entry
            .rcpts
            .iter()
            .map(|r| (r.clone(), RcptParams::default()))
            .collect(),
    };
    let mut results: Vec<Option<smtp_core::Reply>> = vec![None; entry.rcpts.len()];
    let mut final_reply: Option<smtp_core::Reply> = None;
    let mut buf = vec![0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let mut start_tls = false;
        while let Some(ev) = client.poll_event() {
            match ev {
                ClientEvent::Ready(caps) => {
                    if tls.is_some() && !client.is_tls() {
                        if !caps.starttls {
                            return Err(format!("smarthost {address} does not offer STARTTLS"));
                        }
                        client.start_tls().map_err(|e| e.to_string())?;
                    } else if let (Some((u, p)), false) = (&auth, client.is_authenticated()) {
                        client
                            .authenticate(u, smtp_core::Secret::new(p.clone()))
                            .map_err(|e| e.to_string())?;
                    } else {
                        client.send_mail(&envelope).map_err(|e| e.to_string())?;
                    }
                }
                ClientEvent::TlsReady => start_tls = true,
                ClientEvent::Authenticated => {
                    client.send_mail(&envelope).map_err(|e| e.to_string())?
                }
                ClientEvent::RcptResult { index, reply } => {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(reply);
                    }
                }
                ClientEvent::DataReady => {
                    client.send_data(raw).map_err(|e| e.to_string())?;
                    client.end_data().map_err(|e| e.to_string())?;
                }
                ClientEvent::MessageResult(reply) | ClientEvent::MailRefused(reply) => {
                    final_reply = Some(reply);
                    let _ = client.quit();
                }
                ClientEvent::Refused(reply) => {
                    return Err(format!("smarthost refused: {}", show(&reply)));
                }
                _ => {}
            }
        }
        let out = client.transmit().to_vec();
        if !out.is_empty() {
            stream.write_all(&out).await.map_err(|e| e.to_string())?;
            client.consume(out.len());
        }
        if start_tls {
            let (Some(cfg), Relay::Plain(tcp)) = (&tls, stream) else {
                return Err("STARTTLS in an unexpected state".into());
            };
            let name = smarthost.tls_name.clone().unwrap_or_else(|| {
                address
                    .rsplit_once(':')
                    .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
                    .unwrap_or_else(|| address.to_string())
            });
            let server_name = rustls_pki_types::ServerName::try_from(name.clone())
                .map_err(|_| format!("{name:?} is not a valid TLS name for the smarthost"))?;
            let connector = tokio_rustls::TlsConnector::from(cfg.clone());
            let tls_stream =
                tokio::time::timeout(Duration::from_secs(30), connector.connect(server_name, tcp))
                    .await
                    .map_err(|_| "TLS handshake with the smarthost timed out".to_string())?
                    .map_err(|e| format!("TLS handshake with the smarthost failed: {e}"))?;
            stream = Relay::Tls(Box::new(tls_stream));
            client.tls_established().map_err(|e| e.to_string())?;
            continue;
        }
        if client.is_closed() {
            break;
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .map_err(|_| "smarthost session timed out".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        client.feed(&buf[..n]);
    }
    let Some(fin) = final_reply else {
        return Err("the smarthost closed the connection before the end of the message".into());
    };
    Ok(results
        .into_iter()
        .map(|r| match r {
            Some(r) if r.is_positive_completion() => {
                if fin.is_positive_completion() {
                    RcptOutcome::Delivered
                } else if fin.is_permanent_failure() {
                    RcptOutcome::Permanent(show(&fin))
                } else {
                    RcptOutcome::Temporary(show(&fin))
                }
            }
            Some(r) if r.is_permanent_failure() => RcptOutcome::Permanent(show(&r)),
            Some(r) => RcptOutcome::Temporary(show(&r)),
            None if fin.is_permanent_failure() => RcptOutcome::Permanent(show(&fin)),
            None => RcptOutcome::Temporary(show(&fin)),
        })
        .collect())
}
