//! The conformance suite every backend runs (feature `conformance`).
//!
//! Each check takes a fresh, empty store and panics (like `assert!`) on the first deviation
//! from the behaviour documented on [`Store`]. Run them all with [`run_all`], the
//! model-based proptest with [`model_proptest`], the concurrency check with
//! [`concurrent_appends_and_flags`] (needs a multi-thread runtime to be meaningful), and for
//! durable backends [`reopen_keeps_everything`].
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! mailstore::conformance::run_all(&|| Arc::new(mailstore::MemoryStore::new()) as Arc<dyn mailstore::Store>).await;
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::{
    AccountId, Flag, FlagOp, Flags, Keyword, MailDirection, MailLogRecord, MailboxEvent, MailboxId,
    MailboxName, ModSeq, Quota, Rights, SearchKey, ShareLevel, SpecialUse, Store, StoreError, Uid,
};

/// The sample messages (GB2312/GBK/GB18030 subjects, Chinese attachment names, nesting).
pub mod corpus {
    /// GB2312 subject 关于期末考试安排的通知.
    pub const GB2312: &[u8] = include_bytes!("../tests/data/01-gb2312-notice.eml");
    /// GBK subject 镕基楼讲座预告.
    pub const GBK: &[u8] = include_bytes!("../tests/data/02-gbk-lecture.eml");
    /// GB18030 subject 请填写表格𠀀.
    pub const GB18030: &[u8] = include_bytes!("../tests/data/03-gb18030.eml");
    /// UTF-8 multipart/alternative.
    pub const UTF8_ALT: &[u8] = include_bytes!("../tests/data/04-utf8-alternative.eml");
    /// RFC 2231 Chinese attachment name.
    pub const ATTACH_2231: &[u8] = include_bytes!("../tests/data/05-attachment-rfc2231.eml");
    /// RFC 2047 Chinese attachment name 成绩单.pdf.
    pub const ATTACH_2047: &[u8] = include_bytes!("../tests/data/06-attachment-rfc2047-name.eml");
    /// Forwarded message/rfc822.
    pub const FORWARDED: &[u8] = include_bytes!("../tests/data/07-forwarded-rfc822.eml");
    /// mixed > related > alternative.
    pub const NESTED: &[u8] = include_bytes!("../tests/data/08-nested-related.eml");
    /// Plain ASCII.
    pub const ASCII: &[u8] = include_bytes!("../tests/data/12-ascii.eml");
}

/// A factory of fresh, empty stores.
pub type Factory<'a> = &'a (dyn Fn() -> Arc<dyn Store> + Sync);

fn acct(s: &str) -> AccountId {
    AccountId::new(s).expect("valid account")
}

fn mbn(s: &str) -> MailboxName {
    MailboxName::new(s).expect("valid mailbox name")
}

fn seen() -> Flags {
    Flags::empty().with(Flag::Seen)
}

fn deleted() -> Flags {
    Flags::empty().with(Flag::Deleted)
}

/// A small test message.
pub fn sample(n: u32, subject: &str) -> Bytes {
    Bytes::from(format!(
        "From: Sender {n} <s{n}@example.org>\r\nTo: r@example.edu.cn\r\nSubject: {subject}\r\nMessage-ID: <m{n}@example.org>\r\nDate: Mon, 09 Jan 2023 10:15:00 +0800\r\n\r\nbody number {n}\r\n"
    ))
}

/// The default folders a server creates.
pub fn default_folders() -> Vec<(MailboxName, Option<SpecialUse>)> {
    vec![
        (MailboxName::inbox(), None),
        (mbn("草稿箱"), Some(SpecialUse::Drafts)),
        (mbn("已发送"), Some(SpecialUse::Sent)),
        (mbn("已删除"), Some(SpecialUse::Trash)),
        (mbn("垃圾邮件"), Some(SpecialUse::Junk)),
    ]
}

async fn setup(store: &dyn Store, who: &str) -> (AccountId, MailboxId) {
    let a = acct(who);
    store
        .create_account(&a, &default_folders())
        .await
        .expect("create account");
    let inbox = store
        .mailbox_id(&a, &MailboxName::inbox())
        .await
        .expect("inbox");
    (a, inbox)
}

/// Runs every behaviour check, each on a fresh store.
pub async fn run_all(make: Factory<'_>) {
    accounts_and_default_mailboxes(make().as_ref()).await;
    mailbox_hierarchy(make().as_ref()).await;
    append_and_read(make().as_ref()).await;
    metadata_from_corpus(make().as_ref()).await;
    flags_and_modseq(make().as_ref()).await;
    expunge_and_vanished(make().as_ref()).await;
    copy_and_move(make().as_ref()).await;
    quotas(make().as_ref()).await;
    sharing(make().as_ref()).await;
    archive_mode(make().as_ref()).await;
    read_tracking(make().as_ref()).await;
    mail_log(make().as_ref()).await;
    notifications(make().as_ref()).await;
    search(make().as_ref()).await;
    bad_input(make().as_ref()).await;
    cross_account(make().as_ref()).await;
    delete_account(make().as_ref()).await;
}

/// `delete_account` removes mailboxes, messages, archive, quota and grants both ways, keeps
/// receipts and the mail log, leaves shared bodies to other accounts, and a re-created
/// account of the same name starts empty.
pub async fn delete_account(store: &dyn Store) {
    let (a, ia) = setup(store, "gone@example.org").await;
    let (b, ib) = setup(store, "stays@example.org").await;
    let work = store.create_mailbox(&a, &mbn("工作"), None).await.unwrap();
    store
        .set_quota(
            &a,
            Quota {
                max_bytes: Some(1 << 20),
                max_messages: Some(100),
            },
        )
        .await
        .unwrap();
    store.set_archive_mode(&a, true).await.unwrap();
    let shared_body = Bytes::from_static(corpus::GB2312);
    let ma = store
        .append(ia, shared_body.clone(), Flags::empty(), 0)
        .await
        .unwrap();
    store
        .append(work, sample(1, "only a"), Flags::empty(), 0)
        .await
        .unwrap();
    let mb = store
        .append(ib, shared_body.clone(), Flags::empty(), 0)
        .await
        .unwrap();
    // An archived message, a read receipt and a log record of `a`.
    let gone = store
        .append(ia, sample(2, "archived"), deleted(), 0)
        .await
        .unwrap();
    assert_eq!(store.expunge(ia, None).await.unwrap(), vec![gone.uid]);
    assert_eq!(store.list_archived(&a).await.unwrap().len(), 1);
    store
        .store_flags(ia, &[ma.uid], FlagOp::Add, &seen(), None)
        .await
        .unwrap();
    store
        .log_mail(MailLogRecord {
            time: 50,
            account: a.clone(),
            direction: MailDirection::Received,
            from: "x@example.org".into(),
            to: vec![a.to_string()],
            subject: "audit".into(),
            message_id: "audit@x".into(),
            status: "delivered".into(),
        })
        .await
        .unwrap();
    // Grants both ways.
    store
        .set_rights(&a, &MailboxName::inbox(), &b, ShareLevel::ReadOnly.rights())
        .await
        .unwrap();
    store
        .set_rights(&b, &MailboxName::inbox(), &a, ShareLevel::Delegate.rights())
        .await
        .unwrap();
    assert_eq!(store.shared_with(&b).await.unwrap().len(), 1);
    let mut sub = store.subscribe(ia).await.unwrap();

    store.delete_account(&a).await.unwrap();

    assert!(!store.account_exists(&a).await.unwrap());
    assert!(matches!(
        store.delete_account(&a).await,
        Err(StoreError::NoSuchAccount(_))
    ));
    assert!(matches!(
        store.list_mailboxes(&a).await,
        Err(StoreError::NoSuchAccount(_))
    ));
    assert!(matches!(
        store.select(ia).await,
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        store.select(work).await,
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        store.read_message(ia, ma.uid).await,
        Err(StoreError::NoSuchMessage(_) | StoreError::NoSuchMailbox(_))
    ));
    assert_eq!(sub.recv().await, Some(MailboxEvent::Deleted));
    // Grants in both directions are gone.
    assert!(store.shared_with(&b).await.unwrap().is_empty());
    assert!(
        store
            .acl(&b, &MailboxName::inbox())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.my_rights(ib, &a).await.unwrap(), Rights::NONE);
    // The body `b` also received is still there.
    assert_eq!(
        store.read_message(ib, mb.uid).await.unwrap(),
        shared_body,
        "shared body survives"
    );
    // Audit trail stays.
    assert_eq!(
        store
            .read_receipts("corpus-01@mail.school.test")
            .await
            .unwrap()
            .iter()
            .filter(|r| r.account == a)
            .count(),
        1
    );
    assert_eq!(store.mail_log(&a, 0, 100).await.unwrap().len(), 1);

    // Same name again: empty, default quota, no archive, no grants.
    store.create_account(&a, &default_folders()).await.unwrap();
    let names: Vec<MailboxName> = store
        .list_mailboxes(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names.len(), default_folders().len(), "{names:?}");
    assert!(!names.contains(&mbn("工作")));
    let inbox = store.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
    assert_ne!(inbox, ia, "a new mailbox, not the old handle");
    assert!(store.select(inbox).await.unwrap().messages.is_empty());
    assert!(store.list_archived(&a).await.unwrap().is_empty());
    let q = store.quota(&a).await.unwrap();
    assert_eq!(
        (q.quota, q.used_bytes, q.used_messages),
        (Quota::default(), 0, 0)
    );
    assert!(store.shared_with(&a).await.unwrap().is_empty());
    assert_eq!(store.my_rights(ib, &a).await.unwrap(), Rights::NONE);
    // Archive mode was reset with the account: expunge destroys again.
    let m = store
        .append(inbox, sample(3, "new life"), deleted(), 0)
        .await
        .unwrap();
    assert_eq!(store.expunge(inbox, None).await.unwrap(), vec![m.uid]);
    assert!(store.list_archived(&a).await.unwrap().is_empty());
}

