#![no_main]
//! The reply parser: never panics; a parsed reply is valid and survives a write/read round trip.
use libfuzzer_sys::fuzz_target;
use smtp_core::parse_reply;

fuzz_target!(|data: &[u8]| {
    let Ok(Some((reply, used))) = parse_reply(data) else {
        return;
    };
    assert!(used <= data.len());
    assert!(reply.is_valid_code());
    assert!(!reply.lines().is_empty());
    let wire = reply.to_bytes();
    let (again, n) = parse_reply(&wire)
        .expect("written reply parses")
        .expect("written reply is complete");
    assert_eq!(n, wire.len());
    assert_eq!(again.code(), reply.code());
    assert_eq!(again.lines().len(), reply.lines().len());
    assert_eq!(again.to_bytes(), wire);
});
