//! The example mail server.
#![forbid(unsafe_code)]

fn main() {
    println!("mailserver: not yet implemented");
}
