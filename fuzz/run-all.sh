#!/usr/bin/env bash
# The fuzzers' long run: every target in turn for N seconds (default 600), with a nightly
# toolchain and cargo-fuzz (see fuzz/README.md). Prints one line per target: runs, seconds, corpus
# size, and whether it found a crash (left in fuzz/artifacts/<target>/).
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-+nightly}
status=0
for target in frame_codec json_header binary_header stored_message properties batch sql92_filter store_recovery; do
  log=fuzz/artifacts/$target.log
  mkdir -p fuzz/artifacts
  start=$SECONDS
  cargo $TOOLCHAIN fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 > "$log" 2>&1
  rc=$?
  runs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  if [ $rc -eq 0 ]; then verdict="no crash"; else verdict="CRASH (exit $rc, see $log)"; status=1; fi
  echo "$target: ${runs:-0} runs in $((SECONDS - start)) s, corpus $corpus files, $verdict"
done
exit $status
