#!/usr/bin/env bash
# What the metrics cost on send TPS, measured in pairs: each pair runs two rmq clusters at the same
# time, one with metrics on (metricsExporterType=PROM, the default) and one with them off
# (DISABLE), on the same cores (both brokers on CPU 0, both generators on CPU 1) with the storage
# benchmark's send run (Rust generator, ASYNC_FLUSH, 16 producer threads, a consumer alongside).
# Both see the same machine drift, so the ratio within a pair is steadier than two medians of
# runs made minutes apart (bench/metrics-cost.sh). Prints every pair, then the median of the
# on/off ratios and both medians. Needs an otherwise idle machine.
#
#   bench/metrics-cost-paired.sh [N]   N pairs [5]; BENCH_DURATION [20] s, BENCH_WARMUP [3] s per run
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-5}
OUT=${BENCH_WORK:-$PWD/target/bench-work}/metrics-paired-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
skip_build=${BENCH_SKIP_BUILD:-0}
run() { # run MODE PAIR NS_PORT BROKER_PORT METRICS_BASE
  local mode=$1 i=$2
  BENCH_METRICS=$mode BENCH_RESULTS="$OUT/$mode-$i" BENCH_WORK="$OUT/work-$mode" BENCH_PHASES=send \
    BENCH_IMPLS=rmq BENCH_GENERATORS=rust BENCH_FLUSH=ASYNC_FLUSH BENCH_THREADS=16 \
    BENCH_DURATION=${BENCH_DURATION:-20} BENCH_WARMUP=${BENCH_WARMUP:-3} BENCH_SKIP_BUILD=1 \
    BENCH_DROP_CACHES=0 BENCH_NS_PORT=$3 BENCH_BROKER_PORT=$4 BENCH_NS_METRICS_PORT=$5 \
    BENCH_BROKER_METRICS_PORT=$(($5 + 1)) bench/run.sh > "$OUT/$mode-$i.log" 2>&1
}
if [[ $skip_build != 1 ]]; then
  cargo build --release -q -p rmq-broker -p rmq-namesrv -p rmq-bench
fi
for i in $(seq 1 "$PAIRS"); do
  run on "$i" 19876 20911 25557 & on=$!
  run off "$i" 29876 30911 35557 & off=$!
  wait "$on" || { echo "pair $i: the metrics-on run failed: see $OUT/on-$i.log" >&2; exit 1; }
  wait "$off" || { echo "pair $i: the metrics-off run failed: see $OUT/off-$i.log" >&2; exit 1; }
  on_tps=$(jq -r '.send_tps' "$OUT/on-$i/runs.jsonl")
  off_tps=$(jq -r '.send_tps' "$OUT/off-$i/runs.jsonl")
  echo "$i $on_tps $off_tps" | tee -a "$OUT/pairs.txt"
done
python3 - "$OUT/pairs.txt" <<'PY'
import statistics, sys
pairs = [tuple(map(float, line.split()[1:])) for line in open(sys.argv[1])]
ratios = [on / off for on, off in pairs]
on, off = [p[0] for p in pairs], [p[1] for p in pairs]
for name, v in (("on", on), ("off", off)):
    med = statistics.median(v)
    print(f"metrics {name:3}: median {med:9.0f} send TPS, min {min(v):9.0f}, max {max(v):9.0f} (spread {(max(v) - min(v)) / med * 100:.1f}%)")
print("on/off per pair: " + ", ".join(f"{r:.3f}" for r in ratios))
print(f"median on/off ratio {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}): "
      f"metrics cost {(1 - statistics.median(ratios)) * 100:+.1f}% of send TPS")
PY
