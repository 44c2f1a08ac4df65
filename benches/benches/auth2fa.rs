//! Placeholder: the auth2fa benchmarks are written by the crate's owner.
fn main() {}
