#![no_main]
//! The DATA unstuffer: every compiled copy (portable, AVX2, AVX-512, as far as the CPU runs
//! them) gives exactly what a byte-at-a-time reference gives, at arbitrary read boundaries;
//! with the normalising policy the output never holds a bare CR or LF.
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smtp_core::data::Simd;
use smtp_core::data::unstuff_reference;
use smtp_core::{BareLinePolicy, DecodeStatus, DotUnstuffer};

fn decode(
    input: &[u8],
    cuts: &[u8],
    policy: BareLinePolicy,
    simd: Simd,
) -> (Vec<u8>, Option<usize>, bool) {
    let mut dec = DotUnstuffer::new(policy).simd(simd);
    let mut buf = BytesMut::new();
    let (mut out, mut fed, mut rest) = (Vec::new(), 0, input);
    let mut cuts = cuts.iter();
    while !rest.is_empty() {
        // Piece sizes from the cut bytes (times 7, so pieces span 64-byte blocks), the rest last.
        let n = cuts
            .next()
            .map_or(rest.len(), |&c| (c as usize * 7).min(rest.len()));
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        fed += piece.len();
        smtp_core::append_owned(&mut buf, BytesMut::from(piece));
        if dec.decode(&mut buf, &mut |b| out.extend_from_slice(&b)) == DecodeStatus::End {
            return (out, Some(fed - buf.len()), dec.saw_bare_line_ending());
        }
    }
    (out, None, dec.saw_bare_line_ending())
}

fuzz_target!(|data: &[u8]| {
    let Some((&ncuts, rest)) = data.split_first() else {
        return;
    };
    let (cuts, input) = rest.split_at((ncuts as usize % 8).min(rest.len()));
    // The decoder keeps an undecided tail (a final CR) for more input: end every input.
    let input = &[input, b"\r\n.\r\n"].concat()[..];
    let want = unstuff_reference(input);
    let mut copies = vec![Simd::Portable];
    for s in [Simd::Avx2, Simd::Avx512] {
        if !copies.contains(&s.effective()) {
            copies.push(s.effective());
        }
    }
    let normalized = decode(input, cuts, BareLinePolicy::Normalize, Simd::Portable);
    for simd in copies {
        assert_eq!(
            decode(input, cuts, BareLinePolicy::Reject, simd),
            want,
            "{simd:?}"
        );
        let n = decode(input, cuts, BareLinePolicy::Normalize, simd);
        assert_eq!(n, normalized, "{simd:?} normalising");
    }
    assert_eq!(
        normalized.1, want.1,
        "normalising never moves the end of data"
    );
    let out = &normalized.0;
    for (i, &c) in out.iter().enumerate() {
        match c {
            b'\r' => assert!(out.get(i + 1) == Some(&b'\n') || i + 1 == out.len()),
            b'\n' => assert!(i > 0 && out[i - 1] == b'\r'),
            _ => {}
        }
    }
});
