//! Placeholder: the smtp benchmarks are written by the crate's owner.
fn main() {}