/// Accounts, default mailboxes with special use, idempotence.
pub async fn accounts_and_default_mailboxes(store: &dyn Store) {
    let a = acct("Zhang.San@Example.EDU.cn");
    assert!(!store.account_exists(&a).await.unwrap());
    store.create_account(&a, &default_folders()).await.unwrap();
    store.create_account(&a, &default_folders()).await.unwrap(); // idempotent
    assert!(
        store
            .account_exists(&acct("zhang.san@example.edu.cn"))
            .await
            .unwrap()
    );
    let list = store.list_mailboxes(&a).await.unwrap();
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(list.len(), 5, "{names:?}");
    for (n, su) in default_folders() {
        let m = list
            .iter()
            .find(|m| m.name == n)
            .unwrap_or_else(|| panic!("{n} missing"));
        assert_eq!(m.special_use, su, "{n}");
        assert!(m.subscribed);
    }
    // INBOX is case-insensitive.
    let i1 = store.mailbox_id(&a, &mbn("inbox")).await.unwrap();
    let i2 = store.mailbox_id(&a, &mbn("InBox")).await.unwrap();
    assert_eq!(i1, i2);
    assert!(matches!(
        store
            .mailbox_id(&acct("nobody@example.org"), &MailboxName::inbox())
            .await,
        Err(StoreError::NoSuchAccount(_))
    ));
    assert!(matches!(
        store.mailbox_id(&a, &mbn("none")).await,
        Err(StoreError::NoSuchMailbox(_))
    ));
}

/// Create, rename with children, delete, subscriptions, UIDVALIDITY on re-create.
pub async fn mailbox_hierarchy(store: &dyn Store) {
    let (a, _) = setup(store, "h@example.org").await;
    let work = store.create_mailbox(&a, &mbn("工作"), None).await.unwrap();
    let sub = store
        .create_mailbox(&a, &mbn("工作/项目"), None)
        .await
        .unwrap();
    assert!(matches!(
        store.create_mailbox(&a, &mbn("工作"), None).await,
        Err(StoreError::MailboxExists(_))
    ));
    let listed = store.list_mailboxes(&a).await.unwrap();
    assert!(
        listed
            .iter()
            .find(|m| m.name.as_str() == "工作")
            .unwrap()
            .has_children
    );
    assert!(
        !listed
            .iter()
            .find(|m| m.name.as_str() == "工作/项目")
            .unwrap()
            .has_children
    );
    let up = store
        .append(sub, sample(1, "x"), Flags::empty(), 1)
        .await
        .unwrap();
    let uv_before = store.select(sub).await.unwrap().uid_validity;

    store
        .rename_mailbox(&a, &mbn("工作"), &mbn("归档/工作"))
        .await
        .unwrap();
    assert_eq!(store.mailbox_id(&a, &mbn("归档/工作")).await.unwrap(), work);
    assert_eq!(
        store.mailbox_id(&a, &mbn("归档/工作/项目")).await.unwrap(),
        sub
    );
    assert!(store.mailbox_id(&a, &mbn("工作/项目")).await.is_err());
    let sel = store.select(sub).await.unwrap();
    assert_eq!(sel.uid_validity, uv_before, "rename keeps UIDVALIDITY");
    assert_eq!(sel.messages[0].uid, up.uid);
    assert_eq!(sel.name.as_str(), "归档/工作/项目");
    assert!(
        store
            .rename_mailbox(&a, &mbn("归档"), &mbn("x"))
            .await
            .is_err(),
        "no such mailbox 归档"
    );
    assert!(
        store
            .rename_mailbox(&a, &mbn("归档/工作"), &mbn("归档/工作/项目/深"))
            .await
            .is_err(),
        "cannot move into own subtree"
    );
    assert!(matches!(
        store
            .rename_mailbox(&a, &mbn("已发送"), &mbn("已删除"))
            .await,
        Err(StoreError::MailboxExists(_))
    ));

    // Renaming INBOX moves its messages and leaves it empty.
    let inbox = store.mailbox_id(&a, &MailboxName::inbox()).await.unwrap();
    store
        .append(inbox, sample(2, "in inbox"), seen(), 2)
        .await
        .unwrap();
    store
        .rename_mailbox(&a, &mbn("INBOX"), &mbn("旧收件箱"))
        .await
        .unwrap();
    let old = store.mailbox_id(&a, &mbn("旧收件箱")).await.unwrap();
    let s = store.select(old).await.unwrap();
    assert_eq!(s.messages.len(), 1);
    assert!(s.messages[0].flags.is_seen());
    assert_eq!(store.status(inbox).await.unwrap().messages, 0);
    assert_eq!(store.quota(&a).await.unwrap().used_messages, 2);

    // Subscriptions and special use.
    store
        .set_subscribed(&a, &mbn("已发送"), false)
        .await
        .unwrap();
    store
        .set_special_use(&a, &mbn("旧收件箱"), Some(SpecialUse::Archive))
        .await
        .unwrap();
    let l = store.list_mailboxes(&a).await.unwrap();
    assert!(
        !l.iter()
            .find(|m| m.name.as_str() == "已发送")
            .unwrap()
            .subscribed
    );
    assert_eq!(
        l.iter()
            .find(|m| m.name.as_str() == "旧收件箱")
            .unwrap()
            .special_use,
        Some(SpecialUse::Archive)
    );

    // Delete: INBOX refused; a re-created mailbox gets a new id and UIDVALIDITY.
    assert!(matches!(
        store.delete_mailbox(&a, &MailboxName::inbox()).await,
        Err(StoreError::CannotDeleteInbox)
    ));
    store
        .delete_mailbox(&a, &mbn("归档/工作/项目"))
        .await
        .unwrap();
    assert!(store.select(sub).await.is_err());
    let again = store
        .create_mailbox(&a, &mbn("归档/工作/项目"), None)
        .await
        .unwrap();
    assert_ne!(again, sub);
    assert_ne!(store.select(again).await.unwrap().uid_validity, uv_before);
    assert_eq!(store.quota(&a).await.unwrap().used_messages, 1);
}

