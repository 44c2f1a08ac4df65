//! IMAP over mailstore: imap-core plugged into the connection driver.
//!
//! Own folders in the personal namespace; mailboxes shared with the user (S1/S2) under
//! `Other Users/OWNER/FOLDER` with RFC 4314 rights enforced here (read-only and on-behalf can
//! read but not change flags, expunge or mark seen; delegate has full rights). IDLE and every
//! selected session are woken by the store's change notifications. Delivery accounts are
//! refused at login by auth2fa (D3).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use imap_core::render::{MessageView, apply_partial};
use imap_core::server::{Config, CopyUid, Event, SelectInfo, Server};
use imap_core::syntax::response::ListAttr;
use imap_core::syntax::{
    Atom, Code, Date, DateTime, FetchAttr, FetchItem, Flag, FlagFetch, FlagPerm, ListItem, Mailbox,
    QuotaResource, SearchMessage, StatusItem, StatusValue, StoreAction, list_matches,
};
use mailstore::{
    AccountId, FlagOp, MailboxEvent, MailboxId, MailboxName, Rights, SpecialUse, StoreError,
    Subscription, Uid,
};

use crate::app::{App, LoginRefusal, Principal, Proto, unix_now};
use crate::driver::{ConnInfo, Next, Session};

const OTHER: &str = "Other Users/";

struct Selected {
    id: MailboxId,
    rights: Rights,
    /// Flags may be changed at all (SELECT, not EXAMINE, with some write right).
    writable: bool,
    /// What this session's client knows: UID -> flags.
    known: BTreeMap<u32, mailstore::Flags>,
    sub: Subscription,
}

#[derive(Default)]
struct Append {
    target: Option<(MailboxId, u32)>,
    messages: Vec<(Vec<u8>, mailstore::Flags, i64)>,
    current: Option<(Vec<u8>, mailstore::Flags, i64)>,
}

pub struct ImapSession {
    app: Arc<App>,
    core: Server,
    user: Option<Principal>,
    selected: Option<Selected>,
    append: Option<Append>,
    /// Events from the store that arrived while waiting (IDLE or between commands).
    pending_updates: Vec<MailboxEvent>,
    /// Notifications were lost: compare the mailbox with what the client knows.
    needs_resync: bool,
}

fn to_imap_flags(f: &mailstore::Flags) -> Vec<Flag> {
    f.iter()
        .filter_map(|x| match x {
            mailstore::Flag::Seen => Some(Flag::Seen),
            mailstore::Flag::Answered => Some(Flag::Answered),
            mailstore::Flag::Flagged => Some(Flag::Flagged),
            mailstore::Flag::Deleted => Some(Flag::Deleted),
            mailstore::Flag::Draft => Some(Flag::Draft),
            mailstore::Flag::Keyword(k) => Atom::new(k.as_str()).ok().map(Flag::Keyword),
        })
        .collect()
}

fn from_imap_flags(f: &[Flag]) -> mailstore::Flags {
    mailstore::Flags::from_flags(f.iter().filter_map(|x| {
        match x {
            Flag::Seen => Some(mailstore::Flag::Seen),
            Flag::Answered => Some(mailstore::Flag::Answered),
            Flag::Flagged => Some(mailstore::Flag::Flagged),
            Flag::Deleted => Some(mailstore::Flag::Deleted),
            Flag::Draft => Some(mailstore::Flag::Draft),
            Flag::Keyword(k) => mailstore::Keyword::new(k.as_str())
                .ok()
                .map(mailstore::Flag::Keyword),
            Flag::Extension(_) => None,
        }
    }))
}

fn imap_date(unix: i64) -> DateTime {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let d = Date::new(t.year() as u16, t.month() as u8, t.day())
        .unwrap_or_else(|| Date::new(1970, 1, 1).expect("valid date"));
    DateTime::new(d, t.hour(), t.minute(), t.second(), 0).expect("valid time")
}

fn unix_of(d: &DateTime) -> i64 {
    let date = d.date();
    let (h, m, s) = d.time();
    let Ok(month) = time::Month::try_from(date.month()) else {
        return unix_now();
    };
    let Ok(cal) = time::Date::from_calendar_date(date.year() as i32, month, date.day()) else {
        return unix_now();
    };
    let Ok(tm) = time::Time::from_hms(h, m, s) else {
        return unix_now();
    };
    time::PrimitiveDateTime::new(cal, tm)
        .assume_utc()
        .unix_timestamp()
        - i64::from(d.zone_minutes()) * 60
}

fn special_attr(su: SpecialUse) -> ListAttr {
    match su {
        SpecialUse::All => ListAttr::All,
        SpecialUse::Archive => ListAttr::Archive,
        SpecialUse::Drafts => ListAttr::Drafts,
        SpecialUse::Flagged => ListAttr::Flagged,
        SpecialUse::Junk => ListAttr::Junk,
        SpecialUse::Sent => ListAttr::Sent,
        SpecialUse::Trash => ListAttr::Trash,
    }
}

fn special_from_atom(a: &Atom) -> Option<SpecialUse> {
    match a
        .as_str()
        .trim_start_matches('\\')
        .to_ascii_lowercase()
        .as_str()
    {
        "all" => Some(SpecialUse::All),
        "archive" => Some(SpecialUse::Archive),
        "drafts" => Some(SpecialUse::Drafts),
        "flagged" => Some(SpecialUse::Flagged),
        "junk" => Some(SpecialUse::Junk),
        "sent" => Some(SpecialUse::Sent),
        "trash" => Some(SpecialUse::Trash),
        _ => None,
    }
}

