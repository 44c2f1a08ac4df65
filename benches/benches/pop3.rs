//! Placeholder: the pop3 benchmarks are written by the crate's owner.
fn main() {}
