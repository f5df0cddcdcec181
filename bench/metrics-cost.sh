#!/usr/bin/env bash
# What the metrics cost on send TPS: the storage benchmark's rmq send run (Rust generator,
# ASYNC_FLUSH, 16 producer threads, a consumer alongside) with metrics on (the default,
# metricsExporterType=PROM) and off (DISABLE: nothing recorded, nothing served), alternating,
# N runs each (default 5). Prints every run's send TPS, then per mode the median and the spread,
# and how far apart the medians are. Needs an otherwise idle machine.
#
#   bench/metrics-cost.sh [N]          BENCH_DURATION [20] s, BENCH_WARMUP [3] s per run
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
OUT=${BENCH_WORK:-$PWD/target/bench-work}/metrics-cost-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
skip_build=${BENCH_SKIP_BUILD:-0}
for i in $(seq 1 "$RUNS"); do
  for mode in on off; do
    BENCH_METRICS=$mode BENCH_RESULTS="$OUT/$mode-$i" BENCH_PHASES=send BENCH_IMPLS=rmq BENCH_GENERATORS=rust \
      BENCH_FLUSH=ASYNC_FLUSH BENCH_THREADS=16 BENCH_DURATION=${BENCH_DURATION:-20} BENCH_WARMUP=${BENCH_WARMUP:-3} \
      BENCH_SKIP_BUILD=$skip_build bench/run.sh > "$OUT/$mode-$i.log" 2>&1 \
      || { echo "run $mode-$i failed: see $OUT/$mode-$i.log" >&2; exit 1; }
    skip_build=1
    jq -r --arg mode "$mode" --arg i "$i" '"\($mode) \($i) \(.send_tps)"' "$OUT/$mode-$i/runs.jsonl" | tee -a "$OUT/tps.txt"
  done
done
python3 - "$OUT/tps.txt" <<'PY'
import statistics, sys
runs = {"on": [], "off": []}
for line in open(sys.argv[1]):
    mode, _, tps = line.split()
    runs[mode].append(float(tps))
med = {m: statistics.median(v) for m, v in runs.items()}
for m, v in runs.items():
    spread = (max(v) - min(v)) / med[m] * 100
    print(f"metrics {m:3}: median {med[m]:9.0f} send TPS, min {min(v):9.0f}, max {max(v):9.0f} (spread {spread:.1f}% of the median), runs {len(v)}")
print(f"medians: off - on = {(med['off'] - med['on']) / med['off'] * 100:+.1f}% of off")
PY
