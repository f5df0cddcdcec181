#!/usr/bin/env bash
# Side-by-side benchmark of Apache RocketMQ 5.3.3 and rmq (see BENCHMARKS.md): same machine, same
# broker.conf keys, same load generators (the official Java benchmark Producer/Consumer and
# rmq-bench), broker pinned to one core and generators to another. Writes a results directory with
# raw logs, JSON lines and summary.md.
#
#   bench/run.sh                                        # everything, ~30 min, ≤ 30 GiB disk
#   BENCH_DURATION=5 BENCH_THREADS=16 BENCH_FLUSH=ASYNC_FLUSH BENCH_PHASES=disk,send bench/run.sh   # smoke
#
# Environment (defaults in brackets):
#   BENCH_PHASES      disk,send,ready10g   disk = dd bandwidth; send = the load runs (each start also
#                     times ready on an empty store); ready = only the empty-store ready time;
#                     ready10g = fill a 10 GiB store, evict it from the page cache, time the restart
#   BENCH_IMPLS       [apache,rmq]          BENCH_FLUSH      [ASYNC_FLUSH,SYNC_FLUSH]
#   BENCH_THREADS     [16,64]               BENCH_GENERATORS [java,rust]
#   BENCH_DURATION    [60] s per run        BENCH_WARMUP     [5] s (rmq-bench only; the Java tool has none)
#   BENCH_SIZE        [1024] bytes          BENCH_CONSUME    [1] run a consumer alongside each producer
#   BENCH_FILL_GIB    [10]                  BENCH_DD_MIB     [2048]
#   BENCH_WORK        [target/bench-work]   BENCH_RESULTS    [$BENCH_WORK/results-<time>]
#   BENCH_NS_PORT     [19876]               BENCH_BROKER_PORT [20911] (also uses port-2 and port+1)
#   BENCH_NS_METRICS_PORT [5558]            BENCH_BROKER_METRICS_PORT [5557] (rmq's /metrics ports)
#   BENCH_BROKER_CPUS [0]                   BENCH_GEN_CPUS   [1]   (taskset lists; no pinning on 1 CPU)
#   BENCH_STORE_LIMIT_GIB [16] restart on a fresh store when a block's store grows past this
#   BENCH_SKIP_BUILD  [0]                   BENCH_DROP_CACHES [1]  try the global drop_caches
#   BENCH_METRICS     [on]                  off: metricsExporterType=DISABLE (nothing recorded or served)
#   RMQ_APACHE_CLASSPATH / BENCH_JAVA_CLASSPATH  skip the Maven resolution of either classpath
#   BENCH_SUMMARY_ONLY=<results dir>   re-render that directory's summary.md and exit
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib/servers.sh
source "$ROOT/bench/lib/servers.sh"
# shellcheck source=bench/lib/measure.sh
source "$ROOT/bench/lib/measure.sh"
# shellcheck source=bench/lib/summary.sh
source "$ROOT/bench/lib/summary.sh"

log() {
  local line
  line="$(date +%H:%M:%S) $*"
  echo "$line" >&2
  if [[ -d ${RESULTS:-} ]]; then echo "$line" >> "$RESULTS/run.log"; fi
}
die() {
  log "error: $*"
  exit 1
}
csv() { tr ',' ' ' <<< "$1"; }
has_phase() { [[ ",$PHASES," == *",$1,"* ]]; }

if [[ -n ${BENCH_SUMMARY_ONLY:-} ]]; then
  render_summary "$BENCH_SUMMARY_ONLY"
  cat "$BENCH_SUMMARY_ONLY/summary.md"
  exit 0
fi