/// A mailbox as the store knows it: owner, name, and whether it is someone else's.
struct Resolved {
    owner: AccountId,
    name: MailboxName,
    shared: bool,
}

/// One LIST candidate.
struct Listed {
    name: String,
    attrs: Vec<ListAttr>,
    subscribed: bool,
    selectable: Option<MailboxId>,
}

enum Failure {
    No(Option<Code>, String),
}

type R<T> = Result<T, Failure>;

fn no(code: Option<Code>, text: impl Into<String>) -> Failure {
    Failure::No(code, text.into())
}

fn store_failure(e: StoreError) -> Failure {
    match e {
        StoreError::NoSuchMailbox(_) => no(Some(Code::NonExistent), "no such mailbox"),
        StoreError::QuotaExceeded { .. } => no(Some(Code::OverQuota), e.to_string()),
        StoreError::MessageTooLarge { .. } => no(Some(Code::TooBig), e.to_string()),
        StoreError::MailboxExists(_) => no(Some(Code::AlreadyExists), e.to_string()),
        other => {
            tracing::warn!(error = %other, "store error");
            no(Some(Code::ServerBug), other.to_string())
        }
    }
}

impl ImapSession {
    pub fn new(app: Arc<App>, implicit_tls: bool, peer: std::net::IpAddr) -> ImapSession {
        let config = Config {
            greeting: format!("{} IMAP ready", app.config.hostname),
            tls: implicit_tls,
            starttls: !implicit_tls,
            login_disabled_without_tls: !app.plaintext_allowed(peer),
            max_append_size: app.config.limits.max_message_bytes,
            idle_timeout: std::time::Duration::from_secs(app.config.limits.imap_idle_timeout_secs),
            ..Config::default()
        };
        let mut core = Server::new(config);
        core.handle_timeout(Instant::now());
        ImapSession {
            app,
            core,
            user: None,
            selected: None,
            append: None,
            pending_updates: Vec::new(),
            needs_resync: false,
        }
    }

    fn me(&self) -> R<&Principal> {
        self.user
            .as_ref()
            .ok_or_else(|| no(None, "not authenticated"))
    }

    fn resolve(&self, mb: &Mailbox) -> R<Resolved> {
        let me = self.me()?;
        let name = mb.as_str();
        if let Some(rest) = name.strip_prefix(OTHER) {
            let (owner, folder) = rest.split_once('/').unwrap_or((rest, "INBOX"));
            let owner = AccountId::new(owner)
                .map_err(|_| no(Some(Code::NonExistent), "no such shared mailbox"))?;
            let folder = MailboxName::new(if folder.is_empty() { "INBOX" } else { folder })
                .map_err(|e| no(Some(Code::NonExistent), e.to_string()))?;
            return Ok(Resolved {
                shared: owner != me.address,
                owner,
                name: folder,
            });
        }
        let n = MailboxName::new(name).map_err(|e| no(Some(Code::Cannot), e.to_string()))?;
        Ok(Resolved {
            owner: me.address.clone(),
            name: n,
            shared: false,
        })
    }

    /// The mailbox id and this user's rights on it (all rights on their own).
    async fn open(&self, r: &Resolved) -> R<(MailboxId, Rights)> {
        let me = self.me()?.address.clone();
        let id = self
            .app
            .store
            .mailbox_id(&r.owner, &r.name)
            .await
            .map_err(|_| no(Some(Code::NonExistent), "no such mailbox"))?;
        if !r.shared {
            return Ok((id, Rights::ALL));
        }
        let rights = self
            .app
            .store
            .my_rights(id, &me)
            .await
            .map_err(store_failure)?;
        if !rights.contains(Rights::LOOKUP) {
            return Err(no(Some(Code::NonExistent), "no such mailbox"));
        }
        Ok((id, rights))
    }

    /// Applies store notifications to the selected mailbox view (EXISTS, EXPUNGE, FETCH FLAGS).
    fn apply_updates(&mut self) {
        let Some(sel) = self.selected.as_mut() else {
            self.pending_updates.clear();
            return;
        };
        while let Some(ev) = sel.sub.try_recv() {
            self.pending_updates.push(ev);
        }
        for ev in std::mem::take(&mut self.pending_updates) {
            match ev {
                MailboxEvent::Appended { uid, flags, .. } => {
                    let u = uid.get();
                    let above = sel.known.keys().next_back().is_none_or(|&m| u > m);
                    if above {
                        sel.known.insert(u, flags);
                        let _ = self.core.new_messages(&[u]);
                    }
                }
                MailboxEvent::FlagsChanged { uid, flags, modseq } => {
                    let u = uid.get();
                    if let Some(k) = sel.known.get_mut(&u)
                        && *k != flags
                    {
                        *k = flags.clone();
                        let _ = self
                            .core
                            .flags_changed(u, &to_imap_flags(&flags), Some(modseq.0));
                    }
                }
                MailboxEvent::Expunged { uids, .. } => {
                    for uid in uids {
                        if sel.known.remove(&uid.get()).is_some() {
                            let _ = self.core.message_expunged(uid.get());
                        }
                    }
                }
                MailboxEvent::Deleted => {
                    self.core.bye("the selected mailbox was deleted or renamed");
                }
                MailboxEvent::Lagged(_) => {
                    tracing::debug!("IMAP session lagged behind mailbox events; resyncing");
                    self.needs_resync = true;
                }
            }
        }
    }

