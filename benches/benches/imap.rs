//! Placeholder: the imap benchmarks are written by the crate's owner.
fn main() {}
