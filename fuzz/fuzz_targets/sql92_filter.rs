//! cargo-fuzz entry point of the `sql92_filter` target (its body: `rmq_fuzz_targets::sql92_filter`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::sql92_filter(data));