    /// After lost notifications: reports every difference between the store and the
    /// client's view (new messages, expunges, flag changes).
    async fn resync(&mut self) {
        self.needs_resync = false;
        let Some(id) = self.selected.as_ref().map(|s| s.id) else {
            return;
        };
        let Ok(snap) = self.app.store.select(id).await else {
            return;
        };
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let now: BTreeMap<u32, mailstore::Flags> = snap
            .messages
            .iter()
            .map(|m| (m.uid.get(), m.flags.clone()))
            .collect();
        let gone: Vec<u32> = sel
            .known
            .keys()
            .copied()
            .filter(|u| !now.contains_key(u))
            .collect();
        for u in gone {
            sel.known.remove(&u);
            let _ = self.core.message_expunged(u);
        }
        let max = sel.known.keys().next_back().copied().unwrap_or(0);
        for (u, f) in &now {
            match sel.known.get(u) {
                Some(k) if k != f => {
                    let _ = self.core.flags_changed(*u, &to_imap_flags(f), None);
                    sel.known.insert(*u, f.clone());
                }
                None if *u > max => {
                    sel.known.insert(*u, f.clone());
                    let _ = self.core.new_messages(&[*u]);
                }
                _ => {}
            }
        }
    }

    async fn answer(
        &mut self,
        ev: Event,
        conn: &ConnInfo,
    ) -> Result<Option<Next>, imap_core::Error> {
        match ev {
            Event::StartTls => return Ok(Some(Next::StartTls)),
            Event::Logout => return Ok(Some(Next::Close)),
            Event::Login {
                authzid,
                username,
                password,
                ..
            } => {
                if authzid
                    .as_deref()
                    .is_some_and(|a| !a.is_empty() && !a.eq_ignore_ascii_case(&username))
                {
                    self.core.auth_reject(
                        Some(Code::AuthorizationFailed),
                        "log in as yourself: shared mailboxes are under \"Other Users/\"",
                    )?;
                    return Ok(None);
                }
                match self
                    .app
                    .login(Proto::Imap, &username, password.expose(), conn)
                    .await
                {
                    Ok(p) => {
                        self.user = Some(p);
                        self.core.auth_accept()?;
                    }
                    Err(LoginRefusal {
                        temporary,
                        text,
                        code,
                    }) => {
                        let c = if temporary {
                            Code::Unavailable
                        } else if code == "wrong_credentials" {
                            Code::AuthenticationFailed
                        } else {
                            Code::Alert
                        };
                        self.core.auth_reject(Some(c), &text)?;
                    }
                }
            }
            Event::Id(_) => self.core.id_reply(Some(vec![
                ("name".into(), Some("mailserver".into())),
                ("vendor".into(), Some("mailcrates".into())),
            ]))?,
            Event::AppendData(chunk) => {
                if let Some((buf, ..)) = self.append.as_mut().and_then(|a| a.current.as_mut()) {
                    buf.extend_from_slice(&chunk);
                }
            }
            Event::AppendAborted => self.append = None,
            Event::IdleDone => {}
            Event::Idle => self.core.idle_accept()?,
            other => {
                let r = self.command(other).await;
                if let Err(Failure::No(code, text)) = r {
                    self.core.no(code, &text)?;
                }
            }
        }
        Ok(None)
    }

