//! cargo-fuzz entry point of the `store_recovery` target (its body: `rmq_fuzz_targets::store_recovery`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::store_recovery(data));
