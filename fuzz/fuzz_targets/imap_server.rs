#![no_main]
//! The IMAP server session driven by arbitrary bytes, read splits and host decisions:
//! never panics; every answer that fits the event succeeds and a wrong one is refused;
//! every byte the server writes parses as IMAP responses; APPEND data never exceeds the
//! announced size; the session ends after BYE.
use imap_core::client::ResponseReader;
use imap_core::server::{Config, CopyUid, Event, SelectInfo, Server, SessionState};
use imap_core::syntax::{
    FetchAttr, FetchItem, Flag, FlagFetch, ListAttr, ListItem, Mailbox, StatusValue,
};
use libfuzzer_sys::fuzz_target;

/// An answer that fits the event succeeds, unless the session has been closed meanwhile
/// (BYE for too much pipelined input), in which case it is refused, never a panic.
macro_rules! ans {
    ($s:ident, $e:expr) => {{
        let r = $e;
        assert!(r.is_ok() || $s.is_closed(), "{r:?}");
    }};
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (head, input) = data.split_at(3);
    let cfg = Config {
        tls: head[0] & 1 != 0,
        login_disabled_without_tls: head[0] & 2 != 0,
        max_line_length: 64 + usize::from(head[1]) * 4,
        max_literal_size: 16 + u64::from(head[2] & 0x3f) * 8,
        max_append_size: 32 + u64::from(head[2] >> 6) * 100,
        max_pipelined: 2 + usize::from(head[0] >> 4),
        ..Config::default()
    };
    let chunk = 1 + usize::from(head[0] >> 2 & 3) * 13;
    let mut s = Server::new(cfg);
    let mut reader = ResponseReader::new(1 << 20);
    let mut uids: Vec<u32> = vec![3, 5, 8, 13];
    let mut append_left: u64 = 0;
    let mut decisions = 0usize;
    for piece in input.chunks(chunk) {
        let was_closed = s.is_closed();
        s.feed(piece);
        if was_closed {
            assert!(s.poll_event().is_none());
        }
        while let Some(ev) = s.poll_event() {
            decisions += 1;
            let yes = (usize::from(piece[0]) + decisions) % 4 != 0;
            match ev {
                Event::Login { .. } => {
                    assert!(s.ok().is_err() && s.select_ok(SelectInfo::default()).is_err());
                    if yes {
                        ans!(s, s.auth_accept())
                    } else {
                        ans!(s, s.auth_reject(None, "no"))
                    }
                }
                Event::Select { .. } => {
                    if yes {
                        ans!(
                            s,
                            s.select_ok(SelectInfo {
                                uids: uids.clone(),
                                uid_validity: 1,
                                uid_next: uids.last().map_or(100, |&u| u.max(99) + 1),
                                flags: vec![Flag::Seen],
                                ..SelectInfo::default()
                            })
                        )
                    } else {
                        ans!(s, s.no(None, "no"))
                    }
                }
                Event::AppendStart { size, .. } => {
                    assert!(s.ok().is_err());
                    if yes {
                        append_left = size;
                        ans!(s, s.append_accept())
                    } else {
                        ans!(s, s.append_reject(None, "no"))
                    }
                }
                Event::AppendData(d) => {
                    assert!(!d.is_empty() && d.len() as u64 <= append_left);
                    append_left -= d.len() as u64;
                }
                Event::AppendComplete => {
                    assert_eq!(append_left, 0);
                    ans!(s, s.append_ok(1, &[100]))
                }
                Event::Fetch {
                    uids: req, attrs, ..
                } => {
                    for u in req {
                        let mut items = vec![FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)])];
                        if attrs
                            .iter()
                            .any(|a| matches!(a, FetchAttr::BodySection { .. }))
                        {
                            items.push(FetchItem::BodySection {
                                section: Default::default(),
                                origin: None,
                                data: Some(b"a\r\nb"[..].into()),
                            });
                        }
                        ans!(s, s.fetch_item(u, &items));
                    }
                    ans!(s, s.ok())
                }
                Event::Store { uids: req, .. } => {
                    for u in req {
                        ans!(s, s.store_item(u, &[Flag::Flagged], Some(7)));
                    }
                    ans!(s, s.store_ok(&[]))
                }
                Event::Search { .. } => ans!(s, s.search_result(&uids, Some(3))),
                Event::Expunge { .. } | Event::Poll => {
                    if yes && uids.len() > 1 {
                        let u = uids.remove(1);
                        ans!(s, s.message_expunged(u));
                    }
                    if !yes {
                        let next = uids.last().copied().unwrap_or(0).max(100) + 1;
                        uids.push(next);
                        ans!(s, s.new_messages(&[next]));
                    }
                    ans!(s, s.ok())
                }
                Event::Copy { uids: req, .. } => {
                    let dest = (0..req.len() as u32).map(|k| 500 + k).collect();
                    ans!(
                        s,
                        s.copy_ok(Some(CopyUid {
                            uid_validity: 2,
                            source: req,
                            dest,
                        }))
                    )
                }
                Event::Move { uids: req, .. } => {
                    uids.retain(|u| !req.contains(u));
                    ans!(s, s.move_ok(None))
                }
                Event::List { .. } => {
                    ans!(
                        s,
                        s.list_item(ListItem {
                            attributes: vec![ListAttr::HasNoChildren],
                            delimiter: Some('/'),
                            mailbox: Mailbox::new("已发送").unwrap(),
                            child_subscribed: false,
                        })
                    );
                    ans!(s, s.ok())
                }
                Event::Status { mailbox, items } => {
                    let vals = items
                        .into_iter()
                        .map(|item| StatusValue { item, value: 1 })
                        .collect();
                    ans!(s, s.status_ok(mailbox, vals))
                }
                Event::Id(_) => ans!(s, s.id_reply(None)),
                Event::Idle => {
                    ans!(s, s.idle_accept());
                    if yes && s.state() == SessionState::Selected {
                        if let Some(&u) = uids.first() {
                            ans!(s, s.flags_changed(u, &[Flag::Seen], None));
                        }
                    }
                }
                Event::GetAcl { .. } => ans!(s, s.acl_reply(vec![("a".into(), "lr".into())])),
                Event::ListRights { .. } => ans!(s, s.listrights_reply(String::new(), vec![])),
                Event::MyRights { .. } => ans!(s, s.myrights_reply("lr".into())),
                Event::GetQuota { root } => ans!(s, s.quota_reply(root, vec![])),
                Event::GetQuotaRoot { .. } => ans!(s, s.quotaroot_reply(vec![])),
                Event::StartTls => ans!(s, s.tls_established()),
                Event::Close { .. } => {
                    ans!(s, s.ok());
                }
                Event::AppendAborted => append_left = 0,
                Event::IdleDone | Event::Logout => {}
                _ => {
                    if yes {
                        ans!(s, s.ok())
                    } else {
                        ans!(s, s.no(None, "no"))
                    }
                }
            }
        }
        if s.utf8_enabled() {
            reader.utf8 = true;
        }
        let out = s.transmit().to_vec();
        s.consume(out.len());
        reader.feed(&out);
        while let Some(r) = reader.next_response() {
            if let Err(e) = r {
                panic!("server wrote an unparsable response: {e}");
            }
        }
    }
});