    /// Commands whose failure is a tagged NO.
    async fn command(&mut self, ev: Event) -> R<()> {
        let e = |x: imap_core::Error| no(Some(Code::ServerBug), x.to_string());
        match ev {
            Event::Select {
                mailbox,
                read_only,
                qresync,
                ..
            } => {
                self.selected = None;
                let r = self.resolve(&mailbox)?;
                let (id, rights) = self.open(&r).await?;
                if !rights.contains(Rights::READ) {
                    return Err(no(Some(Code::NoPerm), "you may not read this mailbox"));
                }
                let sub = self.app.store.subscribe(id).await.map_err(store_failure)?;
                let snap = self.app.store.select(id).await.map_err(store_failure)?;
                let writable = !read_only
                    && (rights.contains(Rights::WRITE_SEEN)
                        || rights.contains(Rights::WRITE)
                        || rights.contains(Rights::DELETE_MESSAGES));
                let mut perm = Vec::new();
                if writable {
                    if rights.contains(Rights::WRITE_SEEN) {
                        perm.push(FlagPerm::Flag(Flag::Seen));
                    }
                    if rights.contains(Rights::DELETE_MESSAGES) {
                        perm.push(FlagPerm::Flag(Flag::Deleted));
                    }
                    if rights.contains(Rights::WRITE) {
                        for f in [Flag::Answered, Flag::Flagged, Flag::Draft] {
                            perm.push(FlagPerm::Flag(f));
                        }
                        perm.push(FlagPerm::Wildcard);
                    }
                }
                let mut flags = vec![
                    Flag::Answered,
                    Flag::Flagged,
                    Flag::Deleted,
                    Flag::Seen,
                    Flag::Draft,
                ];
                flags.extend(
                    snap.keywords
                        .iter()
                        .filter_map(|k| Atom::new(k.as_str()).ok().map(Flag::Keyword)),
                );
                let known: BTreeMap<u32, mailstore::Flags> = snap
                    .messages
                    .iter()
                    .map(|m| (m.uid.get(), m.flags.clone()))
                    .collect();
                let first_unseen = snap
                    .messages
                    .iter()
                    .find(|m| !m.flags.is_seen())
                    .map(|m| m.uid.get());
                // QRESYNC (RFC 7162): what changed since the client's mod-sequence.
                let (mut vanished, mut changed) = (Vec::new(), Vec::new());
                if let Some(q) = &qresync
                    && q.uid_validity == snap.uid_validity.get()
                    && let Ok(ch) = self
                        .app
                        .store
                        .changes_since(id, mailstore::ModSeq(q.modseq))
                        .await
                {
                    vanished = ch.vanished.iter().map(|u| u.get()).collect();
                    changed = ch
                        .changed
                        .iter()
                        .map(|m| (m.uid.get(), to_imap_flags(&m.flags), m.modseq.0))
                        .collect();
                }
                let info = SelectInfo {
                    flags,
                    permanent_flags: perm,
                    uids: known.keys().copied().collect(),
                    uid_validity: snap.uid_validity.get(),
                    uid_next: snap.uid_next.get(),
                    highest_modseq: Some(snap.highest_modseq.0.max(1)),
                    first_unseen,
                    vanished,
                    changed,
                    ..SelectInfo::default()
                };
                if writable {
                    self.core.select_ok(info).map_err(e)?;
                } else {
                    self.core.select_ok_read_only(info).map_err(e)?;
                }
                self.selected = Some(Selected {
                    id,
                    rights,
                    writable,
                    known,
                    sub,
                });
            }
            Event::Create {
                mailbox,
                special_use,
            } => {
                let r = self.resolve(&mailbox)?;
                if r.shared {
                    return Err(no(Some(Code::NoPerm), "folders are created by the owner"));
                }
                let su = special_use.iter().find_map(special_from_atom);
                self.app
                    .store
                    .create_mailbox(&r.owner, &r.name, su)
                    .await
                    .map_err(store_failure)?;
                // A shared account stays shared: new folders get the INBOX's grants.
                if let Ok(acl) = self.app.store.acl(&r.owner, &MailboxName::inbox()).await {
                    for (who, rights) in acl {
                        let _ = self
                            .app
                            .store
                            .set_rights(&r.owner, &r.name, &who, rights)
                            .await;
                    }
                }
                self.core.ok().map_err(e)?;
            }
            Event::Delete { mailbox } => {
                let r = self.resolve(&mailbox)?;
                if r.shared {
                    return Err(no(Some(Code::NoPerm), "only the owner deletes folders"));
                }
                self.app
                    .store
                    .delete_mailbox(&r.owner, &r.name)
                    .await
                    .map_err(store_failure)?;
                self.core.ok().map_err(e)?;
            }
            Event::Rename { from, to } => {
                let a = self.resolve(&from)?;
                let b = self.resolve(&to)?;
                if a.shared || b.shared {
                    return Err(no(Some(Code::NoPerm), "only the owner renames folders"));
                }
                self.app
                    .store
                    .rename_mailbox(&a.owner, &a.name, &b.name)
                    .await
                    .map_err(store_failure)?;
                self.core.ok().map_err(e)?;
            }
            Event::Subscribe { mailbox } => self.subscribe(&mailbox, true).await?,
            Event::Unsubscribe { mailbox } => self.subscribe(&mailbox, false).await?,
            Event::List {
                reference,
                patterns,
                select,
                ret,
                lsub,
            } => {
                let items = self.list_candidates().await?;
                let subscribed_only = lsub || select.subscribed;
                for it in items {
                    if !patterns
                        .iter()
                        .any(|p| list_matches(&reference, p, &it.name, Some('/')))
                    {
                        continue;
                    }
                    if subscribed_only && !it.subscribed {
                        continue;
                    }
                    if select.special_use
                        && !it.attrs.iter().any(|a| {
                            matches!(
                                a,
                                ListAttr::Drafts
                                    | ListAttr::Sent
                                    | ListAttr::Trash
                                    | ListAttr::Junk
                                    | ListAttr::Archive
                                    | ListAttr::All
                                    | ListAttr::Flagged
                            )
                        })
                    {
                        continue;
                    }
                    let mut attrs = it.attrs.clone();
                    if (ret.subscribed || select.subscribed) && it.subscribed && !lsub {
                        attrs.push(ListAttr::Subscribed);
                    }
                    let Ok(mb) = Mailbox::new(it.name.clone()) else {
                        continue;
                    };
                    self.core
                        .list_item(ListItem {
                            attributes: attrs,
                            delimiter: Some('/'),
                            mailbox: mb.clone(),
                            child_subscribed: false,
                        })
                        .map_err(e)?;
                    if let (Some(items), Some(id)) = (&ret.status, it.selectable)
                        && let Ok(st) = self.app.store.status(id).await
                    {
                        self.core
                            .list_status(mb, status_values(items, &st))
                            .map_err(e)?;
                    }
                }
                self.core.ok().map_err(e)?;
            }
            Event::Status { mailbox, items } => {
                let r = self.resolve(&mailbox)?;
                let (id, rights) = self.open(&r).await?;
                if !rights.contains(Rights::READ) {
                    return Err(no(Some(Code::NoPerm), "you may not read this mailbox"));
                }
                let st = self.app.store.status(id).await.map_err(store_failure)?;
                self.core
                    .status_ok(mailbox, status_values(&items, &st))
                    .map_err(e)?;
            }
            Event::AppendStart {
                mailbox,
                flags,
                date,
                index,
                ..
            } => {
                if index == 0 {
                    let r = match self.resolve(&mailbox) {
                        Ok(r) => r,
                        Err(Failure::No(c, t)) => {
                            self.core.append_reject(c, &t).map_err(e)?;
                            return Ok(());
                        }
                    };
                    let target = match self.open(&r).await {
                        Ok((id, rights)) if rights.contains(Rights::INSERT) => {
                            match self.app.store.status(id).await {
                                Ok(st) => Some((id, st.uid_validity.get())),
                                Err(_) => None,
                            }
                        }
                        Ok(_) => {
                            self.core
                                .append_reject(Some(Code::NoPerm), "you may not add messages here")
                                .map_err(e)?;
                            return Ok(());
                        }
                        Err(_) => None,
                    };
                    let Some(target) = target else {
                        self.core
                            .append_reject(Some(Code::TryCreate), "no such mailbox")
                            .map_err(e)?;
                        return Ok(());
                    };
                    self.append = Some(Append {
                        target: Some(target),
                        ..Append::default()
                    });
                }
                let Some(a) = self.append.as_mut() else {
                    self.core
                        .append_reject(Some(Code::ServerBug), "append state lost")
                        .map_err(e)?;
                    return Ok(());
                };
                if let Some(cur) = a.current.take() {
                    a.messages.push(cur);
                }
                let when = date.as_ref().map(unix_of).unwrap_or_else(unix_now);
                a.current = Some((Vec::new(), from_imap_flags(&flags), when));
                self.core.append_accept().map_err(e)?;
            }
            Event::AppendComplete => {
                let Some(mut a) = self.append.take() else {
                    return Err(no(Some(Code::ServerBug), "append state lost"));
                };
                if let Some(cur) = a.current.take() {
                    a.messages.push(cur);
                }
                let Some((id, validity)) = a.target else {
                    return Err(no(Some(Code::TryCreate), "no such mailbox"));
                };
                let mut uids = Vec::new();
                for (raw, flags, when) in a.messages {
                    // Durable before the OK (mailstore commits before returning).
                    let r = self
                        .app
                        .store
                        .append(id, Bytes::from(raw), flags, when)
                        .await
                        .map_err(store_failure)?;
                    uids.push(r.uid.get());
                }
                self.core.append_ok(validity, &uids).map_err(e)?;
            }
            Event::Poll => {
                self.apply_updates();
                self.core.ok().map_err(e)?;
            }
            Event::Close { expunge } => {
                if let Some(sel) = self.selected.take()
                    && expunge
                    && sel.writable
                    && sel.rights.contains(Rights::EXPUNGE)
                {
                    let _ = self.app.store.expunge(sel.id, None).await;
                }
                self.core.ok().map_err(e)?;
            }
            Event::Expunge { uids } => {
                let sel = self.sel()?;
                if !sel.writable || !sel.rights.contains(Rights::EXPUNGE) {
                    return Err(no(Some(Code::NoPerm), "you may not expunge messages here"));
                }
                let id = sel.id;
                let list: Option<Vec<Uid>> =
                    uids.map(|v| v.into_iter().filter_map(Uid::new).collect());
                let gone = self
                    .app
                    .store
                    .expunge(id, list.as_deref())
                    .await
                    .map_err(store_failure)?;
                if let Some(sel) = self.selected.as_mut() {
                    for u in gone {
                        if sel.known.remove(&u.get()).is_some() {
                            self.core.message_expunged(u.get()).map_err(e)?;
                        }
                    }
                }
                self.core.ok().map_err(e)?;
            }
            Event::Search { criteria, .. } => {
                let id = self.sel()?.id;
                let snap = self.app.store.select(id).await.map_err(store_failure)?;
                let max_uid = snap.messages.last().map(|m| m.uid.get()).unwrap_or(0);
                // CONDSTORE: the MODSEQ of a SEARCH result only when the criteria used MODSEQ.
                let uses_modseq = uses_modseq(&criteria);
                let hits: Vec<u32> = match crate::search::translate(&criteria, max_uid) {
                    Some(q) => self
                        .app
                        .store
                        .search(id, &q)
                        .await
                        .map_err(store_failure)?
                        .into_iter()
                        .map(|u| u.get())
                        .collect(),
                    None => self.search_here(id, &snap, &criteria).await?,
                };
                let top_modseq = snap
                    .messages
                    .iter()
                    .filter(|m| hits.binary_search(&m.uid.get()).is_ok())
                    .map(|m| m.modseq.0)
                    .max()
                    .unwrap_or(0);
                self.core
                    .search_result(&hits, uses_modseq.then_some(top_modseq))
                    .map_err(e)?;
            }
            Event::Fetch { uids, attrs, .. } => self.fetch(uids, attrs).await?,
            Event::Store {
                uids,
                action,
                flags,
                unchanged_since,
            } => {
                let sel = self.sel()?;
                let need_seen = flags.contains(&Flag::Seen) || action == StoreAction::Replace;
                let need_del = flags.contains(&Flag::Deleted) || action == StoreAction::Replace;
                let need_w = flags
                    .iter()
                    .any(|f| !matches!(f, Flag::Seen | Flag::Deleted))
                    || action == StoreAction::Replace;
                if !sel.writable
                    || (need_seen && !sel.rights.contains(Rights::WRITE_SEEN))
                    || (need_del && !sel.rights.contains(Rights::DELETE_MESSAGES))
                    || (need_w && !sel.rights.contains(Rights::WRITE))
                {
                    return Err(no(
                        Some(Code::NoPerm),
                        "you may not change these flags in this mailbox",
                    ));
                }
                let id = sel.id;
                let op = match action {
                    StoreAction::Add => FlagOp::Add,
                    StoreAction::Remove => FlagOp::Remove,
                    StoreAction::Replace => FlagOp::Replace,
                };
                let list: Vec<Uid> = uids.iter().copied().filter_map(Uid::new).collect();
                let res = self
                    .app
                    .store
                    .store_flags(
                        id,
                        &list,
                        op,
                        &from_imap_flags(&flags),
                        unchanged_since.map(mailstore::ModSeq),
                    )
                    .await
                    .map_err(store_failure)?;
                for m in &res.updated {
                    if let Some(sel) = self.selected.as_mut() {
                        sel.known.insert(m.uid.get(), m.flags.clone());
                    }
                    self.core
                        .store_item(m.uid.get(), &to_imap_flags(&m.flags), Some(m.modseq.0))
                        .map_err(e)?;
                }
                let modified: Vec<u32> = res.modified.iter().map(|u| u.get()).collect();
                self.core.store_ok(&modified).map_err(e)?;
            }
            Event::Copy { uids, mailbox } => {
                let c = self.copy_or_move(uids, &mailbox, false).await?;
                self.core.copy_ok(c).map_err(e)?;
            }
            Event::Move { uids, mailbox } => {
                let c = self.copy_or_move(uids, &mailbox, true).await?;
                if let (Some(c), Some(sel)) = (&c, self.selected.as_mut()) {
                    for u in &c.source {
                        sel.known.remove(u);
                    }
                }
                self.core.move_ok(c).map_err(e)?;
            }
            Event::GetAcl { mailbox } => {
                let r = self.resolve(&mailbox)?;
                if r.shared {
                    return Err(no(Some(Code::NoPerm), "only the owner sees the ACL"));
                }
                let acl = self
                    .app
                    .store
                    .acl(&r.owner, &r.name)
                    .await
                    .map_err(store_failure)?;
                let mut entries = vec![(r.owner.as_str().to_string(), Rights::ALL.to_string())];
                entries.extend(
                    acl.into_iter()
                        .map(|(who, rights)| (who.as_str().to_string(), rights.to_string())),
                );
                self.core.acl_reply(entries).map_err(e)?;
            }
            Event::MyRights { mailbox } => {
                let r = self.resolve(&mailbox)?;
                let (_, rights) = self.open(&r).await?;
                self.core.myrights_reply(rights.to_string()).map_err(e)?;
            }
            Event::SetAcl { .. } | Event::DeleteAcl { .. } => {
                return Err(no(
                    Some(Code::NoPerm),
                    "sharing is managed by the administrator (mailserver share grant)",
                ));
            }
            Event::ListRights { .. } => {
                self.core
                    .listrights_reply(
                        String::new(),
                        vec!["lr".into(), "lrp".into(), "lrswipkxte".into()],
                    )
                    .map_err(e)?;
            }
            Event::GetQuota { root } => {
                let me = self.me()?.address.clone();
                let q = self.app.store.quota(&me).await.map_err(store_failure)?;
                self.core
                    .quota_reply(root, quota_resources(&q))
                    .map_err(e)?;
            }
            Event::GetQuotaRoot { .. } => {
                let me = self.me()?.address.clone();
                let q = self.app.store.quota(&me).await.map_err(store_failure)?;
                self.core
                    .quotaroot_reply(vec![(String::new(), quota_resources(&q))])
                    .map_err(e)?;
            }
            Event::SetQuota { .. } => {
                return Err(no(
                    Some(Code::NoPerm),
                    "quotas are set by the administrator (mailserver user set --quota)",
                ));
            }
            _ => return Err(no(None, "not supported")),
        }
        Ok(())
    }

