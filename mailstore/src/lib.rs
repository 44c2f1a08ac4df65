//! Mail store for IMAP, POP3 and SMTP servers: one async [`Store`] trait, a durable embedded
//! default ([`RedbStore`]), an in-memory store ([`MemoryStore`]) and, behind the `sled`
//! feature, `SledStore`.
//!
//! What it keeps, per account: mailboxes ('/' delimiter, UTF-8 names, case-insensitive
//! INBOX, special-use, subscriptions), messages with strictly ascending UIDs, stable
//! UIDVALIDITY, per-message modseq (CONDSTORE/QRESYNC), flags and keywords, metadata parsed
//! once at append (envelope, MIME structure, header offsets, decoded text for search),
//! single-instance bodies, quotas, RFC 4314 rights and "shared with me", archive mode, read
//! tracking by Message-ID, and a mail log. Sessions subscribe to a mailbox to learn about
//! changes made by other sessions.
//!
//! ```
//! use std::sync::Arc;
//! use mailstore::{AccountId, Flag, Flags, MailboxName, MemoryStore, SearchKey, SpecialUse, Store};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! // (durable: Arc::new(mailstore::RedbStore::open("/var/lib/mail")?))
//! let me = AccountId::new("zhang.san@example.edu.cn")?;
//! let folders = [
//!     (MailboxName::inbox(), None),
//!     (MailboxName::new("草稿箱")?, Some(SpecialUse::Drafts)),
//!     (MailboxName::new("已发送")?, Some(SpecialUse::Sent)),
//!     (MailboxName::new("已删除")?, Some(SpecialUse::Trash)),
//!     (MailboxName::new("垃圾邮件")?, Some(SpecialUse::Junk)),
//! ];
//! store.create_account(&me, &folders).await?;
//!
//! let inbox = store.mailbox_id(&me, &MailboxName::inbox()).await?;
//! let mut events = store.subscribe(inbox).await?;
//! let raw = "From: a@example.org\r\nSubject: =?GB2312?B?u+HS6c3o9a4?=\r\nMessage-ID: <1@x>\r\n\r\nHello\r\n";
//! let added = store.append(inbox, raw.into(), Flags::empty(), 1_700_000_000).await?;
//! assert!(events.recv().await.is_some()); // another session would see the new message
//!
//! let hits = store.search(inbox, &SearchKey::Subject("会议".into())).await?;
//! assert_eq!(hits, vec![added.uid]);
//!
//! store.store_flags(inbox, &[added.uid], mailstore::FlagOp::Add, &Flags::empty().with(Flag::Seen), None).await?;
//! assert_eq!(store.read_receipts("1@x").await?.len(), 1);
//! # Ok::<(), mailstore::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! # Conformance
//! With the `conformance` feature, `mailstore::conformance` holds the test suite every backend runs,
//! including model-based proptests; a third-party backend can run it too.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acl;
mod delegate;
mod engine;
mod error;
mod events;
mod flags;
mod ids;
mod memory;
pub mod meta;
mod records;
mod redb_store;
pub mod search;
#[cfg(feature = "sled")]
mod sled_store;
mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use acl::{Rights, ShareLevel};
pub use engine::{FORMAT_VERSION, StoreConfig};
pub use error::{Result, StoreError};
pub use events::Subscription;
pub use flags::{Flag, FlagOp, Flags, Keyword, SpecialUse};
pub use ids::{AccountId, MailboxId, MailboxName, ModSeq, Uid, UidValidity};
pub use memory::MemoryStore;
pub use meta::MessageMeta;
pub use records::*;
pub use redb_store::{REDB_FILE, RedbStore};
pub use search::SearchKey;
#[cfg(feature = "sled")]
pub use sled_store::SledStore;
pub use store::Store;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