/// Append, UIDs, UIDNEXT, read whole and ranges, status.
pub async fn append_and_read(store: &dyn Store) {
    let (_, inbox) = setup(store, "r@example.org").await;
    let s0 = store.select(inbox).await.unwrap();
    assert_eq!(s0.uid_next.get(), 1);
    let mut last = 0;
    let mut bodies = Vec::new();
    for i in 0..5 {
        let b = sample(i, &format!("n{i}"));
        let r = store
            .append(inbox, b.clone(), Flags::empty(), 1000 + i as i64)
            .await
            .unwrap();
        assert!(r.uid.get() > last, "UIDs ascend");
        assert_eq!(r.uid_validity, s0.uid_validity);
        last = r.uid.get();
        bodies.push((r.uid, b));
    }
    let s = store.select(inbox).await.unwrap();
    assert_eq!(s.uid_next.get(), last + 1);
    assert_eq!(s.messages.len(), 5);
    for (uid, b) in &bodies {
        assert_eq!(&store.read_message(inbox, *uid).await.unwrap(), b);
        let part = store.read_range(inbox, *uid, 6, 12).await.unwrap();
        assert_eq!(&part[..], &b[6..12]);
        let tail = store.read_range(inbox, *uid, 10, u64::MAX).await.unwrap();
        assert_eq!(&tail[..], &b[10..]);
        let info = store.message(inbox, *uid).await.unwrap();
        assert_eq!(info.size, b.len() as u64);
    }
    let (u0, b0) = &bodies[0];
    assert!(matches!(
        store
            .read_range(inbox, *u0, b0.len() as u64 + 1, b0.len() as u64 + 2)
            .await,
        Err(StoreError::InvalidRange { .. })
    ));
    let st = store.status(inbox).await.unwrap();
    assert_eq!(st.messages, 5);
    assert_eq!(st.unseen, 5);
    assert_eq!(
        st.size,
        bodies.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    );
    let infos = store
        .messages(inbox, &[bodies[3].0, bodies[1].0, Uid::new(999).unwrap()])
        .await
        .unwrap();
    assert_eq!(
        infos.iter().map(|i| i.uid).collect::<Vec<_>>(),
        vec![bodies[1].0, bodies[3].0]
    );
    assert!(matches!(
        store.message(inbox, Uid::new(999).unwrap()).await,
        Err(StoreError::NoSuchMessage(999))
    ));
    assert_eq!(infos[0].internal_date, 1001);
}

/// Decoded subjects and names from GB2312/GBK/GB18030 mail, MIME structure and offsets.
pub async fn metadata_from_corpus(store: &dyn Store) {
    let (_, inbox) = setup(store, "m@example.org").await;
    let cases: [(&[u8], &str); 4] = [
        (corpus::GB2312, "关于期末考试安排的通知"),
        (corpus::GBK, "镕基楼讲座预告"),
        (corpus::GB18030, "请填写表格𠀀"),
        (corpus::ATTACH_2047, "成绩单"),
    ];
    let mut appended = Vec::new();
    for (raw, subject) in cases {
        let r = store
            .append(inbox, Bytes::from_static(raw), Flags::empty(), 0)
            .await
            .unwrap();
        appended.push(r.uid);
        let info = store.message(inbox, r.uid).await.unwrap();
        assert_eq!(info.meta.envelope.subject.as_deref(), Some(subject));
        let hdr_end = info.meta.body_offset as usize;
        assert!(hdr_end > 0 && hdr_end <= raw.len());
        assert!(raw[..hdr_end].ends_with(b"\n\n") || raw[..hdr_end].ends_with(b"\r\n\r\n"));
        let subj = info
            .meta
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("subject"))
            .unwrap();
        assert!(raw[subj.start as usize..].starts_with(b"Subject:"));
    }
    let gbk = store.message(inbox, appended[1]).await.unwrap();
    assert_eq!(
        gbk.meta.envelope.from[0].name.as_deref(),
        Some("王老师"),
        "GBK From name decoded"
    );
    assert_eq!(
        gbk.meta.envelope.from[0].address.as_deref(),
        Some("wang@school.test")
    );
    let hits = store
        .search(inbox, &SearchKey::From("王老师".into()))
        .await
        .unwrap();
    assert!(hits.contains(&appended[1]));
    assert!(
        store
            .search(inbox, &SearchKey::From("nobody-at-all".into()))
            .await
            .unwrap()
            .is_empty()
    );

    let r = store
        .append(
            inbox,
            Bytes::from_static(corpus::ATTACH_2047),
            Flags::empty(),
            0,
        )
        .await
        .unwrap();
    let info = store.message(inbox, r.uid).await.unwrap();
    assert!(info.meta.has_attachments);
    assert_eq!(info.meta.body.media_type, "multipart");
    let att = info
        .meta
        .body
        .children
        .iter()
        .find(|p| p.disposition.as_ref().is_some_and(|d| d.0 == "attachment"))
        .expect("attachment part");
    let name = att
        .disposition
        .as_ref()
        .unwrap()
        .1
        .iter()
        .find(|(k, _)| k == "filename")
        .unwrap();
    assert_eq!(name.1, "成绩单.pdf");

    let r = store
        .append(
            inbox,
            Bytes::from_static(corpus::FORWARDED),
            Flags::empty(),
            0,
        )
        .await
        .unwrap();
    let info = store.message(inbox, r.uid).await.unwrap();
    let fwd = &info.meta.body.children[1];
    assert_eq!(
        (fwd.media_type.as_str(), fwd.subtype.as_str()),
        ("message", "rfc822")
    );
    let inner = fwd.envelope.as_ref().expect("nested envelope");
    assert_eq!(inner.subject.as_deref(), Some("原始邮件"));
    assert_eq!(
        inner.message_id.as_deref(),
        Some("corpus-70@mail.school.test")
    );
    let inner_root = &fwd.children[0];
    let raw = corpus::FORWARDED;
    let body = &raw[inner_root.offset_body as usize..inner_root.offset_end as usize];
    assert!(
        String::from_utf8_lossy(body)
            .trim()
            .starts_with("5Y6f5aeL6YKu5Lu2"),
        "absolute offsets of nested part"
    );
    // Body text search reaches decoded base64 UTF-8 text.
    assert_eq!(
        store
            .search(inbox, &SearchKey::Body("转发给你看看".into()))
            .await
            .unwrap(),
        vec![r.uid]
    );
}