    /// SEARCH evaluated by the server (keys the store cannot answer, such as HEADER on decoded
    /// text): reads every message the criteria need.
    async fn search_here(
        &self,
        id: MailboxId,
        snap: &mailstore::SelectedMailbox,
        criteria: &imap_core::syntax::SearchKey,
    ) -> R<Vec<u32>> {
        let uids: Vec<Uid> = snap.messages.iter().map(|m| m.uid).collect();
        let infos = self
            .app
            .store
            .messages(id, &uids)
            .await
            .map_err(store_failure)?;
        let max_uid = uids.last().map(|u| u.get()).unwrap_or(0);
        let mut hits = Vec::new();
        for m in infos {
            let raw = if criteria.needs_content() {
                Some(
                    self.app
                        .store
                        .read_message(id, m.uid)
                        .await
                        .map_err(store_failure)?,
                )
            } else {
                None
            };
            let flags = to_imap_flags(&m.flags);
            let dt = imap_date(m.internal_date);
            let sm = SearchMessage {
                uid: m.uid.get(),
                max_uid,
                flags: &flags,
                recent: false,
                internal_date: dt.date(),
                size: m.size,
                modseq: m.modseq.0,
                raw: raw.as_deref(),
            };
            if criteria.matches(&sm) {
                hits.push(m.uid.get());
            }
        }
        Ok(hits)
    }

