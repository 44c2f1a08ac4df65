//! Sans-I/O IMAP4rev2 / IMAP4rev1 server state machine and client codec.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod render;
pub mod secret;
pub mod syntax;

pub use error::Error;
pub use secret::Secret;
