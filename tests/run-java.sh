#!/usr/bin/env bash
# Java compatibility suite: the official Apache RocketMQ Java client against our servers.
#
#   tests/run-java.sh                  # against target/debug/rmq-{namesrv,broker}
#   RMQ_IMPL=apache tests/run-java.sh  # against the real Apache RocketMQ 5.3.3 (the reference)
#   RMQ_BIN_DIR=target/release tests/run-java.sh
#
# Runs, in order:
#   1. full suite, client 5.3.3, JSON headers (includes @Tag rust-client: our rmqadmin next to mqadmin)
#   2. smoke subset (@Tag smoke), client 5.3.3, ROCKETMQ (binary) headers
#   3. smoke subset, client 4.9.8
#   4. @Tag rust-client against the real Apache RocketMQ 5.3.3 (our Rust client/tools must work with it too;
#      only when RMQ_IMPL=rmq, since with RMQ_IMPL=apache run 1 already covers it)
# Needs Java 17+ and Maven (downloads everything from Maven Central). Exits non-zero if any run fails.
# Full Maven logs: tests/java/target/run-java-logs/; server logs: tests/java/target/rmq-work/;
# reports: tests/java/target/surefire-reports/<run>/ and tests/java/target/client-4.9.8/surefire-reports/.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PROJ="$HERE/java"
IMPL="${RMQ_IMPL:-rmq}"
BIN_DIR="${RMQ_BIN_DIR:-$ROOT/target/debug}"
case "$BIN_DIR" in /*) ;; *) BIN_DIR="$ROOT/$BIN_DIR" ;; esac
LOGS="$PROJ/target/run-java-logs"
mkdir -p "$LOGS"

require_bin() {
  if [ ! -x "$BIN_DIR/$1" ]; then
    echo "run-java.sh: $BIN_DIR/$1 not found (run 'cargo build -p rmq-namesrv -p rmq-broker -p rmq-controller -p rmq-client' first, or set RMQ_BIN_DIR)" >&2
    exit 1
  fi
}
case "$IMPL" in
  rmq) require_bin rmq-namesrv; require_bin rmq-broker; require_bin rmq-controller ;;
  apache) ;;
  *) echo "run-java.sh: RMQ_IMPL must be 'rmq' or 'apache', got '$IMPL'" >&2; exit 2 ;;
esac
# The rust-client tests run our rmqadmin against either implementation.
require_bin rmqadmin
command -v mvn >/dev/null || { echo "run-java.sh: mvn not found" >&2; exit 1; }

FAILED=()
PASSED_TOTAL=0
FAILED_TOTAL=0
SKIPPED_TOTAL=0

# run NAME MAVEN-ARGS...: prints only Surefire's progress/summary lines and errors (without stack traces);
# a -Drmq.impl=... among the arguments overrides IMPL for that run
run() {
  local name="$1"; shift
  local log="$LOGS/$name.log"
  local start=$SECONDS
  local impl="$IMPL" a
  for a in "$@"; do
    case "$a" in -Drmq.impl=*) impl="${a#-Drmq.impl=}" ;; esac
  done
  echo "=== [$name] impl=$impl $*"
  mvn -B -ntp -f "$PROJ/pom.xml" -Drmq.impl="$impl" -Drmq.bin.dir="$BIN_DIR" -Drmq.run.name="$name" "$@" test \
      > "$log" 2>&1
  local rc=$?
  grep -E '^\[(INFO|WARNING|ERROR)\] (Running |Tests run:|Results:|BUILD )|^\[ERROR\] |^\[WARNING\] Tests run:' "$log" \
    | grep -vE '^\[ERROR\] *$|^\[ERROR\] (-> \[Help|Re-run Maven|For more information|To see the full|Please refer|\[Help 1\])' \
    || true
  echo "=== [$name] exit=$rc, $((SECONDS - start)) s (full log: $log)"
  [ $rc -eq 0 ] || FAILED+=("$name")
  # Surefire's aggregate line: "Tests run: N, Failures: F, Errors: E, Skipped: S" (the last one).
  local totals
  totals=$(grep -E '^\[(INFO|WARNING|ERROR)\] Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' "$log" | tail -1)
  if [ -n "$totals" ]; then
    local n f e sk
    read -r n f e sk < <(echo "$totals" | sed -E 's/.*Tests run: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+), Skipped: ([0-9]+)/\1 \2 \3 \4/')
    PASSED_TOTAL=$((PASSED_TOTAL + n - f - e - sk))
    FAILED_TOTAL=$((FAILED_TOTAL + f + e))
    SKIPPED_TOTAL=$((SKIPPED_TOTAL + sk))
  elif [ $rc -ne 0 ]; then
    FAILED_TOTAL=$((FAILED_TOTAL + 1))
  fi
}

run full-json
run smoke-rocketmq-serialize -Dgroups=smoke -Drocketmq.serialize.type=ROCKETMQ
run smoke-client-4.9.8 -Pclient-4.9.8
if [ "$IMPL" = rmq ]; then
  run rust-client-apache -Drmq.impl=apache -Dgroups=rust-client
fi

echo "java: $PASSED_TOTAL passed, $FAILED_TOTAL failed, $SKIPPED_TOTAL skipped"
if [ ${#FAILED[@]} -ne 0 ]; then
  echo "run-java.sh: FAILED runs: ${FAILED[*]} (impl=$IMPL)"
  exit 1
fi
echo "run-java.sh: all runs passed (impl=$IMPL)"