    fn sel(&self) -> R<&Selected> {
        self.selected
            .as_ref()
            .ok_or_else(|| no(None, "no mailbox selected"))
    }

    async fn subscribe(&mut self, mailbox: &Mailbox, on: bool) -> R<()> {
        let r = self.resolve(mailbox)?;
        if !r.shared {
            self.app
                .store
                .set_subscribed(&r.owner, &r.name, on)
                .await
                .map_err(store_failure)?;
        }
        self.core
            .ok()
            .map_err(|x| no(Some(Code::ServerBug), x.to_string()))
    }

    async fn list_candidates(&self) -> R<Vec<Listed>> {
        let me = self.me()?.address.clone();
        let mut out = Vec::new();
        for m in self
            .app
            .store
            .list_mailboxes(&me)
            .await
            .map_err(store_failure)?
        {
            let mut attrs = vec![if m.has_children {
                ListAttr::HasChildren
            } else {
                ListAttr::HasNoChildren
            }];
            if let Some(su) = m.special_use {
                attrs.push(special_attr(su));
            }
            out.push(Listed {
                name: m.name.as_str().to_string(),
                attrs,
                subscribed: m.subscribed,
                selectable: Some(m.id),
            });
        }
        let shared = self
            .app
            .store
            .shared_with(&me)
            .await
            .map_err(store_failure)?;
        if !shared.is_empty() {
            out.push(Listed {
                name: OTHER.trim_end_matches('/').to_string(),
                attrs: vec![ListAttr::NoSelect, ListAttr::HasChildren],
                subscribed: false,
                selectable: None,
            });
        }
        let mut owners: Vec<String> = Vec::new();
        for s in &shared {
            let owner = s.owner.as_str().to_string();
            if !owners.contains(&owner) {
                out.push(Listed {
                    name: format!("{OTHER}{owner}"),
                    attrs: vec![ListAttr::NoSelect, ListAttr::HasChildren],
                    subscribed: false,
                    selectable: None,
                });
                owners.push(owner.clone());
            }
            out.push(Listed {
                name: format!("{OTHER}{owner}/{}", s.name.as_str()),
                attrs: vec![ListAttr::HasNoChildren],
                subscribed: true,
                selectable: s.rights.contains(Rights::READ).then_some(s.id),
            });
        }
        Ok(out)
    }

