#![doc = include_str!("../README.md")]
// `deny`, not `forbid`: the one exception is the run-time choice of the AVX2 / AVX-512 copy of
// the DATA decoder in data/dispatch.rs (calling a `#[target_feature]` function), justified by
// the measurements in benches/results/smtp.md.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod command;
pub mod data;
mod error;
mod framer;
pub mod params;
pub mod received;
pub mod reply;
pub mod reply_parser;
mod secret;
pub mod server;

pub use client::{Capabilities, Client, ClientConfig, ClientEvent, Envelope};
pub use command::{Command, ParseError, ReversePath, parse_command, parse_reference};
pub use data::{
    BareLinePolicy, DecodeStatus, DotStuffer, DotUnstuffer, append_input, append_owned,
};
pub use error::Error;
pub use params::{Body, MailParams, Notify, Orcpt, RcptParams, Ret};
pub use received::{ReceivedInfo, received_header};
pub use reply::{EnhancedCode, Reply};
pub use reply_parser::{ReplyError, ReplyParser, parse_reply};
pub use secret::Secret;
pub use server::{AbortReason, AuthPolicy, Config, Event, Mechanism, Server};