/// Flags: add, remove, replace, modseq, UNCHANGEDSINCE, changes_since, keywords.
pub async fn flags_and_modseq(store: &dyn Store) {
    let (_, inbox) = setup(store, "f@example.org").await;
    let a = store
        .append(inbox, sample(1, "a"), Flags::empty(), 0)
        .await
        .unwrap();
    let b = store
        .append(inbox, sample(2, "b"), Flags::empty(), 0)
        .await
        .unwrap();
    assert!(b.modseq > a.modseq);
    let hm0 = store.status(inbox).await.unwrap().highest_modseq;
    let kw = Flag::Keyword(Keyword::new("$Forwarded").unwrap());
    let r = store
        .store_flags(inbox, &[a.uid], FlagOp::Add, &seen().with(kw.clone()), None)
        .await
        .unwrap();
    assert_eq!(r.updated.len(), 1);
    assert!(r.updated[0].flags.contains(&kw) && r.updated[0].flags.is_seen());
    assert!(r.updated[0].modseq > hm0);
    let sel = store.select(inbox).await.unwrap();
    assert!(sel.keywords.contains(&Keyword::new("$Forwarded").unwrap()));
    assert_eq!(sel.highest_modseq, r.updated[0].modseq);
    // No-op store keeps the modseq.
    let r2 = store
        .store_flags(inbox, &[a.uid], FlagOp::Add, &seen(), None)
        .await
        .unwrap();
    assert_eq!(r2.updated[0].modseq, r.updated[0].modseq);
    // Remove and replace.
    let r3 = store
        .store_flags(inbox, &[a.uid], FlagOp::Remove, &seen(), None)
        .await
        .unwrap();
    assert!(!r3.updated[0].flags.is_seen() && r3.updated[0].flags.contains(&kw));
    let r4 = store
        .store_flags(
            inbox,
            &[a.uid, b.uid],
            FlagOp::Replace,
            &Flags::empty().with(Flag::Flagged),
            None,
        )
        .await
        .unwrap();
    assert!(
        r4.updated
            .iter()
            .all(|m| m.flags == Flags::empty().with(Flag::Flagged))
    );
    // UNCHANGEDSINCE: a's modseq is now above r.updated's.
    let r5 = store
        .store_flags(
            inbox,
            &[a.uid, b.uid],
            FlagOp::Add,
            &seen(),
            Some(r4.updated[0].modseq.min(r4.updated[1].modseq)),
        )
        .await
        .unwrap();
    assert_eq!(r5.updated.len() + r5.modified.len(), 2);
    let r6 = store
        .store_flags(inbox, &[a.uid], FlagOp::Add, &deleted(), Some(ModSeq(1)))
        .await
        .unwrap();
    assert_eq!(r6.modified, vec![a.uid]);
    assert!(r6.updated.is_empty());
    // changes_since
    let ch = store
        .changes_since(inbox, r4.updated[1].modseq)
        .await
        .unwrap();
    assert!(ch.changed.iter().all(|m| m.modseq > r4.updated[1].modseq));
    let all = store.changes_since(inbox, ModSeq(0)).await.unwrap();
    assert_eq!(all.changed.len(), 2);
    assert_eq!(
        all.highest_modseq,
        store.status(inbox).await.unwrap().highest_modseq
    );
}

