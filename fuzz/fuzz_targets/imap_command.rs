#![no_main]
//! The IMAP command parser on arbitrary input: never panics, and whatever parses re-encodes
//! (client codec) to bytes that parse to the same command, with and without LITERAL+.
use imap_core::client::encode_command;
use imap_core::syntax::parse_command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let utf8 = mode & 1 != 0;
    if let Ok(cmd) = parse_command(input, utf8) {
        for literal_plus in [false, true] {
            let enc = encode_command(&cmd, literal_plus, utf8);
            let again = parse_command(&enc.bytes, utf8);
            assert_eq!(
                again.as_ref(),
                Ok(&cmd),
                "re-encoded as {:?}",
                String::from_utf8_lossy(&enc.bytes)
            );
            assert!(enc.bytes.ends_with(b"\r\n"));
        }
    }
});
