//! Run-time choice of the instruction set the DATA decoder is compiled for.
//!
//! The decoder is written once, in safe portable Rust that the compiler vectorises
//! (`DotUnstuffer::decode_portable`, SSE2 on x86-64). On x86-64 two more copies of it are
//! compiled, with AVX2 and with AVX-512, and the best one the CPU supports is used. Calling a
//! `#[target_feature]` function is the one `unsafe` operation in this crate: its only
//! precondition is that the CPU supports the features, which is checked right before the call
//! (std caches the check).
//!
//! AVX-512 is used only where the CPU also has AVX512-VBMI2 (Intel Ice Lake and later, AMD
//! Zen 4 and later), the rule simdjson follows: on the earlier Skylake-SP and Cascade Lake
//! Xeons 512-bit instructions can lower the clock of the core, which would slow the rest of
//! the server more than unstuffing gains. Measured speeds are in benches/results/smtp.md.

use bytes::{Bytes, BytesMut};

use super::{DecodeStatus, DotUnstuffer};

/// Which compiled copy of the decoder to run. Hidden: for tests and benchmarks that compare
/// the copies; the output is identical.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Simd {
    /// The best the CPU supports.
    #[default]
    Auto,
    /// The portable copy (SSE2 on x86-64).
    Portable,
    /// The AVX2 copy, if the CPU has AVX2 (else the portable one).
    Avx2,
    /// The AVX-512 copy, if the CPU has AVX512-BW and AVX512-VBMI2 (else the portable one).
    Avx512,
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi2")
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

impl Simd {
    /// The copy that will actually run on this CPU.
    pub fn effective(self) -> Simd {
        #[cfg(target_arch = "x86_64")]
        match self {
            Simd::Auto if has_avx512() => Simd::Avx512,
            Simd::Auto if has_avx2() => Simd::Avx2,
            Simd::Avx512 if has_avx512() => Simd::Avx512,
            Simd::Avx2 if has_avx2() => Simd::Avx2,
            _ => Simd::Portable,
        }
        #[cfg(not(target_arch = "x86_64"))]
        Simd::Portable
    }
}

#[inline]
pub(super) fn decode(
    dec: &mut DotUnstuffer,
    input: &mut BytesMut,
    emit: &mut impl FnMut(Bytes),
) -> DecodeStatus {
    #[cfg(target_arch = "x86_64")]
    match dec.simd {
        Simd::Auto | Simd::Avx512 if has_avx512() => {
            #[allow(unsafe_code)]
            // SAFETY: `decode_avx512` has no precondition other than running on a CPU with
            // the features it enables, detected just above.
            return unsafe { decode_avx512(dec, input, emit) };
        }
        Simd::Auto | Simd::Avx2 if has_avx2() => {
            #[allow(unsafe_code)]
            // SAFETY: as above, for AVX2.
            return unsafe { decode_avx2(dec, input, emit) };
        }
        _ => {}
    }
    dec.decode_portable(input, emit)
}

/// The portable decoder compiled with AVX2 enabled (all of it is inlined here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn decode_avx2(
    dec: &mut DotUnstuffer,
    input: &mut BytesMut,
    emit: &mut impl FnMut(Bytes),
) -> DecodeStatus {
    dec.decode_portable(input, emit)
}

/// The portable decoder compiled with AVX-512 enabled (all of it is inlined here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,avx512vbmi2")]
fn decode_avx512(
    dec: &mut DotUnstuffer,
    input: &mut BytesMut,
    emit: &mut impl FnMut(Bytes),
) -> DecodeStatus {
    dec.decode_portable(input, emit)
}
