//! An in-memory driver: a fake host answering every event deterministically.
#![allow(dead_code)]

use imap_core::Config;
use imap_core::server::{CopyUid, Event, SelectInfo, Server};
use imap_core::syntax::Atom;
use imap_core::syntax::{
    Date, DateTime, FetchAttr, FetchItem, Flag, FlagFetch, FlagPerm, ListAttr, ListItem, Mailbox,
    QuotaResource, SearchMessage, StatusValue, StoreAction,
};

/// One message of the fake mailbox.
#[derive(Debug, Clone)]
pub struct Msg {
    pub uid: u32,
    pub flags: Vec<Flag>,
    pub size: u32,
    pub date: Date,
}

/// The fake host: one INBOX with messages, a few other mailboxes.
#[derive(Debug)]
pub struct Host {
    pub msgs: Vec<Msg>,
    pub next_uid: u32,
    pub events: Vec<String>,
    pub appended: Vec<Vec<u8>>,
    current: Vec<u8>,
    append_uids: Vec<u32>,
}

impl Default for Host {
    fn default() -> Self {
        let d = Date::new(2024, 3, 1).unwrap();
        Host {
            msgs: (1..=5)
                .map(|k| Msg {
                    uid: k * 10,
                    flags: if k % 2 == 0 { vec![Flag::Seen] } else { vec![] },
                    size: 100 * k,
                    date: d,
                })
                .collect(),
            next_uid: 60,
            events: Vec::new(),
            appended: Vec::new(),
            current: Vec::new(),
            append_uids: Vec::new(),
        }
    }
}

pub fn config() -> Config {
    Config {
        tls: true,
        ..Config::default()
    }
}

impl Host {
    fn msg(&self, uid: u32) -> Option<&Msg> {
        self.msgs.iter().find(|m| m.uid == uid)
    }

    /// Answers every queued event.
    pub fn drive(&mut self, s: &mut Server) {
        while let Some(ev) = s.poll_event() {
            self.events.push(format!("{ev:?}"));
            self.answer(s, ev);
        }
    }

