//! The admin operations behind every CLI admin command (see admin.rs for the request type).
//! `App::admin` runs one and writes it to auth2fa's admin audit log with its result.

use std::fmt::Write as _;

use auth2fa::{AccountKind, AccountState, AuditEvent, AuditResult, DomainPolicy, ProtocolSet};
use mailstore::{AccountId, MailboxName, Quota, Rights, ShareLevel};

use crate::admin::{AdminRequest, AdminResponse};
use crate::app::{App, DomainEntry, default_folders, unix_now};
use crate::cli::{KindArg, LogKind, RightArg, StateArg};

type OpResult = Result<AdminResponse, String>;

fn acct(email: &str) -> Result<AccountId, String> {
    AccountId::new(email).map_err(|e| format!("{email:?} is not a valid address: {e}"))
}

fn ts(t: auth2fa::Timestamp) -> String {
    rfc3339(t.as_secs() as i64)
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn parse_since(since: &Option<String>) -> Result<i64, String> {
    match since {
        None => Ok(0),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|e| {
                format!(
                    "--since {s:?}: expected an RFC 3339 time such as 2026-01-31T00:00:00Z ({e})"
                )
            }),
    }
}

fn scope_of(scope: &[String]) -> Result<ProtocolSet, String> {
    if scope.is_empty() {
        return Ok(ProtocolSet::ALL);
    }
    let mut v = Vec::new();
    for s in scope {
        v.push(match s.trim().to_ascii_lowercase().as_str() {
            "imap" => auth2fa::Protocol::Imap,
            "pop3" | "pop" => auth2fa::Protocol::Pop3,
            "smtp" => auth2fa::Protocol::Smtp,
            other => {
                return Err(format!(
                    "unknown protocol {other:?} in --scope (use imap,pop3,smtp)"
                ));
            }
        });
    }
    ProtocolSet::of(&v).ok_or_else(|| "--scope needs at least one protocol".to_string())
}

fn level(r: RightArg) -> ShareLevel {
    match r {
        RightArg::ReadOnly => ShareLevel::ReadOnly,
        RightArg::OnBehalf => ShareLevel::SendOnBehalf,
        RightArg::Delegate => ShareLevel::Delegate,
    }
}

fn level_name(r: Rights) -> &'static str {
    match ShareLevel::from_rights(r) {
        Some(ShareLevel::Delegate) => "delegate",
        Some(ShareLevel::SendOnBehalf) => "on-behalf",
        Some(ShareLevel::ReadOnly) => "read-only",
        None => "custom",
    }
}

impl App {
    /// Executes one admin request and records it in the admin audit log with its result.
    pub async fn admin(&self, req: AdminRequest) -> AdminResponse {
        let action = req.action();
        let target = req.target();
        let result = self.admin_inner(req).await;
        let resp = match result {
            Ok(r) => r,
            Err(e) => AdminResponse::err(e),
        };
        let event = AuditEvent {
            at: auth2fa::Timestamp::now(),
            admin: "mailserver-cli".into(),
            action: action.into(),
            target,
            details: String::new(),
            result: if resp.ok {
                AuditResult::Ok
            } else {
                AuditResult::Failed(resp.error.clone())
            },
        };
        if let Err(e) = self.auth.record_admin_action(event) {
            tracing::error!(error = %e, "cannot write the admin audit log");
        }
        resp
    }

