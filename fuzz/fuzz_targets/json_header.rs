//! cargo-fuzz entry point of the `json_header` target (its body: `rmq_fuzz_targets::json_header`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::json_header(data));
