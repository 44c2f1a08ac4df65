//! IMAP syntax: typed values, nom parsers and wire writers, shared by server and client.

pub mod atom;
pub mod charset;
pub mod command;
pub mod datetime;
pub mod fetch;
pub mod flag;
pub mod literal;
pub mod mailbox;
pub mod response;
pub mod search;
pub mod sequence;

pub use atom::{Atom, Capability, Tag};
pub use command::{
    AppendMessage, Command, CommandBody, CommandError, ListReturn, ListSelect, QresyncParams,
    QuotaLimit, SearchReturn, SelectParams, StatusItem, StoreAction, parse_command,
};
pub use datetime::{Date, DateTime};
pub use fetch::{FetchAttr, FetchItem, FetchModifiers};
pub use flag::{Flag, FlagFetch, FlagPerm};
pub use literal::{LiteralKind, Writer};
pub use mailbox::{Mailbox, decode_utf7, encode_utf7, list_matches};
pub use response::{
    Code, Data, ESearch, ListAttr, ListItem, NamespaceDesc, QuotaResource, Response, Status,
    StatusValue, parse_response,
};
pub use search::{SearchKey, SearchMessage};
pub use sequence::{Ranges, SeqNum, SeqRange, SequenceSet};
