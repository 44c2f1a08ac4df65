//! Placeholder: the mailstore benchmarks are written by the crate's owner.
fn main() {}