/// EXPUNGE, UID EXPUNGE and VANISHED.
pub async fn expunge_and_vanished(store: &dyn Store) {
    let (a, inbox) = setup(store, "e@example.org").await;
    let mut uids = Vec::new();
    for i in 0..4 {
        uids.push(
            store
                .append(inbox, sample(i, "e"), Flags::empty(), 0)
                .await
                .unwrap()
                .uid,
        );
    }
    let before = store.status(inbox).await.unwrap().highest_modseq;
    store
        .store_flags(inbox, &uids[..3], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    let gone = store
        .expunge(inbox, Some(&[uids[0], uids[3]]))
        .await
        .unwrap();
    assert_eq!(
        gone,
        vec![uids[0]],
        "UID EXPUNGE only takes \\Deleted messages in the set"
    );
    let gone = store.expunge(inbox, None).await.unwrap();
    assert_eq!(gone, vec![uids[1], uids[2]]);
    assert!(store.expunge(inbox, None).await.unwrap().is_empty());
    let ch = store.changes_since(inbox, before).await.unwrap();
    assert_eq!(ch.vanished, vec![uids[0], uids[1], uids[2]]);
    let sel = store.select(inbox).await.unwrap();
    assert_eq!(
        sel.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![uids[3]]
    );
    assert!(store.read_message(inbox, uids[0]).await.is_err());
    // UIDs are never reused.
    let n = store
        .append(inbox, sample(9, "n"), Flags::empty(), 0)
        .await
        .unwrap();
    assert!(n.uid > uids[3]);
    assert_eq!(store.quota(&a).await.unwrap().used_messages, 2);
}

/// COPY and MOVE with UID maps; bodies shared.
pub async fn copy_and_move(store: &dyn Store) {
    let (a, inbox) = setup(store, "c@example.org").await;
    let sent = store.mailbox_id(&a, &mbn("已发送")).await.unwrap();
    let trash = store.mailbox_id(&a, &mbn("已删除")).await.unwrap();
    let x = store
        .append(inbox, sample(1, "x"), seen(), 5)
        .await
        .unwrap();
    let y = store
        .append(inbox, sample(2, "y"), Flags::empty(), 6)
        .await
        .unwrap();
    let c = store
        .copy(inbox, &[y.uid, x.uid, Uid::new(77).unwrap()], sent)
        .await
        .unwrap();
    assert_eq!(c.map.len(), 2);
    assert_eq!(c.map[0].0, x.uid);
    assert_eq!(c.map[1].0, y.uid);
    assert!(c.map[0].1 < c.map[1].1);
    assert_eq!(
        c.dest_uid_validity,
        store.select(sent).await.unwrap().uid_validity
    );
    let copied = store.message(sent, c.map[0].1).await.unwrap();
    assert!(copied.flags.is_seen());
    assert_eq!(copied.internal_date, 5);
    assert_eq!(
        store.read_message(sent, c.map[0].1).await.unwrap(),
        sample(1, "x")
    );
    // Expunging the original leaves the copy readable (shared body, reference counted).
    store
        .store_flags(inbox, &[x.uid], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    assert_eq!(
        store.read_message(sent, c.map[0].1).await.unwrap(),
        sample(1, "x")
    );
    // MOVE
    let before = store.status(inbox).await.unwrap().highest_modseq;
    let m = store.move_messages(inbox, &[y.uid], trash).await.unwrap();
    assert_eq!(m.map.len(), 1);
    assert_eq!(store.status(inbox).await.unwrap().messages, 0);
    assert_eq!(
        store.changes_since(inbox, before).await.unwrap().vanished,
        vec![y.uid]
    );
    assert_eq!(
        store.read_message(trash, m.map[0].1).await.unwrap(),
        sample(2, "y")
    );
    assert_eq!(store.quota(&a).await.unwrap().used_messages, 3);
}

/// Quotas: a distinct error, nothing stored.
pub async fn quotas(store: &dyn Store) {
    let (a, inbox) = setup(store, "q@example.org").await;
    let m = sample(1, "q");
    let size = m.len() as u64;
    store
        .set_quota(
            &a,
            Quota {
                max_bytes: Some(size * 2),
                max_messages: Some(10),
            },
        )
        .await
        .unwrap();
    store
        .append(inbox, m.clone(), Flags::empty(), 0)
        .await
        .unwrap();
    store
        .append(inbox, m.clone(), Flags::empty(), 0)
        .await
        .unwrap();
    let before = store.select(inbox).await.unwrap();
    let err = store
        .append(inbox, m.clone(), Flags::empty(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::QuotaExceeded { .. }), "{err}");
    assert_eq!(store.select(inbox).await.unwrap(), before, "nothing stored");
    let sent = store.mailbox_id(&a, &mbn("已发送")).await.unwrap();
    let uids: Vec<Uid> = before.messages.iter().map(|m| m.uid).collect();
    assert!(matches!(
        store.copy(inbox, &uids, sent).await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    // A move inside the account is fine even at the limit.
    store.move_messages(inbox, &uids[..1], sent).await.unwrap();
    let u = store.quota(&a).await.unwrap();
    assert_eq!((u.used_bytes, u.used_messages), (size * 2, 2));
    store
        .set_quota(
            &a,
            Quota {
                max_bytes: None,
                max_messages: Some(2),
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .append(inbox, sample(5, "small"), Flags::empty(), 0)
            .await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    store.set_quota(&a, Quota::default()).await.unwrap();
    store.append(inbox, m, Flags::empty(), 0).await.unwrap();
}

/// Rights, ACL listing, share levels, "shared with me".
pub async fn sharing(store: &dyn Store) {
    let (owner, _) = setup(store, "office@court.gov.cn").await;
    let (reader, _) = setup(store, "clerk@court.gov.cn").await;
    let (deleg, _) = setup(store, "deputy@court.gov.cn").await;
    let inbox = store
        .mailbox_id(&owner, &MailboxName::inbox())
        .await
        .unwrap();
    store
        .set_rights(
            &owner,
            &MailboxName::inbox(),
            &reader,
            ShareLevel::ReadOnly.rights(),
        )
        .await
        .unwrap();
    store
        .set_rights(
            &owner,
            &MailboxName::inbox(),
            &deleg,
            ShareLevel::Delegate.rights(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_rights(
                &owner,
                &MailboxName::inbox(),
                &acct("ghost@court.gov.cn"),
                Rights::LOOKUP
            )
            .await,
        Err(StoreError::NoSuchAccount(_))
    ));
    assert_eq!(store.my_rights(inbox, &owner).await.unwrap(), Rights::ALL);
    let r = store.my_rights(inbox, &reader).await.unwrap();
    assert_eq!(ShareLevel::from_rights(r), Some(ShareLevel::ReadOnly));
    assert!(!r.contains(Rights::WRITE_SEEN));
    let d = store.my_rights(inbox, &deleg).await.unwrap();
    assert_eq!(ShareLevel::from_rights(d), Some(ShareLevel::Delegate));
    assert_eq!(
        store.my_rights(inbox, &acct("x@y.z")).await.unwrap(),
        Rights::NONE
    );
    let shared = store.shared_with(&reader).await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(
        (shared[0].owner.clone(), shared[0].id),
        (owner.clone(), inbox)
    );
    assert!(store.shared_with(&owner).await.unwrap().is_empty());
    assert_eq!(
        store
            .acl(&owner, &MailboxName::inbox())
            .await
            .unwrap()
            .len(),
        2
    );
    store
        .set_rights(&owner, &MailboxName::inbox(), &reader, Rights::NONE)
        .await
        .unwrap();
    assert!(store.shared_with(&reader).await.unwrap().is_empty());
    // A deleted shared mailbox disappears from "shared with me".
    store
        .create_mailbox(&owner, &mbn("公文/待办"), None)
        .await
        .unwrap();
    store
        .set_rights(
            &owner,
            &mbn("公文/待办"),
            &reader,
            ShareLevel::SendOnBehalf.rights(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.shared_with(&reader).await.unwrap()[0].name.as_str(),
        "公文/待办"
    );
    store
        .delete_mailbox(&owner, &mbn("公文/待办"))
        .await
        .unwrap();
    assert!(store.shared_with(&reader).await.unwrap().is_empty());
    assert_eq!(
        store
            .acl(&owner, &MailboxName::inbox())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Archive mode: expunged and deleted-mailbox messages are kept and restorable.
pub async fn archive_mode(store: &dyn Store) {
    let (a, inbox) = setup(store, "doc@agency.gov.cn").await;
    let gone = store
        .append(inbox, sample(1, "kept"), Flags::empty(), 0)
        .await
        .unwrap();
    store
        .store_flags(inbox, &[gone.uid], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    assert!(
        store.list_archived(&a).await.unwrap().is_empty(),
        "archive off: destroyed"
    );

    store.set_archive_mode(&a, true).await.unwrap();
    let m = store
        .append(inbox, sample(2, "公文"), seen(), 42)
        .await
        .unwrap();
    store
        .store_flags(inbox, &[m.uid], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    let box2 = store.create_mailbox(&a, &mbn("临时"), None).await.unwrap();
    store
        .append(box2, sample(3, "in deleted box"), Flags::empty(), 0)
        .await
        .unwrap();
    store.delete_mailbox(&a, &mbn("临时")).await.unwrap();
    let arch = store.list_archived(&a).await.unwrap();
    assert_eq!(arch.len(), 2);
    assert_eq!(arch[0].meta.envelope.subject.as_deref(), Some("公文"));
    assert_eq!(arch[0].mailbox, MailboxName::inbox());
    assert_eq!(arch[0].uid, m.uid);
    assert_eq!(arch[1].mailbox.as_str(), "临时");
    assert_eq!(
        store.quota(&a).await.unwrap().used_messages,
        0,
        "archive does not count"
    );
    let r = store.restore_archived(&a, arch[0].id, inbox).await.unwrap();
    assert!(r.uid > m.uid);
    assert_eq!(
        store.read_message(inbox, r.uid).await.unwrap(),
        sample(2, "公文")
    );
    let info = store.message(inbox, r.uid).await.unwrap();
    assert!(
        info.flags.is_seen() && !info.flags.is_deleted(),
        "restored without \\Deleted"
    );
    assert_eq!(info.internal_date, 42);
    assert_eq!(store.list_archived(&a).await.unwrap().len(), 1);
    assert!(matches!(
        store.restore_archived(&a, arch[0].id, inbox).await,
        Err(StoreError::NoSuchArchived(_))
    ));
    let (other, other_inbox) = setup(store, "other@agency.gov.cn").await;
    assert!(
        store
            .restore_archived(&other, arch[1].id, other_inbox)
            .await
            .is_err()
    );
    assert!(
        store
            .restore_archived(&a, arch[1].id, other_inbox)
            .await
            .is_err()
    );
}

/// Read tracking by Message-ID.
pub async fn read_tracking(store: &dyn Store) {
    let (a, ia) = setup(store, "ra@example.org").await;
    let (b, ib) = setup(store, "rb@example.org").await;
    let raw = Bytes::from_static(corpus::GB2312);
    let ma = store
        .append(ia, raw.clone(), Flags::empty(), 0)
        .await
        .unwrap();
    let mb = store.append(ib, raw, Flags::empty(), 0).await.unwrap();
    assert!(
        store
            .read_receipts("corpus-01@mail.school.test")
            .await
            .unwrap()
            .is_empty()
    );
    store
        .store_flags(ia, &[ma.uid], FlagOp::Add, &seen(), None)
        .await
        .unwrap();
    let r = store
        .read_receipts("<corpus-01@mail.school.test>")
        .await
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].account, a);
    let t = r[0].first_seen;
    store
        .store_flags(ia, &[ma.uid], FlagOp::Remove, &seen(), None)
        .await
        .unwrap();
    store
        .store_flags(ia, &[ma.uid], FlagOp::Add, &seen(), None)
        .await
        .unwrap();
    store
        .store_flags(ib, &[mb.uid], FlagOp::Replace, &seen(), None)
        .await
        .unwrap();
    let r = store
        .read_receipts("corpus-01@mail.school.test")
        .await
        .unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(
        r.iter().find(|x| x.account == a).unwrap().first_seen,
        t,
        "first time kept"
    );
    assert!(r.iter().any(|x| x.account == b));
    // Appending already-seen mail is not "reading" it.
    let (_, ic) = setup(store, "rc@example.org").await;
    store
        .append(ic, Bytes::from_static(corpus::GBK), seen(), 0)
        .await
        .unwrap();
    assert!(
        store
            .read_receipts("corpus-02@mail.school.test")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Mail log by account and time.
pub async fn mail_log(store: &dyn Store) {
    let (a, _) = setup(store, "log@example.org").await;
    let (b, _) = setup(store, "log2@example.org").await;
    for (t, who) in [(100, &a), (200, &b), (300, &a), (400, &a)] {
        store
            .log_mail(MailLogRecord {
                time: t,
                account: who.clone(),
                direction: if t == 300 {
                    MailDirection::Sent
                } else {
                    MailDirection::Received
                },
                from: "x@example.org".into(),
                to: vec![who.to_string()],
                subject: format!("关于 {t}"),
                message_id: format!("{t}@x"),
                status: "delivered".into(),
            })
            .await
            .unwrap();
    }
    let r = store.mail_log(&a, 100, 400).await.unwrap();
    assert_eq!(r.iter().map(|x| x.time).collect::<Vec<_>>(), vec![100, 300]);
    assert_eq!(r[1].direction, MailDirection::Sent);
    assert_eq!(store.mail_log(&b, 0, i64::MAX).await.unwrap().len(), 1);
    assert!(store.mail_log(&a, 500, 100).await.unwrap().is_empty());
}

/// Subscribers see appends, flag changes, expunges and deletion, in order.
pub async fn notifications(store: &dyn Store) {
    let (a, inbox) = setup(store, "n@example.org").await;
    let mut sub = store.subscribe(inbox).await.unwrap();
    let m = store
        .append(inbox, sample(1, "n"), Flags::empty(), 0)
        .await
        .unwrap();
    store
        .store_flags(inbox, &[m.uid], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    match sub.recv().await {
        Some(MailboxEvent::Appended { uid, .. }) => assert_eq!(uid, m.uid),
        other => panic!("expected Appended, got {other:?}"),
    }
    match sub.recv().await {
        Some(MailboxEvent::FlagsChanged { uid, flags, .. }) => {
            assert_eq!(uid, m.uid);
            assert!(flags.is_deleted());
        }
        other => panic!("expected FlagsChanged, got {other:?}"),
    }
    match sub.recv().await {
        Some(MailboxEvent::Expunged { uids, .. }) => assert_eq!(uids, vec![m.uid]),
        other => panic!("expected Expunged, got {other:?}"),
    }
    assert!(sub.try_recv().is_none());
    let other = store.create_mailbox(&a, &mbn("x"), None).await.unwrap();
    let mut sub2 = store.subscribe(other).await.unwrap();
    store.delete_mailbox(&a, &mbn("x")).await.unwrap();
    assert_eq!(sub2.recv().await, Some(MailboxEvent::Deleted));
}

/// Search keys.
pub async fn search(store: &dyn Store) {
    let (_, inbox) = setup(store, "s@example.org").await;
    let mut uids = BTreeMap::new();
    for (k, raw) in [
        ("gb2312", corpus::GB2312),
        ("gbk", corpus::GBK),
        ("utf8", corpus::UTF8_ALT),
        ("ascii", corpus::ASCII),
        ("2231", corpus::ATTACH_2231),
    ] {
        let r = store
            .append(inbox, Bytes::from_static(raw), Flags::empty(), 1000)
            .await
            .unwrap();
        uids.insert(k, r.uid);
    }
    let s = |q: SearchKey| async move { store.search(inbox, &q).await.unwrap() };
    assert_eq!(
        s(SearchKey::Subject("期末考试".into())).await,
        vec![uids["gb2312"]]
    );
    assert_eq!(
        s(SearchKey::Subject("MAINTENANCE".into())).await,
        vec![uids["ascii"]]
    );
    assert_eq!(s(SearchKey::All).await.len(), 5);
    assert_eq!(
        s(SearchKey::Not(Box::new(SearchKey::Subject(
            "期末考试".into()
        ))))
        .await
        .len(),
        4
    );
    assert_eq!(
        s(SearchKey::Or(
            Box::new(SearchKey::Subject("期末考试".into())),
            Box::new(SearchKey::Subject("讲座".into()))
        ))
        .await,
        vec![uids["gb2312"], uids["gbk"]]
    );
    assert_eq!(
        s(SearchKey::MessageId("<corpus-12@mail.school.test>".into())).await,
        vec![uids["ascii"]]
    );
    assert_eq!(
        s(SearchKey::Header("X-Mailer".into(), "foxmail".into()))
            .await
            .len(),
        {
            let mut n = 0;
            for raw in [
                corpus::GB2312,
                corpus::GBK,
                corpus::UTF8_ALT,
                corpus::ASCII,
                corpus::ATTACH_2231,
            ] {
                let text = String::from_utf8_lossy(raw).to_lowercase();
                if text
                    .lines()
                    .any(|l| l.starts_with("x-mailer:") && l.contains("foxmail"))
                {
                    n += 1;
                }
            }
            n
        }
    );
    assert_eq!(s(SearchKey::Larger(10_000)).await, vec![uids["2231"]]);
    assert_eq!(s(SearchKey::Smaller(10_000)).await.len(), 4);
    assert_eq!(s(SearchKey::Since(1000)).await.len(), 5);
    assert!(s(SearchKey::Before(1000)).await.is_empty());
    store
        .store_flags(inbox, &[uids["gbk"]], FlagOp::Add, &seen(), None)
        .await
        .unwrap();
    assert_eq!(
        s(SearchKey::Flag(Flag::Seen, true)).await,
        vec![uids["gbk"]]
    );
    assert_eq!(s(SearchKey::Flag(Flag::Seen, false)).await.len(), 4);
    assert_eq!(
        s(SearchKey::And(vec![
            SearchKey::Uids(vec![(uids["gb2312"], uids["utf8"])]),
            SearchKey::Flag(Flag::Seen, false)
        ]))
        .await,
        vec![uids["gb2312"], uids["utf8"]]
    );
    let hm = store.status(inbox).await.unwrap().highest_modseq;
    assert_eq!(s(SearchKey::ModSeqAtLeast(hm)).await, vec![uids["gbk"]]);
    // Body text: decoded from GB2312 base64/QP.
    let body_hits = s(SearchKey::Text("maintenance".into())).await;
    assert_eq!(body_hits, vec![uids["ascii"]]);
    assert!(
        s(SearchKey::Body("no such text anywhere".into()))
            .await
            .is_empty()
    );
}

/// Copy and move between accounts (a delegate filing a shared mailbox's mail): the
/// destination's quota applies and usage moves with the messages; events on both sides.
pub async fn cross_account(store: &dyn Store) {
    let (owner, shared) = setup(store, "office@agency.gov.cn").await;
    let (me, mine) = setup(store, "deputy@agency.gov.cn").await;
    let raw = sample(1, "公文");
    let size = raw.len() as u64;
    let a = store.append(shared, raw.clone(), seen(), 3).await.unwrap();
    let b = store
        .append(shared, sample(2, "公文二"), Flags::empty(), 4)
        .await
        .unwrap();
    let mut ev_src = store.subscribe(shared).await.unwrap();
    let mut ev_dst = store.subscribe(mine).await.unwrap();
    store
        .set_quota(
            &me,
            Quota {
                max_bytes: Some(size),
                max_messages: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store.copy(shared, &[a.uid, b.uid], mine).await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    let m = store.move_messages(shared, &[a.uid], mine).await.unwrap();
    assert_eq!(store.quota(&me).await.unwrap().used_bytes, size);
    assert_eq!(store.quota(&owner).await.unwrap().used_messages, 1);
    assert_eq!(store.read_message(mine, m.map[0].1).await.unwrap(), raw);
    match ev_dst.recv().await {
        Some(MailboxEvent::Appended { uid, flags, .. }) => {
            assert_eq!(uid, m.map[0].1);
            assert!(flags.is_seen());
        }
        other => panic!("expected Appended, got {other:?}"),
    }
    match ev_src.recv().await {
        Some(MailboxEvent::Expunged { uids, .. }) => assert_eq!(uids, vec![a.uid]),
        other => panic!("expected Expunged, got {other:?}"),
    }
    // Archive restore is quota-checked too.
    store.set_archive_mode(&me, true).await.unwrap();
    store
        .store_flags(mine, &[m.map[0].1], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    store.expunge(mine, None).await.unwrap();
    store
        .append(mine, raw.clone(), Flags::empty(), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let arch = store.list_archived(&me).await.unwrap();
    assert!(matches!(
        store.restore_archived(&me, arch[0].id, mine).await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    assert_eq!(
        store.list_archived(&me).await.unwrap().len(),
        1,
        "still archived"
    );
}

/// Oversize and invalid input give clear errors.
pub async fn bad_input(store: &dyn Store) {
    let (_, inbox) = setup(store, "b@example.org").await;
    assert!(AccountId::new("zhangsan").is_err());
    assert!(MailboxName::new("a//b").is_err());
    assert!(MailboxName::new("/a").is_err());
    assert!(MailboxName::new("a%").is_err());
    assert!(Keyword::new("two words").is_err());
    let before = store.select(inbox).await.unwrap();
    // Garbage is stored as-is (it is what the client sent) without panicking.
    let junk = Bytes::from_static(
        b"\x00\xff\r\n\r\n\r\n--\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n",
    );
    let r = store
        .append(inbox, junk.clone(), Flags::empty(), 0)
        .await
        .unwrap();
    assert_eq!(store.read_message(inbox, r.uid).await.unwrap(), junk);
    let empty = store
        .append(inbox, Bytes::new(), Flags::empty(), 0)
        .await
        .unwrap();
    assert_eq!(store.message(inbox, empty.uid).await.unwrap().size, 0);
    assert_eq!(
        store.select(inbox).await.unwrap().messages.len(),
        before.messages.len() + 2
    );
}

/// Checks that a store reopened by `open` after `fill` kept everything (durable backends).
/// `open` must return a new handle on the same location; the previous one is dropped first.
pub async fn reopen_keeps_everything(open: &(dyn Fn() -> Arc<dyn Store> + Sync)) {
    let store = open();
    let (a, inbox) = setup(store.as_ref(), "p@example.org").await;
    let (b, _) = setup(store.as_ref(), "p2@example.org").await;
    store
        .set_quota(
            &a,
            Quota {
                max_bytes: Some(1 << 20),
                max_messages: None,
            },
        )
        .await
        .unwrap();
    store.set_archive_mode(&a, true).await.unwrap();
    let x = store
        .append(inbox, Bytes::from_static(corpus::GBK), Flags::empty(), 7)
        .await
        .unwrap();
    let y = store
        .append(inbox, sample(2, "y"), Flags::empty(), 8)
        .await
        .unwrap();
    let z = store
        .append(inbox, sample(3, "z"), Flags::empty(), 9)
        .await
        .unwrap();
    store
        .store_flags(
            inbox,
            &[x.uid],
            FlagOp::Add,
            &seen().with(Flag::Keyword(Keyword::new("Work").unwrap())),
            None,
        )
        .await
        .unwrap();
    store
        .store_flags(inbox, &[y.uid], FlagOp::Add, &deleted(), None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    let sub = store
        .create_mailbox(&a, &mbn("项目/二期"), Some(SpecialUse::Archive))
        .await
        .unwrap();
    store.copy(inbox, &[x.uid, z.uid], sub).await.unwrap();
    store
        .set_rights(&a, &mbn("项目/二期"), &b, ShareLevel::SendOnBehalf.rights())
        .await
        .unwrap();
    store
        .log_mail(MailLogRecord {
            time: 5,
            account: a.clone(),
            direction: MailDirection::Sent,
            from: a.to_string(),
            to: vec![b.to_string()],
            subject: "s".into(),
            message_id: "5@x".into(),
            status: "delivered".into(),
        })
        .await
        .unwrap();
    let snap_inbox = store.select(inbox).await.unwrap();
    let snap_sub = store.select(sub).await.unwrap();
    let list = store.list_mailboxes(&a).await.unwrap();
    let quota = store.quota(&a).await.unwrap();
    let changes = store.changes_since(inbox, ModSeq(0)).await.unwrap();
    drop(store);

    let store = open();
    assert_eq!(store.select(inbox).await.unwrap(), snap_inbox);
    assert_eq!(store.select(sub).await.unwrap(), snap_sub);
    assert_eq!(store.list_mailboxes(&a).await.unwrap(), list);
    assert_eq!(store.quota(&a).await.unwrap(), quota);
    assert_eq!(
        store.changes_since(inbox, ModSeq(0)).await.unwrap(),
        changes
    );
    assert_eq!(
        store.read_message(inbox, x.uid).await.unwrap(),
        Bytes::from_static(corpus::GBK)
    );
    assert_eq!(
        store
            .message(inbox, x.uid)
            .await
            .unwrap()
            .meta
            .envelope
            .subject
            .as_deref(),
        Some("镕基楼讲座预告")
    );
    assert_eq!(store.list_archived(&a).await.unwrap().len(), 1);
    assert_eq!(
        store
            .read_receipts("corpus-02@mail.school.test")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.shared_with(&b).await.unwrap().len(), 1);
    assert_eq!(store.mail_log(&a, 0, 10).await.unwrap().len(), 1);
    assert_eq!(
        store
            .search(inbox, &SearchKey::Body("maintenance".into()))
            .await
            .unwrap(),
        vec![]
    );
    // New work continues with higher UIDs and a new mailbox gets a new id.
    let w = store
        .append(inbox, sample(4, "w"), Flags::empty(), 0)
        .await
        .unwrap();
    assert!(w.uid > z.uid);
    let fresh = store.create_mailbox(&a, &mbn("新"), None).await.unwrap();
    assert!(fresh != inbox && fresh != sub);
}

/// Many tasks appending to and flagging one mailbox at once: no lost update, no duplicate
/// UID. Call it from a multi-thread runtime.
pub async fn concurrent_appends_and_flags(store: Arc<dyn Store>, tasks: usize, per_task: usize) {
    let (_, inbox) = setup(store.as_ref(), "conc@example.org").await;
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let store = store.clone();
        set.spawn(async move {
            let mut mine = Vec::new();
            for i in 0..per_task {
                let raw = sample((t * 100_000 + i) as u32, "concurrent");
                let r = store
                    .append(inbox, raw, Flags::empty(), 0)
                    .await
                    .expect("append");
                // Each task flags its own message with its own keyword and \Seen.
                let kw = Flag::Keyword(Keyword::new(&format!("t{t}")).expect("keyword"));
                store
                    .store_flags(inbox, &[r.uid], FlagOp::Add, &seen().with(kw), None)
                    .await
                    .expect("store");
                mine.push(r.uid);
            }
            (t, mine)
        });
    }
    let mut all = Vec::new();
    let mut owner = BTreeMap::new();
    while let Some(res) = set.join_next().await {
        let (t, uids) = res.expect("task");
        assert!(uids.windows(2).all(|w| w[0] < w[1]), "a task's UIDs ascend");
        for u in uids {
            owner.insert(u, t);
            all.push(u);
        }
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "duplicate UID handed out");
    assert_eq!(n, tasks * per_task);
    let sel = store.select(inbox).await.unwrap();
    assert_eq!(sel.messages.len(), n, "lost append");
    for m in &sel.messages {
        let t = owner[&m.uid];
        assert!(m.flags.is_seen(), "lost flag update on {}", m.uid);
        assert_eq!(
            m.flags.keywords(),
            &[Keyword::new(&format!("t{t}")).unwrap()]
        );
    }
    let mut modseqs: Vec<ModSeq> = sel.messages.iter().map(|m| m.modseq).collect();
    modseqs.sort();
    modseqs.dedup();
    assert_eq!(modseqs.len(), n, "each flag change has its own modseq");
}

/// One step of [`model_proptest`].
#[derive(Debug, Clone)]
pub enum Op {
    /// Append body `body` to mailbox `mbox` with system flag bits.
    Append {
        /// Mailbox index (0..3).
        mbox: usize,
        /// Body index (0..4; equal bodies share storage).
        body: usize,
        /// Flag bits (seen, flagged, deleted).
        flags: u8,
    },
    /// Store flags on the `pick`-th message (modulo count).
    Store {
        /// Mailbox index.
        mbox: usize,
        /// Which message.
        pick: usize,
        /// Add, remove or replace.
        op: u8,
        /// Flag bits.
        flags: u8,
    },
    /// Expunge \Deleted messages.
    Expunge {
        /// Mailbox index.
        mbox: usize,
    },
    /// Copy the `pick`-th message.
    Copy {
        /// From.
        from: usize,
        /// Which message.
        pick: usize,
        /// To.
        to: usize,
    },
    /// Move the `pick`-th message.
    Move {
        /// From.
        from: usize,
        /// Which message.
        pick: usize,
        /// To.
        to: usize,
    },
}

fn op_strategy() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..3usize, 0..4usize, 0..8u8).prop_map(|(mbox, body, flags)| Op::Append { mbox, body, flags }),
        3 => (0..3usize, 0..16usize, 0..3u8, 0..8u8).prop_map(|(mbox, pick, op, flags)| Op::Store { mbox, pick, op, flags }),
        1 => (0..3usize).prop_map(|mbox| Op::Expunge { mbox }),
        1 => (0..3usize, 0..16usize, 0..3usize).prop_map(|(from, pick, to)| Op::Copy { from, pick, to }),
        1 => (0..3usize, 0..16usize, 0..3usize).prop_map(|(from, pick, to)| Op::Move { from, pick, to }),
    ]
}

fn bits_to_flags(b: u8) -> Flags {
    let mut f = Flags::empty();
    if b & 1 != 0 {
        f.insert(Flag::Seen);
    }
    if b & 2 != 0 {
        f.insert(Flag::Flagged);
    }
    if b & 4 != 0 {
        f.insert(Flag::Deleted);
    }
    f
}

#[derive(Default, Clone)]
struct ModelBox {
    uid_next: u32,
    msgs: BTreeMap<u32, (usize, Flags)>,
}

/// Applies `ops` to a fresh store and to a simple model; panics where they differ.
pub async fn check_against_model(store: &dyn Store, ops: &[Op]) {
    let (a, inbox) = setup(store, "model@example.org").await;
    let b1 = store.create_mailbox(&a, &mbn("一"), None).await.unwrap();
    let b2 = store.create_mailbox(&a, &mbn("二"), None).await.unwrap();
    let ids = [inbox, b1, b2];
    let bodies: Vec<Bytes> = (0..4).map(|i| sample(i, &format!("模型 {i}"))).collect();
    let mut model: Vec<ModelBox> = vec![
        ModelBox {
            uid_next: 1,
            ..Default::default()
        };
        3
    ];
    let mut last_modseq = [ModSeq(0); 3];
    for op in ops {
        match op.clone() {
            Op::Append { mbox, body, flags } => {
                let r = store
                    .append(ids[mbox], bodies[body].clone(), bits_to_flags(flags), 0)
                    .await
                    .unwrap();
                let m = &mut model[mbox];
                assert_eq!(r.uid.get(), m.uid_next, "{op:?}");
                m.msgs.insert(m.uid_next, (body, bits_to_flags(flags)));
                m.uid_next += 1;
            }
            Op::Store {
                mbox,
                pick,
                op: o,
                flags,
            } => {
                let m = &mut model[mbox];
                if m.msgs.is_empty() {
                    continue;
                }
                let u = *m.msgs.keys().nth(pick % m.msgs.len()).unwrap();
                let fop = [FlagOp::Add, FlagOp::Remove, FlagOp::Replace][o as usize % 3];
                let f = bits_to_flags(flags);
                let r = store
                    .store_flags(ids[mbox], &[Uid::new(u).unwrap()], fop, &f, None)
                    .await
                    .unwrap();
                let e = m.msgs.get_mut(&u).unwrap();
                e.1 = e.1.apply(fop, &f);
                assert_eq!(r.updated.len(), 1);
                assert_eq!(r.updated[0].flags, e.1);
            }
            Op::Expunge { mbox } => {
                let m = &mut model[mbox];
                let want: Vec<u32> = m
                    .msgs
                    .iter()
                    .filter(|(_, (_, f))| f.is_deleted())
                    .map(|(u, _)| *u)
                    .collect();
                let got = store.expunge(ids[mbox], None).await.unwrap();
                assert_eq!(got.iter().map(|u| u.get()).collect::<Vec<_>>(), want);
                for u in want {
                    m.msgs.remove(&u);
                }
            }
            Op::Copy { from, pick, to } | Op::Move { from, pick, to } => {
                let is_move = matches!(op, Op::Move { .. });
                if model[from].msgs.is_empty() || (is_move && from == to) {
                    continue;
                }
                let u = *model[from]
                    .msgs
                    .keys()
                    .nth(pick % model[from].msgs.len())
                    .unwrap();
                let entry = model[from].msgs[&u].clone();
                let uid = [Uid::new(u).unwrap()];
                let r = if is_move {
                    store.move_messages(ids[from], &uid, ids[to]).await.unwrap()
                } else {
                    store.copy(ids[from], &uid, ids[to]).await.unwrap()
                };
                assert_eq!(r.map.len(), 1);
                assert_eq!(r.map[0].1.get(), model[to].uid_next);
                if is_move {
                    model[from].msgs.remove(&u);
                }
                let t = &mut model[to];
                t.msgs.insert(t.uid_next, entry);
                t.uid_next += 1;
            }
        }
        // After every step: the mailboxes equal the model, modseq never goes back.
        for (i, id) in ids.iter().enumerate() {
            let sel = store.select(*id).await.unwrap();
            let got: Vec<(u32, Flags)> = sel
                .messages
                .iter()
                .map(|m| (m.uid.get(), m.flags.clone()))
                .collect();
            let want: Vec<(u32, Flags)> = model[i]
                .msgs
                .iter()
                .map(|(u, (_, f))| (*u, f.clone()))
                .collect();
            assert_eq!(got, want, "mailbox {i} after {op:?}");
            assert_eq!(sel.uid_next.get(), model[i].uid_next);
            assert!(sel.highest_modseq >= last_modseq[i]);
            assert!(sel.messages.iter().all(|m| m.modseq <= sel.highest_modseq));
            last_modseq[i] = sel.highest_modseq;
        }
    }
    let mut used = 0u64;
    for (i, id) in ids.iter().enumerate() {
        for (u, (body, _)) in &model[i].msgs {
            let raw = store
                .read_message(*id, Uid::new(*u).unwrap())
                .await
                .unwrap();
            assert_eq!(raw, bodies[*body]);
            used += raw.len() as u64;
        }
    }
    assert_eq!(store.quota(&a).await.unwrap().used_bytes, used);
}

/// Runs [`check_against_model`] on `cases` random operation sequences, each on a fresh
/// store from `make`, on a current-thread runtime created here (call it from a plain
/// `#[test]`, not from inside a runtime).
pub fn model_proptest(make: Factory<'_>, cases: u32) {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let result = runner.run(&proptest::collection::vec(op_strategy(), 1..40), |ops| {
        let store = make();
        rt.block_on(check_against_model(store.as_ref(), &ops));
        Ok(())
    });
    if let Err(e) = result {
        panic!("model-based test failed: {e}");
    }
}