PHASES=${BENCH_PHASES:-disk,send,ready10g}
IMPLS=${BENCH_IMPLS:-apache,rmq}
FLUSHES=${BENCH_FLUSH:-ASYNC_FLUSH,SYNC_FLUSH}
THREADS=${BENCH_THREADS:-16,64}
GENERATORS=${BENCH_GENERATORS:-java,rust}
DURATION=${BENCH_DURATION:-60}
WARMUP=${BENCH_WARMUP:-5}
SIZE=${BENCH_SIZE:-1024}
CONSUME=${BENCH_CONSUME:-1}
FILL_GIB=${BENCH_FILL_GIB:-10}
DD_MIB=${BENCH_DD_MIB:-2048}
NS_PORT=${BENCH_NS_PORT:-19876}
BROKER_PORT=${BENCH_BROKER_PORT:-20911}
STORE_LIMIT_GIB=${BENCH_STORE_LIMIT_GIB:-16}
WORK=$(mkdir -p "${BENCH_WORK:-$ROOT/target/bench-work}" && cd "${BENCH_WORK:-$ROOT/target/bench-work}" && pwd)
RESULTS=${BENCH_RESULTS:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
LOGS=$RESULTS/logs
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
JAVA_GEN_JVM=${BENCH_JAVA_GEN_JVM:--server -Xms1g -Xmx1g -XX:+UseG1GC}
mkdir -p "$LOGS"
ln -sfn "$RESULTS" "$WORK/results-latest"

if (($(nproc) >= 2)); then
  BROKER_CPUS=${BENCH_BROKER_CPUS:-0}
  GEN_CPUS=${BENCH_GEN_CPUS:-1}
else
  BROKER_CPUS=0 GEN_CPUS=0
fi

for tool in java mvn jq taskset dd; do
  command -v "$tool" > /dev/null || die "$tool is required (apt-get install openjdk-17-jdk-headless maven jq util-linux coreutils)"
done

children=()
cleanup() {
  local pid
  for pid in "${children[@]}"; do stop_pid "$pid" generator; done
  stop_servers
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- machine and settings
machine_info() {
  local dev fs
  dev=$(df --output=source "$WORK" | tail -1)
  fs=$(df --output=fstype "$WORK" | tail -1)
  echo "## Machine"
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores online ($(lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*/hypervisor /p'))"
  echo "- RAM: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- Disk: $dev ($fs) for $WORK, $(df -h --output=avail "$WORK" | tail -1 | tr -d ' ') free; $(lsblk -dno NAME,SIZE,ROTA,MODEL 2> /dev/null | awk '$1 !~ /^(zram|loop)/ { printf "%s %s rotational=%s %s; ", $1, $2, $3, $4 }')"
  echo "- Kernel $(uname -r); $(java -version 2>&1 | head -1); rmq $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?')"
  echo "- Pinning: broker on CPU $BROKER_CPUS, NameServer and generators on CPU $GEN_CPUS"
  echo "- Date: $(date -u +'%Y-%m-%d %H:%M UTC')"
}

# ---------------------------------------------------------------- classpaths and build
# resolve_cp POM CACHE: the runtime classpath of POM, cached in CACHE while every jar still exists.
resolve_cp() {
  local pom=$1 cache=$2
  if [[ -s $cache ]] && tr ':' '\n' < "$cache" | while read -r jar; do [[ -e $jar ]] || exit 1; done; then
    cat "$cache"
    return
  fi
  mvn -B -q -f "$pom" dependency:build-classpath -Dmdep.outputFile="$cache.tmp" > "$LOGS/mvn-$(basename "$cache").log" 2>&1 ||
    die "resolving $pom failed (see $LOGS/mvn-$(basename "$cache").log)"
  mv "$cache.tmp" "$cache"
  cat "$cache"
}

# ---------------------------------------------------------------- one load run
# run_one IMPL FLUSH GENERATOR THREADS: topic, consumer, producer, CPU/RSS samples, one runs.jsonl line.
run_one() {
  local impl=$1 flush=$2 gen=$3 threads=$4
  local topic="bench_${gen}_t${threads}" group="bench_cg_${gen}_t${threads}"
  local tag="$impl-$flush-$gen-t$threads" ns="127.0.0.1:$NS_PORT"
  local cpu0 cpu1 t0 t1 rss stored cons_pid="" prod cons
  "$BIN/rmq-bench" --output json create-topic -n "$ns" -t "$topic" -q 8 > /dev/null 2>> "$LOGS/$tag.admin.log" ||
    die "creating $topic failed (see $LOGS/$tag.admin.log)"
  log "  run $tag: ${DURATION}s, $threads threads, $SIZE B"
  cpu0=$(cpu_ticks "$BROKER_PID")
  if [[ $CONSUME == 1 ]]; then
    if [[ $gen == java ]]; then
      # shellcheck disable=SC2086
      taskset -c "$GEN_CPUS" "$(java_bin)" $JAVA_GEN_JVM -Duser.home="$WORK/java-client" \
        -Drmq.logback.configurationFile=rmq.client.logback.xml -cp "$BENCH_CP" \
        org.apache.rocketmq.example.benchmark.Consumer -n "$ns" -t "$topic" -g "$group" -w 20 -ri 10000 \
        > "$LOGS/$tag.consumer.log" 2>&1 &
    else
      taskset -c "$GEN_CPUS" "$BIN/rmq-bench" --output json consume -n "$ns" -t "$topic" -g "$group" -w 20 \
        --duration "$((WARMUP + DURATION + 120))s" --idle-exit 5s > "$LOGS/$tag.consumer.json" 2> "$LOGS/$tag.consumer.log" &
    fi
    cons_pid=$!
    children+=("$cons_pid")
    sleep 3 # consumer start and rebalance
  fi
  t0=$(date +%s%N)
  if [[ $gen == java ]]; then
    # The official Producer runs until killed; +2 s so its last 10 s window is printed.
    # shellcheck disable=SC2086
    taskset -c "$GEN_CPUS" timeout --kill-after=10 "$((DURATION + 2))" "$(java_bin)" $JAVA_GEN_JVM \
      -Duser.home="$WORK/java-client" -Drmq.logback.configurationFile=rmq.client.logback.xml -cp "$BENCH_CP" \
      org.apache.rocketmq.example.benchmark.Producer -n "$ns" -t "$topic" -w "$threads" -s "$SIZE" -ri 10000 \
      > "$LOGS/$tag.producer.log" 2>&1 || true
    prod=$(java_producer_figures "$LOGS/$tag.producer.log")
  else
    taskset -c "$GEN_CPUS" "$BIN/rmq-bench" --output json produce -n "$ns" -t "$topic" -w "$threads" -s "$SIZE" \
      --duration "${DURATION}s" --warmup "${WARMUP}s" > "$LOGS/$tag.producer.json" 2> "$LOGS/$tag.producer.log" ||
      log "  rmq-bench produce failed (see $LOGS/$tag.producer.log)"
    prod=$(jq -c '{tps, avg_ms: .latency.avg_ms, p50_ms: .latency.p50_ms, p99_ms: .latency.p99_ms,
      p999_ms: .latency.p999_ms, max_ms: .latency.max_ms, failed}' "$LOGS/$tag.producer.json" 2> /dev/null || echo '{}')
  fi
  t1=$(date +%s%N)
  cons='{}'
  if [[ -n $cons_pid ]]; then
    if [[ $gen == java ]]; then
      sleep 5 # drain; the official Consumer never exits on its own
      stop_pid "$cons_pid" consumer
      cons=$(java_consumer_figures "$LOGS/$tag.consumer.log")
    else
      # It exits 5 s after the last message; past 60 s it is stopped (SIGTERM: it still reports).
      wait_exit "$cons_pid" 60 || stop_pid "$cons_pid" consumer
      wait "$cons_pid" 2> /dev/null || true
      cons=$(jq -c '{tps, e2e_avg_ms: .e2e_latency.avg_ms, e2e_p99_ms: .e2e_latency.p99_ms,
        e2e_max_ms: .e2e_latency.max_ms, consumed}' "$LOGS/$tag.consumer.json" 2> /dev/null || echo '{}')
    fi
    children=()
  fi
  cpu1=$(cpu_ticks "$BROKER_PID") || die "the $impl broker died during $tag (log: $BROKER_LOG)"
  rss=$(rss_anon_kib "$BROKER_PID")
  stored=$("$BIN/rmq-bench" --output json stored -n "$ns" -t "$topic" 2>> "$LOGS/$tag.admin.log" | jq '.messages') || stored=null
  jq -nc --arg impl "$impl" --arg flush "$flush" --arg gen "$gen" --argjson threads "$threads" --argjson size "$SIZE" \
    --argjson duration "$DURATION" --argjson prod "$prod" --argjson cons "$cons" --argjson stored "${stored:-null}" \
    --argjson cpu_ticks "$((cpu1 - cpu0))" --argjson tck "$CLK_TCK" --argjson rss_kib "${rss:-0}" \
    --argjson wall_ns "$((t1 - t0))" '
    ($cpu_ticks / $tck) as $cpu
    | (if $stored != null and $stored > 0 then $stored / ($wall_ns / 1e9) else null end) as $stored_tps
    | {impl: $impl, flush: $flush, generator: $gen, threads: $threads, size: $size, duration_s: $duration,
       send_tps: ($prod.tps // $stored_tps), stored_tps: $stored_tps, stored: $stored,
       lat_avg_ms: $prod.avg_ms, lat_p50_ms: $prod.p50_ms, lat_p99_ms: $prod.p99_ms, lat_p999_ms: $prod.p999_ms,
       lat_max_ms: $prod.max_ms, failed: $prod.failed,
       consume_tps: $cons.tps, e2e_avg_ms: $cons.e2e_avg_ms, e2e_p99_ms: $cons.e2e_p99_ms, e2e_max_ms: $cons.e2e_max_ms,
       cpu_s: $cpu, cpu_s_per_m: (if $stored != null and $stored > 0 then $cpu / $stored * 1e6 else null end),
       rss_anon_mib: ($rss_kib / 1024)}' >> "$RESULTS/runs.jsonl"
  log "    $(tail -1 "$RESULTS/runs.jsonl" | jq -r '"send TPS \(.send_tps // "?" | tostring | .[0:9]) | stored \(.stored) | p99 \(.lat_p99_ms // "–") ms | consume TPS \(.consume_tps // "–" | tostring | .[0:9]) | CPU \(.cpu_s_per_m // "?" | tostring | .[0:6]) s/1M | RssAnon \(.rss_anon_mib | floor) MiB"')"
}

# wait_exit PID SECONDS: true once PID has exited, false if it is still running after SECONDS.
wait_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2> /dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# keep_server_logs DIR NAME: Apache's own logs (user.home/logs/rocketmqlogs) into the results.
keep_server_logs() {
  if [[ -d $1/home/logs ]]; then cp -r "$1/home/logs" "$LOGS/$2-server-logs"; fi
}

store_gib() { du -s --block-size=1G "$1" 2> /dev/null | awk '{ print $1 }'; }

# ---------------------------------------------------------------- phases
phase_disk() {
  log "disk: dd ${DD_MIB} MiB to $WORK"
  disk_bandwidth "$WORK" "$DD_MIB"
}

phase_send() {
  local flush impl gen threads dir
  for flush in $(csv "$FLUSHES"); do
    for impl in $(csv "$IMPLS"); do
      dir="$WORK/$impl-$flush"
      rm -rf "$dir"
      log "block $impl $flush"
      up "$impl" "$flush" "$dir" "$dir/store" empty
      if has_phase send; then
        for threads in $(csv "$THREADS"); do
          for gen in $(csv "$GENERATORS"); do
            if (($(store_gib "$dir/store") >= STORE_LIMIT_GIB)); then
              log "  store past ${STORE_LIMIT_GIB} GiB: restarting on a fresh one"
              stop_servers
              rm -rf "$dir"
              up "$impl" "$flush" "$dir" "$dir/store" empty
            fi
            run_one "$impl" "$flush" "$gen" "$threads"
            sleep 2
          done
        done
      fi
      log "  store: $(du -sh "$dir/store" | cut -f1)"
      stop_servers
      keep_server_logs "$dir" "$impl-$flush"
      rm -rf "$dir"
    done
  done
}

phase_ready10g() {
  local impl dir bytes n how
  # 64 KiB bodies; a record adds ~150 B of header, topic and properties.
  n=$((FILL_GIB * 1024 * 1024 * 1024 / 65536))
  for impl in $(csv "$IMPLS"); do
    dir="$WORK/$impl-fill"
    rm -rf "$dir"
    log "ready10g $impl: filling a ${FILL_GIB} GiB store ($n × 64 KiB)"
    up "$impl" ASYNC_FLUSH "$dir" "$dir/store" empty
    "$BIN/rmq-bench" --output json create-topic -n "127.0.0.1:$NS_PORT" -t bench_fill -q 8 > /dev/null
    taskset -c "$GEN_CPUS" "$BIN/rmq-bench" --output json produce -n "127.0.0.1:$NS_PORT" -t bench_fill -w 16 \
      -s 65536 --messages "$n" --duration 3600s --report-interval 10s \
      > "$LOGS/$impl-fill.producer.json" 2> "$LOGS/$impl-fill.producer.log" || die "filling failed (see $LOGS/$impl-fill.producer.log)"
    log "  filled: $(jq -r '"\(.sent) msgs, \(.mib_per_s | floor) MiB/s"' "$LOGS/$impl-fill.producer.json")"
    stop_servers
    bytes=$(du -s -B1 "$dir/store" | cut -f1) # allocated, not apparent (sparse files)
    how=$(evict_cache "$dir")
    echo "$impl: $how" >> "$RESULTS/eviction.txt"
    log "  store $((bytes / 1048576)) MiB; page cache: $how"
    up "$impl" ASYNC_FLUSH "$dir" "$dir/store" "${FILL_GIB}gib" "$bytes"
    stop_servers
    keep_server_logs "$dir" "$impl-fill"
    rm -rf "$dir"
  done
}

# ---------------------------------------------------------------- main
{
  echo "impls=$IMPLS flush=$FLUSHES threads=$THREADS generators=$GENERATORS duration=${DURATION}s"
  echo "warmup(rmq-bench)=${WARMUP}s size=${SIZE}B consume=$CONSUME phases=$PHASES"
  echo "apache broker JVM: $APACHE_BROKER_JVM"
} | paste -sd ';' > "$RESULTS/settings.txt"
machine_info > "$RESULTS/machine.md"
cat "$RESULTS/machine.md" >&2
log "results: $RESULTS"
avail_gib=$(df --output=avail -B1G "$WORK" | tail -1 | tr -d ' ')
((avail_gib >= 30)) || log "warning: only $avail_gib GiB free in $WORK (a full run needs up to 30 GiB)"

if [[ ",$IMPLS," == *",apache,"* ]]; then
  APACHE_CP=${RMQ_APACHE_CLASSPATH:-$(resolve_cp "$ROOT/tests/java/apache-runtime/pom.xml" "$WORK/apache-runtime.classpath")}
fi
if [[ ",$GENERATORS," == *",java,"* ]] && has_phase send; then
  BENCH_CP=${BENCH_JAVA_CLASSPATH:-$(resolve_cp "$ROOT/bench/java/pom.xml" "$WORK/java-benchmark.classpath")}
fi
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "building rmq-namesrv, rmq-broker, rmq-bench (release)"
  (cd "$ROOT" && cargo build --release -q -p rmq-namesrv -p rmq-broker -p rmq-bench) 2>&1 | tee -a "$LOGS/build.log" >&2
fi

has_phase disk && phase_disk
if has_phase send || has_phase ready; then phase_send; fi
has_phase ready10g && phase_ready10g

render_summary "$RESULTS"
log "done in $((SECONDS / 60)) min $((SECONDS % 60)) s; summary: $RESULTS/summary.md"
cat "$RESULTS/summary.md"