    fn answer(&mut self, s: &mut Server, ev: Event) {
        match ev {
            Event::Login { password, .. } => {
                if password.expose() == b"secret" {
                    s.auth_accept().unwrap();
                } else {
                    s.auth_reject(None, "Invalid credentials").unwrap();
                }
            }
            Event::Id(_) => s
                .id_reply(Some(vec![("name".into(), Some("imap-core".into()))]))
                .unwrap(),
            Event::Select { mailbox, .. } => {
                if mailbox.is_inbox() {
                    s.select_ok(SelectInfo {
                        flags: vec![
                            Flag::Answered,
                            Flag::Flagged,
                            Flag::Deleted,
                            Flag::Seen,
                            Flag::Draft,
                        ],
                        permanent_flags: vec![
                            FlagPerm::Flag(Flag::Deleted),
                            FlagPerm::Flag(Flag::Seen),
                            FlagPerm::Wildcard,
                        ],
                        uids: self.msgs.iter().map(|m| m.uid).collect(),
                        uid_validity: 3857529045,
                        uid_next: self.next_uid,
                        highest_modseq: Some(100),
                        ..SelectInfo::default()
                    })
                    .unwrap()
                } else {
                    s.no(None, "No such mailbox").unwrap()
                }
            }
            Event::List { lsub, .. } => {
                for (name, attrs) in [
                    ("INBOX", vec![ListAttr::HasNoChildren]),
                    ("已发送", vec![ListAttr::Sent, ListAttr::HasNoChildren]),
                ] {
                    s.list_item(ListItem {
                        attributes: if lsub { vec![] } else { attrs },
                        delimiter: Some('/'),
                        mailbox: Mailbox::new(name).unwrap(),
                        child_subscribed: false,
                    })
                    .unwrap();
                }
                s.ok().unwrap();
            }
            Event::Status { mailbox, items } => {
                let vals = items
                    .iter()
                    .map(|&item| StatusValue { item, value: 5 })
                    .collect();
                s.status_ok(mailbox, vals).unwrap();
            }
            Event::AppendStart { mailbox, size, .. } => {
                if mailbox.is_inbox() && size < 100_000 {
                    s.append_accept().unwrap();
                } else {
                    s.append_reject(Some(imap_core::syntax::Code::TryCreate), "No such mailbox")
                        .unwrap();
                }
            }
            Event::AppendData(chunk) => {
                self.current.extend_from_slice(&chunk);
                // A message is complete when its size is reached; the driver keeps them in order.
            }
            Event::AppendComplete => {
                self.appended.push(std::mem::take(&mut self.current));
                let uid = self.next_uid;
                self.next_uid += 1;
                self.append_uids.push(uid);
                let uids = std::mem::take(&mut self.append_uids);
                s.append_ok(38505, &uids).unwrap();
            }
            Event::AppendAborted => self.current.clear(),
            Event::Fetch { uids, attrs, .. } => {
                for uid in uids {
                    let m = self.msg(uid).cloned().unwrap();
                    let mut items = Vec::new();
                    for a in &attrs {
                        match a {
                            FetchAttr::Flags => items.push(FetchItem::Flags(
                                m.flags.iter().cloned().map(FlagFetch::Flag).collect(),
                            )),
                            FetchAttr::Rfc822Size => items.push(FetchItem::Rfc822Size(m.size)),
                            FetchAttr::Uid => items.push(FetchItem::Uid(uid)),
                            FetchAttr::InternalDate => items.push(FetchItem::InternalDate(
                                DateTime::new(m.date, 12, 0, 0, 480).unwrap(),
                            )),
                            FetchAttr::BodySection { section, .. } => {
                                items.push(FetchItem::BodySection {
                                    section: section.clone(),
                                    origin: None,
                                    data: Some(
                                        format!("Subject: {uid}\r\n\r\nbody\r\n")
                                            .into_bytes()
                                            .into(),
                                    ),
                                })
                            }
                            _ => {}
                        }
                    }
                    s.fetch_item(uid, &items).unwrap();
                }
                s.ok().unwrap();
            }
            Event::Store {
                uids,
                action,
                flags,
                ..
            } => {
                for uid in uids {
                    let m = self.msgs.iter_mut().find(|m| m.uid == uid).unwrap();
                    match action {
                        StoreAction::Replace => m.flags = flags.clone(),
                        StoreAction::Add => {
                            for f in &flags {
                                if !m.flags.contains(f) {
                                    m.flags.push(f.clone());
                                }
                            }
                        }
                        StoreAction::Remove => m.flags.retain(|f| !flags.contains(f)),
                    }
                    let fl = m.flags.clone();
                    s.store_item(uid, &fl, Some(101)).unwrap();
                }
                s.store_ok(&[]).unwrap();
            }
            Event::Search { criteria, .. } => {
                let max_uid = self.msgs.last().map(|m| m.uid).unwrap_or(0);
                let found: Vec<u32> = self
                    .msgs
                    .iter()
                    .filter(|m| {
                        criteria.matches(&SearchMessage {
                            uid: m.uid,
                            max_uid,
                            flags: &m.flags,
                            recent: false,
                            internal_date: m.date,
                            size: m.size as u64,
                            modseq: 1,
                            raw: None,
                        })
                    })
                    .map(|m| m.uid)
                    .collect();
                s.search_result(&found, None).unwrap();
            }
            Event::Expunge { uids } => {
                let gone: Vec<u32> = self
                    .msgs
                    .iter()
                    .filter(|m| {
                        m.flags.contains(&Flag::Deleted)
                            && uids.as_ref().is_none_or(|u| u.contains(&m.uid))
                    })
                    .map(|m| m.uid)
                    .collect();
                self.msgs.retain(|m| !gone.contains(&m.uid));
                for u in gone {
                    s.message_expunged(u).unwrap();
                }
                s.ok().unwrap();
            }
            Event::Copy { uids, .. } => {
                let dest: Vec<u32> = (0..uids.len() as u32).map(|k| 1000 + k).collect();
                s.copy_ok(Some(CopyUid {
                    uid_validity: 99,
                    source: uids,
                    dest,
                }))
                .unwrap();
            }
            Event::Move { uids, .. } => {
                self.msgs.retain(|m| !uids.contains(&m.uid));
                let dest: Vec<u32> = (0..uids.len() as u32).map(|k| 2000 + k).collect();
                s.move_ok(Some(CopyUid {
                    uid_validity: 99,
                    source: uids,
                    dest,
                }))
                .unwrap();
            }
            Event::Idle => s.idle_accept().unwrap(),
            Event::GetAcl { .. } => s
                .acl_reply(vec![(
                    "alice@example.edu.cn".into(),
                    "lrswipkxtecda".into(),
                )])
                .unwrap(),
            Event::ListRights { .. } => s
                .listrights_reply("".into(), vec!["l".into(), "r".into()])
                .unwrap(),
            Event::MyRights { .. } => s.myrights_reply("lrs".into()).unwrap(),
            Event::GetQuota { root } => s
                .quota_reply(
                    root,
                    vec![QuotaResource {
                        name: Atom::new("STORAGE").unwrap(),
                        usage: 10,
                        limit: 512,
                    }],
                )
                .unwrap(),
            Event::GetQuotaRoot { .. } => s
                .quotaroot_reply(vec![(
                    "".into(),
                    vec![QuotaResource {
                        name: Atom::new("STORAGE").unwrap(),
                        usage: 10,
                        limit: 512,
                    }],
                )])
                .unwrap(),
            Event::StartTls => s.tls_established().unwrap(),
            Event::IdleDone | Event::Logout => {}
            Event::Poll | Event::Close { .. } => s.ok().unwrap(),
            _ => s.ok().unwrap(),
        }
    }
}

/// Runs a client script fed in chunks of `chunk` bytes; returns (output, host).
pub fn run_chunked(cfg: Config, input: &[u8], chunk: usize) -> (String, Host) {
    let mut s = Server::new(cfg);
    let mut host = Host::default();
    let mut out = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        s.feed(part);
        host.drive(&mut s);
        let t = s.transmit().to_vec();
        s.consume(t.len());
        out.extend(t);
    }
    host.drive(&mut s);
    out.extend_from_slice(s.transmit());
    (String::from_utf8_lossy(&out).into_owned(), host)
}

/// Runs a script fed whole.
pub fn run(input: &str) -> String {
    run_chunked(config(), input.as_bytes(), usize::MAX).0
}

pub const LOGIN: &str = "a0 LOGIN alice@example.edu.cn secret\r\n";