    async fn copy_or_move(
        &mut self,
        uids: Vec<u32>,
        mailbox: &Mailbox,
        mv: bool,
    ) -> R<Option<CopyUid>> {
        let sel = self.sel()?;
        let from = sel.id;
        if mv && (!sel.writable || !sel.rights.contains(Rights::EXPUNGE)) {
            return Err(no(
                Some(Code::NoPerm),
                "you may not move messages out of this mailbox",
            ));
        }
        let r = self.resolve(mailbox)?;
        let (to, rights) = self
            .open(&r)
            .await
            .map_err(|_| no(Some(Code::TryCreate), "no such mailbox"))?;
        if !rights.contains(Rights::INSERT) {
            return Err(no(Some(Code::NoPerm), "you may not add messages there"));
        }
        let list: Vec<Uid> = uids.iter().copied().filter_map(Uid::new).collect();
        let res = if mv {
            self.app.store.move_messages(from, &list, to).await
        } else {
            self.app.store.copy(from, &list, to).await
        }
        .map_err(store_failure)?;
        if res.map.is_empty() {
            return Ok(None);
        }
        Ok(Some(CopyUid {
            uid_validity: res.dest_uid_validity.get(),
            source: res.map.iter().map(|(a, _)| a.get()).collect(),
            dest: res.map.iter().map(|(_, b)| b.get()).collect(),
        }))
    }

    async fn fetch(&mut self, uids: Vec<u32>, attrs: Vec<FetchAttr>) -> R<()> {
        let e = |x: imap_core::Error| no(Some(Code::ServerBug), x.to_string());
        let sel = self.sel()?;
        let id = sel.id;
        let may_seen = sel.writable && sel.rights.contains(Rights::WRITE_SEEN);
        let list: Vec<Uid> = uids.iter().copied().filter_map(Uid::new).collect();
        let mut newly_seen: Vec<u32> = Vec::new();
        if may_seen && attrs.iter().any(FetchAttr::sets_seen) {
            let unseen: Vec<Uid> = list
                .iter()
                .copied()
                .filter(|u| sel.known.get(&u.get()).is_some_and(|f| !f.is_seen()))
                .collect();
            if !unseen.is_empty() {
                let seen = mailstore::Flags::from_flags([mailstore::Flag::Seen]);
                let res = self
                    .app
                    .store
                    .store_flags(id, &unseen, FlagOp::Add, &seen, None)
                    .await
                    .map_err(store_failure)?;
                if let Some(sel) = self.selected.as_mut() {
                    for m in res.updated {
                        sel.known.insert(m.uid.get(), m.flags);
                        newly_seen.push(m.uid.get());
                    }
                }
            }
        }
        let infos = self
            .app
            .store
            .messages(id, &list)
            .await
            .map_err(store_failure)?;
        let needs_raw = attrs.iter().any(|a| {
            !matches!(
                a,
                FetchAttr::Flags
                    | FetchAttr::Uid
                    | FetchAttr::InternalDate
                    | FetchAttr::Rfc822Size
                    | FetchAttr::ModSeq
            )
        });
        for m in infos {
            let uid = m.uid.get();
            let raw: Option<Bytes> = if needs_raw {
                Some(
                    self.app
                        .store
                        .read_message(id, m.uid)
                        .await
                        .map_err(store_failure)?,
                )
            } else {
                None
            };
            let view = raw.as_deref().map(MessageView::parse);
            let flags = self
                .selected
                .as_ref()
                .and_then(|s| s.known.get(&uid).cloned())
                .unwrap_or_else(|| m.flags.clone());
            let flag_items: Vec<FlagFetch> = to_imap_flags(&flags)
                .into_iter()
                .map(FlagFetch::Flag)
                .collect();
            let mut items: Vec<FetchItem<'_>> = Vec::new();
            let mut has_flags = false;
            for a in &attrs {
                match a {
                    FetchAttr::Flags => {
                        has_flags = true;
                        items.push(FetchItem::Flags(flag_items.clone()));
                    }
                    FetchAttr::Uid => items.push(FetchItem::Uid(uid)),
                    FetchAttr::InternalDate => {
                        items.push(FetchItem::InternalDate(imap_date(m.internal_date)))
                    }
                    FetchAttr::Rfc822Size => {
                        items.push(FetchItem::Rfc822Size(m.size.min(u32::MAX as u64) as u32))
                    }
                    FetchAttr::ModSeq => items.push(FetchItem::ModSeq(m.modseq.0)),
                    FetchAttr::Envelope => {
                        if let Some(v) = &view {
                            items.push(FetchItem::Envelope(v.envelope().into()));
                        }
                    }
                    FetchAttr::BodyStructure => {
                        if let Some(v) = &view {
                            items.push(FetchItem::BodyStructure(v.body_structure(true).into()));
                        }
                    }
                    FetchAttr::Body => {
                        if let Some(v) = &view {
                            items.push(FetchItem::Body(v.body_structure(false).into()));
                        }
                    }
                    FetchAttr::BodySection {
                        section, partial, ..
                    } => {
                        let data = view
                            .as_ref()
                            .and_then(|v| v.section(section))
                            .map(|d| std::borrow::Cow::Owned(apply_partial(&d, *partial).to_vec()));
                        items.push(FetchItem::BodySection {
                            section: section.clone(),
                            origin: partial.map(|p| p.start),
                            data,
                        });
                    }
                    FetchAttr::Binary { part, partial, .. } => {
                        let s = imap_core::render::Section {
                            part: part.clone(),
                            text: None,
                        };
                        let data = view
                            .as_ref()
                            .and_then(|v| v.section(&s))
                            .map(|d| std::borrow::Cow::Owned(apply_partial(&d, *partial).to_vec()));
                        items.push(FetchItem::Binary {
                            part: part.clone(),
                            origin: partial.map(|p| p.start),
                            data,
                        });
                    }
                    FetchAttr::BinarySize { part } => {
                        let s = imap_core::render::Section {
                            part: part.clone(),
                            text: None,
                        };
                        let size = view
                            .as_ref()
                            .and_then(|v| v.section(&s))
                            .map(|d| d.len() as u32)
                            .unwrap_or(0);
                        items.push(FetchItem::BinarySize {
                            part: part.clone(),
                            size,
                        });
                    }
                    FetchAttr::Rfc822 => {
                        items.push(FetchItem::Rfc822(raw.as_deref().map(|r| r.to_vec().into())))
                    }
                    FetchAttr::Rfc822Header => {
                        let s = imap_core::render::Section {
                            part: vec![],
                            text: Some(imap_core::render::SectionText::Header),
                        };
                        items.push(FetchItem::Rfc822Header(
                            view.as_ref()
                                .and_then(|v| v.section(&s))
                                .map(|d| d.into_owned().into()),
                        ));
                    }
                    FetchAttr::Rfc822Text => {
                        let s = imap_core::render::Section {
                            part: vec![],
                            text: Some(imap_core::render::SectionText::Text),
                        };
                        items.push(FetchItem::Rfc822Text(
                            view.as_ref()
                                .and_then(|v| v.section(&s))
                                .map(|d| d.into_owned().into()),
                        ));
                    }
                }
            }
            if !has_flags && newly_seen.contains(&uid) {
                items.push(FetchItem::Flags(flag_items.clone()));
            }
            self.core.fetch_item(uid, &items).map_err(e)?;
        }
        self.core.ok().map_err(e)
    }
}

