//! Sans-I/O IMAP4rev2 / IMAP4rev1 server state machine and client codec.
#![forbid(unsafe_code)]

pub mod render;
