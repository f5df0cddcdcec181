//! cargo-fuzz entry point of the `stored_message` target (its body: `rmq_fuzz_targets::stored_message`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::stored_message(data));
