#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
mod config;
mod error;
mod event;
mod framer;
mod message;
mod output;
mod sasl;
mod secret;
mod server;
pub mod stuffing;

pub use config::Config;
pub use error::Error;
pub use event::{AuthFailure, CloseReason, Event, MaildropFailure, Mechanism};
pub use message::{MessageInfo, Uid};
pub use secret::Secret;
pub use server::{Server, SessionState};
