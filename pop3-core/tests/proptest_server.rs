//! Property tests for the whole session: any input, any split, any host chunking.

mod common;

use common::*;
use proptest::prelude::*;

fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"USER alice@example.edu\r\n".to_vec()),
        Just(b"PASS s3cret pw\r\n".to_vec()),
        Just(b"PASS wrong\r\n".to_vec()),
        Just(b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuZWR1AHMzY3JldCBwdw==\r\n".to_vec()),
        Just(b"AUTH LOGIN\r\n".to_vec()),
        Just(b"YWxpY2VAZXhhbXBsZS5lZHU=\r\n".to_vec()),
        Just(b"*\r\n".to_vec()),
        Just(b"STAT\r\n".to_vec()),
        Just(b"LIST\r\n".to_vec()),
        Just(b"UIDL\r\n".to_vec()),
        Just(b"CAPA\r\n".to_vec()),
        Just(b"NOOP\r\n".to_vec()),
        Just(b"RSET\r\n".to_vec()),
        Just(b"UTF8\r\n".to_vec()),
        Just(b"QUIT\r\n".to_vec()),
        (0u32..4).prop_map(|n| format!("RETR {n}\r\n").into_bytes()),
        (0u32..4).prop_map(|n| format!("DELE {n}\r\n").into_bytes()),
        (0u32..4, 0u32..3).prop_map(|(n, l)| format!("TOP {n} {l}\r\n").into_bytes()),
        (0u32..4).prop_map(|n| format!("LIST {n}\r\n").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(Just(b'a'), 250..300).prop_map(|mut v| {
            v.extend_from_slice(b"\r\n");
            v
        }),
    ]
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => any::<u8>(), 3 => Just(b'\n'), 1 => Just(b'\r'), 2 => Just(b'.')],
        0..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_same_session(
        tokens in prop::collection::vec(token(), 0..25),
        messages in prop::collection::vec(message(), 0..3),
        chunk in 1usize..64,
        write_max in 1usize..100,
        body_chunk in 0usize..50,
    ) {
        let input: Vec<u8> = tokens.concat();
        let mut host = Host::new(messages.iter().map(|m| &m[..]).collect());
        let whole = run_with(config(), &mut host.clone(), &input, usize::MAX, usize::MAX);
        host.body_chunk = body_chunk;
        let mut h2 = host.clone();
        let split = run_with(config(), &mut h2, &input, chunk, write_max);
        prop_assert_eq!(text(&whole), text(&split));
        // Every line on the wire ends in CRLF, whatever the stored messages contained.
        for (i, &b) in whole.iter().enumerate() {
            if b == b'\n' {
                prop_assert!(i > 0 && whole[i - 1] == b'\r', "bare LF at {}", i);
            }
        }
        prop_assert!(whole.is_empty() || whole.ends_with(b"\r\n"));
    }
}
