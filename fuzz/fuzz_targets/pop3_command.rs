#![no_main]
//! The POP3 command grammar and the multi-line encoder on arbitrary bytes.
//!
//! Checks: `parse` never panics and what it returns is clean (no CR, LF or NUL in names); a
//! message of any bytes byte-stuffs to a well-formed response that decodes to the message with
//! CRLF line endings, with and without a TOP cut.
use libfuzzer_sys::fuzz_target;
use pop3_core::command::{self, Command};
use pop3_core::stuffing;

fn clean(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(|b| b <= b' ' || b == 0x7f)
}

fn normalise(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        if out.ends_with(b"\r") {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    match command::parse(data) {
        Ok(Command::User(u)) => assert!(clean(&u)),
        Ok(Command::Apop { name, digest }) => {
            assert!(clean(&name));
            assert_eq!(digest.len(), 32);
        }
        Ok(Command::Pass(p)) => {
            assert!(!p.is_empty());
            assert!(
                !p.expose()
                    .iter()
                    .any(|&b| b == 0 || b == b'\r' || b == b'\n')
            );
            assert_eq!(format!("{p:?}"), "<redacted>");
        }
        Ok(_) | Err(_) => {}
    }

    let enc = stuffing::stuff(data, None);
    assert_eq!(stuffing::unstuff(&enc), Some(normalise(data)));
    let top = data.first().map_or(0, |b| u32::from(b % 4));
    let cut = stuffing::stuff(data, Some(top));
    let cut = stuffing::unstuff(&cut).expect("TOP output is well formed");
    assert!(normalise(data).starts_with(&cut));
});