    async fn admin_inner(&self, req: AdminRequest) -> OpResult {
        match req {
            AdminRequest::DomainAdd {
                domain,
                require_2fa,
            } => {
                let domain = domain.trim().to_ascii_lowercase();
                if domain.is_empty() || !domain.contains('.') || domain.contains('@') {
                    return Err(format!("{domain:?} is not a domain name"));
                }
                self.auth
                    .set_domain_policy(
                        &domain,
                        DomainPolicy {
                            force_two_factor: require_2fa,
                        },
                    )
                    .map_err(|e| e.to_string())?;
                self.add_domain(&domain, DomainEntry { require_2fa })
                    .map_err(|e| e.to_string())?;
                Ok(AdminResponse::ok(format!(
                    "domain {domain} added{}",
                    if require_2fa { " (2FA required)" } else { "" }
                )))
            }
            AdminRequest::UserAdd {
                email,
                password,
                kind,
                name,
                phone,
            } => {
                let id = acct(&email)?;
                let domain = crate::mailutil::domain_of(id.as_str());
                if !self.is_local_domain(&domain) {
                    return Err(format!(
                        "{domain} is not a local domain of this server: run `mailserver domain add {domain}` first"
                    ));
                }
                let mut new = auth2fa::NewAccount::new(id.as_str(), password.expose());
                new.kind = match kind {
                    KindArg::Normal => AccountKind::Normal,
                    KindArg::Delivery => AccountKind::Delivery,
                };
                new.display_name = name.unwrap_or_default();
                // The operator chose this password with the user; `user set
                // --must-change-password` asks for a change before protocol use.
                new.must_change_password = false;
                let auth = self.auth.clone();
                tokio::task::spawn_blocking(move || {
                    auth.create_account(new, auth2fa::Timestamp::now())
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                self.store
                    .create_account(&id, &default_folders())
                    .await
                    .map_err(|e| e.to_string())?;
                let q = self.config.limits.default_quota_bytes;
                if q > 0 {
                    self.store
                        .set_quota(
                            &id,
                            Quota {
                                max_bytes: Some(q),
                                max_messages: None,
                            },
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                }
                if kind == KindArg::Delivery {
                    // D4: nothing delivered to a delivery mailbox is ever lost.
                    self.store
                        .set_archive_mode(&id, true)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let mut out = format!("account {} created", id.as_str());
                if let Some(p) = phone {
                    // Staff checked the user's identity (A1): the phone is bound at once, with
                    // the code that went to the outbox. 2FA is then on for this account.
                    self.bind_phone(id.as_str(), &p).map_err(|e| {
                        format!(
                            "account {} created, but the phone was not bound: {e}",
                            id.as_str()
                        )
                    })?;
                    let _ = write!(
                        out,
                        "\nphone bound as SMS second factor: mail clients of this account now need an app password"
                    );
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::UserSet {
                email,
                state,
                must_change_password,
                require_2fa,
                quota,
            } => {
                let id = acct(&email)?;
                let mut done = Vec::new();
                if let Some(s) = state {
                    let st = match s {
                        StateArg::Active => AccountState::Active,
                        StateArg::Restricted => AccountState::Restricted,
                        StateArg::Banned => AccountState::Banned,
                    };
                    self.auth
                        .set_state(id.as_str(), st)
                        .map_err(|e| e.to_string())?;
                    done.push(format!("state {st}"));
                }
                if let Some(m) = must_change_password {
                    self.auth
                        .set_must_change_password(id.as_str(), m)
                        .map_err(|e| e.to_string())?;
                    done.push(format!("must-change-password {m}"));
                }
                if let Some(r) = require_2fa {
                    self.auth
                        .set_force_two_factor(id.as_str(), r)
                        .map_err(|e| e.to_string())?;
                    done.push(format!("require-2fa {r}"));
                }
                if let Some(q) = quota {
                    self.auth.account(id.as_str()).map_err(|e| e.to_string())?;
                    self.store
                        .set_quota(
                            &id,
                            Quota {
                                max_bytes: (q > 0).then_some(q),
                                max_messages: None,
                            },
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    done.push(format!("quota {q} bytes"));
                }
                if done.is_empty() {
                    return Err("nothing to change: give --state, --must-change-password, --require-2fa or --quota".into());
                }
                Ok(AdminResponse::ok(format!(
                    "{}: {}",
                    id.as_str(),
                    done.join(", ")
                )))
            }
            AdminRequest::UserPasswd { email, password } => {
                let id = acct(&email)?;
                let auth = self.auth.clone();
                let addr = id.as_str().to_string();
                tokio::task::spawn_blocking(move || {
                    auth.reset_password(&addr, password.expose(), auth2fa::Timestamp::now())
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                Ok(AdminResponse::ok(format!(
                    "password of {} reset; the user must change it before using mail clients (or: user set {} --must-change-password false)",
                    id.as_str(),
                    id.as_str()
                )))
            }
            AdminRequest::UserList => {
                let mut out = String::new();
                for a in self.auth.accounts().map_err(|e| e.to_string())? {
                    let id = a.address().as_str().to_string();
                    let quota = match AccountId::new(&id) {
                        Ok(i) => self.store.quota(&i).await.ok(),
                        Err(_) => None,
                    };
                    let policy = self.auth.domain_policy(a.address().domain()).ok();
                    let _ = writeln!(
                        out,
                        "{id}\tkind={}\tstate={}\t2fa={}\tmust-change-password={}\tapp-passwords={}\tused={}\tquota={}\tname={}",
                        a.kind(),
                        a.state(),
                        a.two_factor_required(policy.as_ref()),
                        a.must_change_password(),
                        a.app_password_count(),
                        quota.as_ref().map(|q| q.used_bytes).unwrap_or(0),
                        quota
                            .as_ref()
                            .and_then(|q| q.quota.max_bytes)
                            .map(|b| b.to_string())
                            .unwrap_or_else(|| "none".into()),
                        a.display_name()
                    );
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::UserDel { email } => {
                let id = acct(&email)?;
                self.auth
                    .delete_account(id.as_str())
                    .map_err(|e| e.to_string())?;
                // Logins stop first; then the mail goes. The mail log and read receipts stay
                // for audit (mailstore keeps them).
                match self.store.delete_account(&id).await {
                    Ok(()) | Err(mailstore::StoreError::NoSuchAccount(_)) => {}
                    Err(e) => {
                        return Err(format!(
                            "account {} can no longer log in, but its mail could not be deleted: {e}; run `user del` again after fixing the store",
                            id.as_str()
                        ));
                    }
                }
                Ok(AdminResponse::ok(format!(
                    "account {} deleted with its mailboxes, messages, archive and shares (mail log and read receipts are kept for audit)",
                    id.as_str()
                )))
            }
            AdminRequest::AppPasswordAdd { email, name, scope } => {
                let scope = scope_of(&scope)?;
                let secret = self
                    .auth
                    .create_app_password(&email, &name, scope, auth2fa::Timestamp::now())
                    .map_err(|e| e.to_string())?;
                let compact: String = secret.expose().chars().filter(|c| *c != ' ').collect();
                Ok(AdminResponse::ok(compact))
            }
            AdminRequest::AppPasswordList { email } => {
                let mut out = String::new();
                for p in self.auth.app_passwords(&email).map_err(|e| e.to_string())? {
                    let scope: Vec<String> = p.scope.iter().map(|s| s.to_string()).collect();
                    let last = match &p.last_used {
                        Some(u) => format!("{} from {} over {}", ts(u.at), u.ip, u.protocol),
                        None => "never".into(),
                    };
                    let _ = writeln!(
                        out,
                        "{}\tcreated={}\tscope={}\tlast-used={}",
                        p.name,
                        ts(p.created),
                        scope.join(","),
                        last
                    );
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::AppPasswordRemove { email, name } => {
                self.auth
                    .remove_app_password(&email, &name)
                    .map_err(|e| e.to_string())?;
                Ok(AdminResponse::ok(format!("app password {name:?} removed")))
            }
            AdminRequest::AppPasswordClear { email } => {
                let n = self
                    .auth
                    .remove_all_app_passwords(&email)
                    .map_err(|e| e.to_string())?;
                Ok(AdminResponse::ok(format!("{n} app passwords removed")))
            }
            AdminRequest::TotpEnroll { email, want_qr } => self.totp_enroll(&email, want_qr),
            AdminRequest::TotpConfirm { email, code } => {
                let bound = self
                    .auth
                    .confirm_bind_factor(&email, &code, auth2fa::Timestamp::now())
                    .map_err(|e| e.to_string())?;
                let mut out = format!("TOTP bound to {email}");
                if !bound.recovery_codes.is_empty() {
                    out.push_str("\nrecovery codes (each works once; shown only now):");
                    for c in &bound.recovery_codes {
                        out.push_str("\n  ");
                        out.push_str(c.expose());
                    }
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::ShareGrant {
                owner,
                delegate,
                right,
            } => {
                let o = acct(&owner)?;
                let d = acct(&delegate)?;
                if o == d {
                    return Err("an account cannot share its mailbox with itself".into());
                }
                self.auth.account(o.as_str()).map_err(|e| e.to_string())?;
                self.auth.account(d.as_str()).map_err(|e| e.to_string())?;
                self.store
                    .create_account(&d, &default_folders())
                    .await
                    .map_err(|e| e.to_string())?;
                let boxes = self
                    .store
                    .list_mailboxes(&o)
                    .await
                    .map_err(|e| e.to_string())?;
                let rights = level(right).rights();
                for b in &boxes {
                    self.store
                        .set_rights(&o, &b.name, &d, rights)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(AdminResponse::ok(format!(
                    "{} shared with {} ({}, {} folders)",
                    o.as_str(),
                    d.as_str(),
                    level_name(rights),
                    boxes.len()
                )))
            }
            AdminRequest::ShareRevoke { owner, delegate } => {
                let o = acct(&owner)?;
                let d = acct(&delegate)?;
                let boxes = self
                    .store
                    .list_mailboxes(&o)
                    .await
                    .map_err(|e| e.to_string())?;
                for b in &boxes {
                    self.store
                        .set_rights(&o, &b.name, &d, Rights::NONE)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(AdminResponse::ok(format!(
                    "{} no longer shared with {}",
                    o.as_str(),
                    d.as_str()
                )))
            }
            AdminRequest::ShareList { owner } => {
                let o = acct(&owner)?;
                let acl = self
                    .store
                    .acl(&o, &MailboxName::inbox())
                    .await
                    .map_err(|e| e.to_string())?;
                let mut out = String::new();
                for (who, r) in acl {
                    let _ = writeln!(out, "{}\t{}\t{}", who.as_str(), level_name(r), r);
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::BanList => {
                let mut out = String::new();
                for b in self.auth.blocks(auth2fa::Timestamp::now()) {
                    let _ = writeln!(
                        out,
                        "{}\tsince={}\tuntil={}\treason={:?}",
                        b.network,
                        ts(b.since),
                        ts(b.until),
                        b.reason
                    );
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::BanLift { ip } => {
                let addr: std::net::IpAddr = ip
                    .parse()
                    .map_err(|_| format!("{ip:?} is not an IP address"))?;
                if self.auth.lift_block(addr) {
                    Ok(AdminResponse::ok(format!("block on {addr} lifted")))
                } else {
                    Err(format!(
                        "{addr} is not blocked (blocks live in the running server: is `serve` running on this data directory?)"
                    ))
                }
            }
            AdminRequest::Log {
                kind,
                account,
                since,
                json,
            } => self.log(kind, account, since, json).await,
            AdminRequest::ArchiveList { email } => {
                let id = acct(&email)?;
                let mut out = String::new();
                for m in self
                    .store
                    .list_archived(&id)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    let _ = writeln!(
                        out,
                        "{}\tfolder={}\tarchived={}\tsize={}\tsubject={}",
                        m.id,
                        m.mailbox.as_str(),
                        rfc3339(m.archived_at),
                        m.size,
                        m.meta.envelope.subject.clone().unwrap_or_default()
                    );
                }
                Ok(AdminResponse::ok(out))
            }
            AdminRequest::ArchiveRestore { email, id } => {
                let acc = acct(&email)?;
                let n: u64 = id
                    .parse()
                    .map_err(|_| format!("{id:?} is not an archive id (see `archive list`)"))?;
                let archived = self
                    .store
                    .list_archived(&acc)
                    .await
                    .map_err(|e| e.to_string())?;
                let Some(m) = archived.iter().find(|m| m.id == n) else {
                    return Err(format!("no archived message {n} for {}", acc.as_str()));
                };
                let to = match self.store.mailbox_id(&acc, &m.mailbox).await {
                    Ok(t) => t,
                    Err(_) => self
                        .store
                        .mailbox_id(&acc, &MailboxName::inbox())
                        .await
                        .map_err(|e| e.to_string())?,
                };
                let a = self
                    .store
                    .restore_archived(&acc, n, to)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(AdminResponse::ok(format!(
                    "archived message {n} restored with UID {}",
                    a.uid.get()
                )))
            }
        }
    }

    async fn log(
        &self,
        kind: LogKind,
        account: Option<String>,
        since: Option<String>,
        json: bool,
    ) -> OpResult {
        let since = parse_since(&since)?;
        let mut out = String::new();
        match kind {
            LogKind::Logins => {
                let mut v = self
                    .auth
                    .login_log(account.as_deref(), 100_000)
                    .map_err(|e| e.to_string())?;
                v.retain(|e| e.at.as_secs() as i64 >= since);
                v.reverse();
                for e in v {
                    if json {
                        let _ = writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default());
                    } else {
                        let _ = writeln!(
                            out,
                            "{}\t{}\t{}\t{}\t{}\t{:?}",
                            ts(e.at),
                            e.login,
                            e.channel,
                            e.ip,
                            e.failure.as_deref().unwrap_or("ok"),
                            e.credential
                        );
                    }
                }
            }
            LogKind::Admin => {
                let mut v = self.auth.audit_log(100_000).map_err(|e| e.to_string())?;
                v.retain(|e| e.at.as_secs() as i64 >= since);
                if let Some(a) = &account {
                    let a = a.to_lowercase();
                    v.retain(|e| e.target.to_lowercase().contains(&a));
                }
                v.reverse();
                for e in v {
                    if json {
                        let _ = writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default());
                    } else {
                        let res = match &e.result {
                            AuditResult::Ok => "ok".to_string(),
                            AuditResult::Failed(why) => format!("failed: {why}"),
                        };
                        let _ = writeln!(
                            out,
                            "{}\t{}\t{}\t{}\t{}",
                            ts(e.at),
                            e.admin,
                            e.action,
                            e.target,
                            res
                        );
                    }
                }
            }
            LogKind::Mail => {
                let Some(a) = account else {
                    return Err("the mail log is kept per account: give --account EMAIL".into());
                };
                let id = acct(&a)?;
                let v = self
                    .store
                    .mail_log(&id, since, unix_now() + 1)
                    .await
                    .map_err(|e| e.to_string())?;
                for r in v {
                    // D1: who has read a sent message (first \Seen per recipient).
                    let reads = if r.direction == mailstore::MailDirection::Sent
                        && !r.message_id.is_empty()
                    {
                        self.store
                            .read_receipts(&r.message_id)
                            .await
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    let read_text: Vec<String> = reads
                        .iter()
                        .map(|x| format!("{}@{}", x.account.as_str(), rfc3339(x.first_seen)))
                        .collect();
                    if json {
                        let read_by: Vec<serde_json::Value> = reads
                            .iter()
                            .map(|x| {
                                serde_json::json!({
                                    "account": x.account.as_str(),
                                    "at": rfc3339(x.first_seen),
                                })
                            })
                            .collect();
                        let _ = writeln!(
                            out,
                            "{}",
                            serde_json::json!({
                                "read_by": read_by,
                                "time": rfc3339(r.time),
                                "account": r.account.as_str(),
                                "direction": format!("{:?}", r.direction),
                                "from": r.from,
                                "to": r.to,
                                "subject": r.subject,
                                "message_id": r.message_id,
                                "status": r.status,
                            })
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "{}\t{:?}\tfrom={}\tto={}\tsubject={}\tid={}\tstatus={}\tread={}",
                            rfc3339(r.time),
                            r.direction,
                            r.from,
                            r.to.join(","),
                            r.subject,
                            r.message_id,
                            r.status,
                            read_text.join(",")
                        );
                    }
                }
            }
        }
        Ok(AdminResponse::ok(out))
    }

    fn bind_phone(&self, email: &str, phone: &str) -> Result<(), String> {
        let now = auth2fa::Timestamp::now();
        self.auth
            .begin_bind_factor(email, auth2fa::FactorTarget::Sms(phone.to_string()), now)
            .map_err(|e| e.to_string())?;
        let code = self
            .codes
            .take_bind_code(email)
            .ok_or("no binding code was sent")?;
        self.auth
            .confirm_bind_factor(email, code.expose(), now)
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn totp_enroll(&self, email: &str, want_qr: bool) -> OpResult {
        match self
            .auth
            .begin_bind_factor(
                email,
                auth2fa::FactorTarget::Totp,
                auth2fa::Timestamp::now(),
            )
            .map_err(|e| e.to_string())?
        {
            auth2fa::BindStart::Totp(en) => {
                let mut r = AdminResponse::ok(en.otpauth_url.expose().to_string());
                if want_qr {
                    use base64::Engine;
                    r.qr_png_base64 =
                        Some(base64::engine::general_purpose::STANDARD.encode(&en.qr_png));
                }
                Ok(r)
            }
            _ => Err("auth2fa did not start a TOTP enrolment".into()),
        }
    }
}
