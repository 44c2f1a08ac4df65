#![no_main]
//! The IMAP server session driven by arbitrary bytes, read splits and host decisions:
//! never panics; every answer that fits the event succeeds and a wrong one is refused;
//! every byte the server writes parses as IMAP responses; APPEND data never exceeds the
//! announced size; the session ends after BYE.
use imap_core::client::ResponseReader;
use imap_core::server::{Config, CopyUid, Event, SelectInfo, Server};
use imap_core::syntax::{
    FetchAttr, FetchItem, Flag, FlagFetch, ListAttr, ListItem, Mailbox, StatusValue,
};
use libfuzzer_sys::fuzz_target;

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
                        s.auth_accept().unwrap()
                    } else {
                        s.auth_reject(None, "no").unwrap()
                    }
                }
                Event::Select { .. } => {
                    if yes {
                        s.select_ok(SelectInfo {
                            uids: uids.clone(),
                            uid_validity: 1,
                            uid_next: 100,
                            flags: vec![Flag::Seen],
                            ..SelectInfo::default()
                        })
                        .unwrap()
                    } else {
                        s.no(None, "no").unwrap()
                    }
                }
                Event::AppendStart { size, .. } => {
                    assert!(s.ok().is_err());
                    if yes {
                        append_left = size;
                        s.append_accept().unwrap()
                    } else {
                        s.append_reject(None, "no").unwrap()
                    }
                }
                Event::AppendData(d) => {
                    assert!(!d.is_empty() && d.len() as u64 <= append_left);
                    append_left -= d.len() as u64;
                }
                Event::AppendComplete => {
                    assert_eq!(append_left, 0);
                    s.append_ok(1, &[100]).unwrap()
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
                        s.fetch_item(u, &items).unwrap();
                    }
                    s.ok().unwrap()
                }
                Event::Store { uids: req, .. } => {
                    for u in req {
                        s.store_item(u, &[Flag::Flagged], Some(7)).unwrap();
                    }
                    s.store_ok(&[]).unwrap()
                }
                Event::Search { .. } => s.search_result(&uids, Some(3)).unwrap(),
                Event::Expunge { .. } | Event::Poll => {
                    if yes && uids.len() > 1 {
                        let u = uids.remove(1);
                        s.message_expunged(u).unwrap();
                    }
                    if !yes {
                        let next = uids.last().copied().unwrap_or(0).max(100) + 1;
                        uids.push(next);
                        s.new_messages(&[next]).unwrap();
                    }
                    s.ok().unwrap()
                }
                Event::Copy { uids: req, .. } => {
                    let dest = (0..req.len() as u32).map(|k| 500 + k).collect();
                    s.copy_ok(Some(CopyUid {
                        uid_validity: 2,
                        source: req,
                        dest,
                    }))
                    .unwrap()
                }
                Event::Move { uids: req, .. } => {
                    uids.retain(|u| !req.contains(u));
                    s.move_ok(None).unwrap()
                }
                Event::List { .. } => {
                    s.list_item(ListItem {
                        attributes: vec![ListAttr::HasNoChildren],
                        delimiter: Some('/'),
                        mailbox: Mailbox::new("已发送").unwrap(),
                        child_subscribed: false,
                    })
                    .unwrap();
                    s.ok().unwrap()
                }
                Event::Status { mailbox, items } => s
                    .status_ok(
                        mailbox,
                        items
                            .into_iter()
                            .map(|item| StatusValue { item, value: 1 })
                            .collect(),
                    )
                    .unwrap(),
                Event::Id(_) => s.id_reply(None).unwrap(),
                Event::Idle => {
                    s.idle_accept().unwrap();
                    if yes {
                        if let Some(&u) = uids.first() {
                            s.flags_changed(u, &[Flag::Seen], None).unwrap();
                        }
                    }
                }
                Event::GetAcl { .. } => s.acl_reply(vec![("a".into(), "lr".into())]).unwrap(),
                Event::ListRights { .. } => s.listrights_reply(String::new(), vec![]).unwrap(),
                Event::MyRights { .. } => s.myrights_reply("lr".into()).unwrap(),
                Event::GetQuota { root } => s.quota_reply(root, vec![]).unwrap(),
                Event::GetQuotaRoot { .. } => s.quotaroot_reply(vec![]).unwrap(),
                Event::StartTls => s.tls_established().unwrap(),
                Event::Close { .. } => {
                    s.ok().unwrap();
                }
                Event::AppendAborted => append_left = 0,
                Event::IdleDone | Event::Logout => {}
                _ => {
                    if yes {
                        s.ok().unwrap()
                    } else {
                        s.no(None, "no").unwrap()
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
