//! cargo-fuzz entry point of the `batch` target (its body: `rmq_fuzz_targets::batch`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::batch(data));
