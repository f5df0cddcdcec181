# shellcheck shell=bash
# Starting and stopping the two implementations for bench/run.sh: Apache RocketMQ 5.3.3 (JVMs from
# Maven Central jars) and rmq (target/release binaries), on loopback, same broker.conf keys.
# Sourced by run.sh; uses its globals (WORK, RESULTS, NS_PORT, BROKER_PORT, BROKER_CPUS, GEN_CPUS,
# APACHE_CP, BIN, LOGS) and sets NS_PID / BROKER_PID.

NS_PID=""
BROKER_PID=""

# The JVM flags of the Apache servers (pinned; override with BENCH_APACHE_BROKER_JVM / _NAMESRV_JVM).
# From the shipped runbroker.sh/runserver.sh (G1 settings, direct memory, no large pages) with the
# heap set to 2 GiB; without -XX:+AlwaysPreTouch, which would make the whole heap resident (RssAnon)
# at start and so flatter our RssAnon ratio.
APACHE_BROKER_JVM="${BENCH_APACHE_BROKER_JVM:--server -Xms2g -Xmx2g -XX:MaxDirectMemorySize=2g -XX:+UseG1GC \
-XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 \
-XX:SoftRefLRUPolicyMSPerMB=0 -XX:-OmitStackTraceInFastThrow -XX:-UseLargePages}"
APACHE_NAMESRV_JVM="${BENCH_APACHE_NAMESRV_JVM:--server -Xms512m -Xmx512m -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow}"
# JDK 17 module opens RocketMQ needs (harmless on 5.x; see tests/java and testkit).
JAVA_OPENS="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED"

java_bin() {
  if [[ -n "${JAVA_HOME:-}" ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

# write_confs DIR FLUSH STORE: namesrv.conf and broker.conf for both implementations.
write_confs() {
  local dir=$1 flush=$2 store=$3
  mkdir -p "$dir" "$store"
  cat > "$dir/namesrv.conf" <<CONF
listenPort=$NS_PORT
bindAddress=127.0.0.1
kvConfigPath=$dir/kvConfig.json
metricsPromExporterPort=${BENCH_NS_METRICS_PORT:-5558}
CONF
  cat > "$dir/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=$flush
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
bindAddress=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=127.0.0.1:$NS_PORT
storePathRootDir=$store
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
metricsPromExporterPort=${BENCH_BROKER_METRICS_PORT:-5557}
CONF
  # BENCH_METRICS=off: no metrics recorded or served (Apache's default anyway).
  if [[ ${BENCH_METRICS:-on} == off ]]; then
    echo "metricsExporterType=DISABLE" >> "$dir/broker.conf"
  fi
}

# wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then return 0; fi
    sleep 0.02
  done
  return 1
}

# port_free PORT: true when nothing listens there.
port_free() {
  ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

# start_namesrv IMPL DIR: starts the NameServer (pinned to the generator CPUs, so the broker has its
# core to itself) and waits until it accepts connections.
start_namesrv() {
  local impl=$1 dir=$2 log
  log="$LOGS/$(basename "$dir")-namesrv-$(date +%H%M%S).log"
  port_free "$NS_PORT" || die "port $NS_PORT is in use (set BENCH_NS_PORT)"
  if [[ $impl == apache ]]; then
    # shellcheck disable=SC2086 # the JVM flag strings are lists of words
    taskset -c "$GEN_CPUS" "$(java_bin)" $APACHE_NAMESRV_JVM $JAVA_OPENS -Duser.home="$dir/home" \
      -Drocketmq.home.dir="$dir/home" -Drmq.logback.configurationFile=rmq.namesrv.logback.xml \
      -cp "$APACHE_CP" org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" > "$log" 2>&1 &
  else
    taskset -c "$GEN_CPUS" "$BIN/rmq-namesrv" -c "$dir/namesrv.conf" > "$log" 2>&1 &
  fi
  NS_PID=$!
  wait_port "$NS_PORT" 120 || die "$impl NameServer did not listen on $NS_PORT within 120 s (log: $log)"
}

# start_broker IMPL DIR: spawns the broker pinned to BROKER_CPUS; records the spawn time in ns.
start_broker() {
  local impl=$1 dir=$2 log
  log="$LOGS/$(basename "$dir")-broker-$(date +%H%M%S).log"
  port_free "$BROKER_PORT" || die "port $BROKER_PORT is in use (set BENCH_BROKER_PORT)"
  BROKER_SPAWN_NS=$(date +%s%N)
  if [[ $impl == apache ]]; then
    # shellcheck disable=SC2086
    taskset -c "$BROKER_CPUS" "$(java_bin)" $APACHE_BROKER_JVM $JAVA_OPENS -Duser.home="$dir/home" \
      -Drocketmq.home.dir="$dir/home" -Drmq.logback.configurationFile=rmq.broker.logback.xml \
      -cp "$APACHE_CP" org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" > "$log" 2>&1 &
  else
    taskset -c "$BROKER_CPUS" "$BIN/rmq-broker" -c "$dir/broker.conf" > "$log" 2>&1 &
  fi
  BROKER_PID=$!
  BROKER_LOG=$log
}

# wait_ready KIND: waits for the broker's registration; prints the ready time in ms and appends it
# to ready.jsonl with KIND (empty / 10gib).
wait_ready() {
  local kind=$1 out
  out=$(taskset -c "$GEN_CPUS" "$BIN/rmq-bench" --output json ready -n "127.0.0.1:$NS_PORT" \
    --broker-name broker-a --since-epoch-ns "$BROKER_SPAWN_NS" --timeout "${BENCH_READY_TIMEOUT:-300}s") || return 1
  jq -c --arg impl "$CUR_IMPL" --arg flush "$CUR_FLUSH" --arg kind "$kind" --argjson store_bytes "${2:-0}" \
    '{impl: $impl, flush: $flush, store: $kind, store_bytes: $store_bytes, ready_ms: .ready_ms}' <<< "$out" \
    >> "$RESULTS/ready.jsonl"
  jq -r '.ready_ms' <<< "$out"
}

# stop_pid PID NAME: SIGTERM (shutdown hooks run), SIGKILL after 60 s.
stop_pid() {
  local pid=$1 name=$2 i
  [[ -n $pid ]] && kill -0 "$pid" 2> /dev/null || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2> /dev/null; then
    log "  $name ($pid) ignored SIGTERM for 60 s; killing it"
    kill -KILL "$pid" 2> /dev/null || true
  fi
  wait "$pid" 2> /dev/null || true
}

stop_servers() {
  stop_pid "$BROKER_PID" broker
  BROKER_PID=""
  stop_pid "$NS_PID" namesrv
  NS_PID=""
}

# up IMPL FLUSH DIR STORE KIND [STORE_BYTES]: fresh NameServer, then the broker; records the ready time.
up() {
  local impl=$1 flush=$2 dir=$3 store=$4 kind=$5 ms
  CUR_IMPL=$impl CUR_FLUSH=$flush
  write_confs "$dir" "$flush" "$store"
  start_namesrv "$impl" "$dir"
  start_broker "$impl" "$dir"
  ms=$(wait_ready "$kind" "${6:-0}") || die "the $impl broker did not register (log: $BROKER_LOG)"
  log "  $impl broker ready in $ms ms ($kind store, $flush; pid $BROKER_PID)"
}
