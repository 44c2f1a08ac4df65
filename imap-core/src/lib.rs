//! Sans-I/O IMAP4rev2 / IMAP4rev1 server state machine and client codec.
//!
//! The [`Server`] does no I/O, spawns nothing and reads no clock. The host feeds it the
//! client's bytes, answers its [`Event`]s with typed methods, and writes out what
//! [`Server::transmit`] returns. Message references in events are always UIDs: the session
//! keeps the selected mailbox's UID <-> message-number map itself.
//!
//! # Driving a session
//!
//! ```
//! use imap_core::server::{Config, Event, SelectInfo, Server};
//! use imap_core::syntax::{FetchItem, Flag, FlagFetch, FlagPerm};
//!
//! let mut s = Server::new(Config { tls: true, ..Config::default() }); // greeting queued
//! let mut wire = Vec::new();
//! let mut drain = |s: &mut Server, wire: &mut Vec<u8>| {
//!     let out = s.transmit().to_vec();  // write these bytes to the socket...
//!     s.consume(out.len());             // ...then mark them written
//!     wire.extend(out);
//! };
//!
//! s.feed(b"a1 LOGIN alice@example.edu.cn secret\r\na2 SELECT INBOX\r\n");
//! while let Some(ev) = s.poll_event() {
//!     match ev {
//!         Event::Login { username, password, .. } => {
//!             assert_eq!(password.expose(), b"secret"); // check it (Debug prints <redacted>)
//!             assert_eq!(username, "alice@example.edu.cn");
//!             s.auth_accept().unwrap();  // the next command (SELECT) is read only now
//!         }
//!         Event::Select { mailbox, .. } => {
//!             assert!(mailbox.is_inbox());
//!             s.select_ok(SelectInfo {
//!                 flags: vec![Flag::Seen, Flag::Deleted],
//!                 permanent_flags: vec![FlagPerm::Flag(Flag::Seen), FlagPerm::Wildcard],
//!                 uids: vec![101, 102, 105],
//!                 uid_validity: 7,
//!                 uid_next: 106,
//!                 ..SelectInfo::default()
//!             })
//!             .unwrap();
//!         }
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! drain(&mut s, &mut wire);
//!
//! // FETCH by message number: the host sees UIDs only.
//! s.feed(b"a3 FETCH 2:* (FLAGS)\r\n");
//! let Some(Event::Fetch { uids, .. }) = s.poll_event() else { panic!() };
//! assert_eq!(uids, vec![102, 105]);
//! for uid in uids {
//!     s.fetch_item(uid, &[FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)])]).unwrap();
//! }
//! s.ok().unwrap();
//! drain(&mut s, &mut wire);
//! let text = String::from_utf8(wire).unwrap();
//! assert!(text.contains("* 2 FETCH (FLAGS (\\Seen))\r\n* 3 FETCH (FLAGS (\\Seen))\r\na3 OK FETCH completed\r\n"));
//!
//! // Answering in the wrong state is an error, never a panic.
//! assert!(s.auth_accept().is_err());
//! ```
//!
//! Time: call [`Server::handle_timeout`] with the current `Instant` after each read and when
//! [`Server::poll_timeout`] passes; an idle client gets `* BYE`.
//!
//! # Modules
//! - [`syntax`]: typed commands and responses, their nom parsers and writers (server and
//!   client side), modified UTF-7, sequence sets, search keys and their evaluator.
//! - [`client`]: the client-side codec (encode commands, frame and parse responses).
//! - [`server`]: the session state machine.

//! - [`render`]: ENVELOPE, BODYSTRUCTURE, BODY\[section\] and search predicates from a message.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod framer;
pub mod render;
pub mod secret;
pub mod server;
pub mod syntax;

pub use error::Error;
pub use secret::Secret;
pub use server::{Config, Event, Server};
