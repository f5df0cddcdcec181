//! cargo-fuzz entry point of the `frame_codec` target (its body: `rmq_fuzz_targets::frame_codec`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rmq_fuzz_targets::frame_codec(data));
