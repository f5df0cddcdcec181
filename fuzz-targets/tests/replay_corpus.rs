//! Every saved fuzz input (`fuzz/corpus/<target>/`) and every input that once crashed a target
//! (`fuzz/regressions/<target>/`) runs through its target: CI's regression test for the fuzzers.

use std::path::Path;

#[test]
fn every_saved_input_and_past_crash_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut ran = 0;
    for (name, target) in rmq_fuzz_targets::TARGETS {
        for kind in ["corpus", "regressions"] {
            let dir = root.join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.expect("dir entry").path();
                let data = std::fs::read(&path).expect("read input");
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name}: {} fails", path.display());
                ran += 1;
            }
        }
    }
    let seeds = rmq_fuzz_targets::TARGETS.len();
    assert!(ran >= seeds, "expected at least one saved input per target, ran {ran}");
    println!("replayed {ran} inputs over {seeds} targets");
}
