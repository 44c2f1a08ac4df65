//! The DATA unstuffer against a byte-at-a-time reference, with special sequences at every
//! offset around its 64-byte fast-path blocks. Every compiled copy of the decoder that this
//! CPU can run (portable, AVX2, AVX-512) is checked.

use bytes::BytesMut;
use smtp_core::data::Simd;
use smtp_core::data::unstuff_reference;
use smtp_core::{BareLinePolicy, DecodeStatus, DotUnstuffer};

/// The copies of the decoder this CPU runs (each once).
fn copies() -> Vec<Simd> {
    let mut v = vec![Simd::Portable];
    for s in [Simd::Avx2, Simd::Avx512, Simd::Auto] {
        if !v.contains(&s.effective()) {
            v.push(s.effective());
        }
    }
    v
}

#[test]
fn auto_runs_the_best_copy_the_cpu_has() {
    let best = *copies().last().unwrap();
    assert_eq!(Simd::Auto.effective(), best);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert_ne!(best, Simd::Portable, "AVX2 is there but not used");
    }
}

fn decode(input: &[u8], split: usize, simd: Simd) -> (Vec<u8>, Option<usize>, bool) {
    let mut dec = DotUnstuffer::new(BareLinePolicy::Reject).simd(simd);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for piece in [&input[..split], &input[split..]] {
        buf.extend_from_slice(piece);
        fed += piece.len();
        if dec.decode(&mut buf, &mut |b| out.extend_from_slice(&b)) == DecodeStatus::End {
            return (out, Some(fed - buf.len()), dec.saw_bare_line_ending());
        }
    }
    (out, None, dec.saw_bare_line_ending())
}

#[test]
fn matches_reference_at_every_offset() {
    let patterns: &[&[u8]] = &[
        b"\n",
        b"\r",
        b"\r\n",
        b"\r\n.",
        b"\r\n..",
        b"\n.",
        b"\r.",
        b"\r\n.\r\n",
        b"\r\n.\n",
        b"\r\r\n",
        b"\r\n\r\n.x",
        b"\n\r",
    ];
    for pat in patterns {
        for k in 0..200 {
            let mut input = Vec::new();
            // A few ordinary lines first, so that blocks start at varied line offsets.
            for l in 0..(k % 3) {
                input.extend(std::iter::repeat_n(b'x', 10 + l * 7));
                input.extend_from_slice(b"\r\n");
            }
            input.extend(std::iter::repeat_n(b'a', k));
            input.extend_from_slice(pat);
            input.extend(std::iter::repeat_n(b'b', 260 - k));
            input.extend_from_slice(b"\r\n.\r\nREST");
            let want = unstuff_reference(&input);
            for split in [0, 1, k, k + 1, k + pat.len(), input.len() / 2, input.len()] {
                let split = split.min(input.len());
                for simd in copies() {
                    assert_eq!(
                        decode(&input, split, simd),
                        want,
                        "pattern {pat:?} at {k}, split {split}, {simd:?}"
                    );
                }
            }
        }
    }
}

/// The owned-input path (`append_owned`, what `Server::feed_bytes` does) at arbitrary splits
/// decodes exactly like the byte-wise reference.
fn decode_owned(input: &[u8], cuts: &[usize], simd: Simd) -> (Vec<u8>, Option<usize>, bool) {
    let mut dec = DotUnstuffer::new(BareLinePolicy::Reject).simd(simd);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let (mut fed, mut rest) = (0, input);
    let mut pieces = Vec::new();
    for &c in cuts {
        let n = c % (rest.len() + 1);
        pieces.push(&rest[..n]);
        rest = &rest[n..];
    }
    pieces.push(rest);
    for piece in pieces {
        smtp_core::append_owned(&mut buf, BytesMut::from(piece));
        fed += piece.len();
        if dec.decode(&mut buf, &mut |b| out.extend_from_slice(&b)) == DecodeStatus::End {
            return (out, Some(fed - buf.len()), dec.saw_bare_line_ending());
        }
    }
    (out, None, dec.saw_bare_line_ending())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
    #[test]
    fn owned_input_matches_reference(
        data in proptest::collection::vec(
            proptest::prop_oneof![
                4 => proptest::prelude::any::<u8>(),
                2 => proptest::strategy::Just(b'.'),
                3 => proptest::strategy::Just(b'\r'),
                3 => proptest::strategy::Just(b'\n'),
                6 => proptest::strategy::Just(b'a'),
            ],
            0..800,
        ),
        cuts in proptest::collection::vec(0usize..300, 0..10),
    ) {
        // The decoder keeps an undecided tail (a final CR) for more input, so end the input.
        let mut data = data;
        data.extend_from_slice(b"\r\n.\r\nREST");
        let want = unstuff_reference(&data);
        for simd in copies() {
            proptest::prop_assert_eq!(decode_owned(&data, &cuts, simd), want.clone(), "{:?}", simd);
        }
    }
}

/// Long runs of plain text (so that whole 64-byte blocks are checked at once) broken by line
/// endings, stuffed dots and bare CR/LF at random places.
fn long_lines() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let token = prop_oneof![
        8 => Just(&b"\r\n"[..]),
        2 => Just(&b"\r\n."[..]),
        1 => Just(&b"\r\n.."[..]),
        1 => Just(&b"\n"[..]),
        1 => Just(&b"\r"[..]),
        1 => Just(&b"\n."[..]),
        1 => Just(&b"\r."[..]),
        1 => Just(&b"."[..]),
    ];
    proptest::collection::vec((0usize..200, token), 0..40).prop_map(|parts| {
        let mut v = Vec::new();
        for (run, tok) in parts {
            v.extend((0..run).map(|i| b'a' + (i % 26) as u8));
            v.extend_from_slice(tok);
        }
        v
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
    #[test]
    fn long_lines_match_reference(
        data in long_lines(),
        cuts in proptest::collection::vec(0usize..3000, 0..6),
    ) {
        let mut data = data;
        data.extend_from_slice(b"\r\n.\r\nREST");
        let want = unstuff_reference(&data);
        for simd in copies() {
            proptest::prop_assert_eq!(decode_owned(&data, &cuts, simd), want.clone(), "{:?}", simd);
        }
    }
}
