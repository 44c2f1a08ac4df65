//! Mail store trait with redb (default), sled and in-memory backends, and a conformance suite
#![forbid(unsafe_code)]
