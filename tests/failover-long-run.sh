#!/usr/bin/env bash
# The failover long run: the Java fault-injection scenario "kill -9 the master under load"
# (FailoverTest, official rocketmq-client 5.3.3, tuned route refresh) repeated N times (default 10),
# each on a fresh cluster, then the figures of every run: failover time, user-visible gap,
# acknowledged / consumed / lost / duplicated. CI runs the scenario once (tests/run-java.sh);
# this is the documented long version. Needs the debug binaries (cargo build) and Maven.
#
#   tests/failover-long-run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/java"
RUNS="${1:-10}"
BIN_DIR="${RMQ_BIN_DIR:-$PWD/../../target/debug}"
OUT="target/failover-long-run"
rm -rf "$OUT" && mkdir -p "$OUT"
for i in $(seq 1 "$RUNS"); do
  mvn -B -ntp -q -Drmq.impl=rmq -Drmq.bin.dir="$BIN_DIR" -Drmq.run.name="failover-long-$i" \
    -Dtest='FailoverTest#killingTheMasterFailsOverAndLosesNothingWithATunedClient' test >"$OUT/run-$i.log" 2>&1 \
    || { echo "run $i failed: see tests/java/$OUT/run-$i.log"; exit 1; }
  grep -h -E "^kill -9 master|^  consumed" target/surefire-reports/failover-long-$i/*-output.txt \
    | paste -sd' ' | sed "s/^/run $i: /"
done
