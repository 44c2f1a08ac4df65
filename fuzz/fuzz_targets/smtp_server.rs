#![no_main]
//! Placeholder target, replaced by the crate's owner.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
