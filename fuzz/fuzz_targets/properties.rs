//! cargo-fuzz entry point of the `properties` target (its body: `rmq_fuzz_targets::properties`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::properties(data));