fn uses_modseq(k: &imap_core::syntax::SearchKey) -> bool {
    use imap_core::syntax::SearchKey as K;
    match k {
        K::ModSeq(_) => true,
        K::And(v) => v.iter().any(uses_modseq),
        K::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        K::Not(a) => uses_modseq(a),
        _ => false,
    }
}

fn status_values(items: &[StatusItem], st: &mailstore::MailboxStatus) -> Vec<StatusValue> {
    items
        .iter()
        .map(|&item| StatusValue {
            item,
            value: match item {
                StatusItem::Messages => u64::from(st.messages),
                StatusItem::Recent => 0,
                StatusItem::UidNext => u64::from(st.uid_next.get()),
                StatusItem::UidValidity => u64::from(st.uid_validity.get()),
                StatusItem::Unseen => u64::from(st.unseen),
                StatusItem::Deleted => 0,
                StatusItem::Size => st.size,
                StatusItem::HighestModSeq => st.highest_modseq.0,
            },
        })
        .collect()
}

fn quota_resources(q: &mailstore::QuotaUsage) -> Vec<QuotaResource> {
    let mut v = Vec::new();
    if let (Some(max), Ok(name)) = (q.quota.max_bytes, Atom::new("STORAGE")) {
        v.push(QuotaResource {
            name,
            usage: q.used_bytes / 1024,
            limit: max / 1024,
        });
    }
    if let (Some(max), Ok(name)) = (q.quota.max_messages, Atom::new("MESSAGE")) {
        v.push(QuotaResource {
            name,
            usage: q.used_messages,
            limit: max,
        });
    }
    v
}

impl Session for ImapSession {
    fn feed(&mut self, data: &[u8]) {
        self.core.feed(data);
    }

    async fn process(&mut self, conn: &ConnInfo) -> Next {
        self.apply_updates();
        if self.needs_resync {
            self.resync().await;
        }
        while let Some(ev) = self.core.poll_event() {
            match self.answer(ev, conn).await {
                Ok(Some(Next::StartTls)) => return Next::StartTls,
                Ok(Some(Next::Close)) => return Next::Close,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "IMAP state error");
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

    async fn external(&mut self) {
        match self.selected.as_mut() {
            Some(sel) => match sel.sub.recv().await {
                Some(ev) => self.pending_updates.push(ev),
                None => std::future::pending::<()>().await,
            },
            None => std::future::pending::<()>().await,
        }
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
        self.core.bye("idle for too long, closing");
    }

    fn shutdown(&mut self) {
        self.core.bye("server shutting down");
    }
}
