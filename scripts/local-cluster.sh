#!/usr/bin/env bash
# Starts a local rmq cluster: one NameServer and one broker on loopback, data under
# ./.rmq-local (or $RMQ_LOCAL_DIR). Ctrl-C stops both.
#   NameServer 127.0.0.1:9876   broker 127.0.0.1:10911 (VIP 10909)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${RMQ_LOCAL_DIR:-$PWD/.rmq-local}"
NS_PORT="${NS_PORT:-9876}"
BROKER_PORT="${BROKER_PORT:-10911}"
mkdir -p "$DIR/store" "$DIR/logs"

echo "building rmq-namesrv and rmq-broker (release)..."
cargo build --release -q -p rmq-namesrv -p rmq-broker

cat > "$DIR/namesrv.properties" <<CONF
listenPort=$NS_PORT
bindAddress=127.0.0.1
kvConfigPath=$DIR/kvConfig.json
CONF
cat > "$DIR/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=127.0.0.1:$NS_PORT
storePathRootDir=$DIR/store
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
CONF

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped; data kept in $DIR"
}
trap cleanup EXIT INT TERM

target/release/rmq-namesrv -c "$DIR/namesrv.properties" > "$DIR/logs/namesrv.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$NS_PORT") 2>/dev/null && break; sleep 0.1; done
target/release/rmq-broker -c "$DIR/broker.conf" > "$DIR/logs/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "boot success" "$DIR/logs/broker.log" 2>/dev/null && break; sleep 0.1; done

cat <<EOT
rmq local cluster is up
  NameServer : 127.0.0.1:$NS_PORT      (export NAMESRV_ADDR=127.0.0.1:$NS_PORT)
  Broker     : broker-a @ 127.0.0.1:$BROKER_PORT in cluster DefaultCluster
  Data       : $DIR/store
  Logs       : $DIR/logs/{namesrv,broker}.log
Press Ctrl-C to stop.
EOT
wait
