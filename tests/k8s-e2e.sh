#!/usr/bin/env bash
# End to end with pods that really run: a real kube-apiserver + etcd + kube-controller-manager
# (hack/k8s-env), the operator binary, and the test kubelet (tests/kubelet) running every pod of
# the namespace as a local process on its own 127.77.x.y address. `kubectl apply -f
# deploy/examples/cluster.yaml` must bring up a working cluster; the official Java client
# (tests/java OperatorE2ETest) then produces and consumes through it while the master pod's broker
# is killed with SIGKILL: the operator promotes the slave, the client keeps going, nothing
# acknowledged is lost, and the old master rejoins as a slave once the kubelet restarts it. A scale-out
# adds a group seeded with the first one's topics and consumer groups; a scale-in takes its write
# permission, is refused while a consumer group lags and removes it once drained. A Topic
# resource is created on the brokers, corrected after a change made with rmqadmin, and deleted.
# Last, deploy/examples/cluster-secure.yaml: ACL from a Secret (unsigned and non-admin requests
# refused, a Topic made with the operator's signed requests), TLS enforced on the remoting ports
# (plaintext refused) and mutual TLS on the gRPC admin API (a failover made through it).
# Needs root (the kubelet publishes pod DNS names in /etc/hosts). See tests/README.md for what the
# harness does not reproduce.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
step() { printf '\n--> %s\n' "$*"; }
# wait_for <what> <seconds> <command...>: retries the command every second.
wait_for() {
  local what=$1 limit=$2; shift 2
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 1; done
  echo "timed out after ${limit}s waiting for $what" >&2; return 1
}

step "build the servers, the operator and the test kubelet"
cargo build -q -p rmq-namesrv -p rmq-broker -p rmq-operator -p rmq-test-kubelet -p rmq-client
cargo build -q -p rmq-client --example producer
K8S_BIN_DIR=${K8S_BIN_DIR:-$(hack/k8s-env/build.sh)}
export K8S_BIN_DIR PATH="$K8S_BIN_DIR:$PATH"

step "start the control plane, the operator and the test kubelet"
eval "$(hack/k8s-env/up.sh)"
work=$(mktemp -d /tmp/rmq-e2e.XXXXXX)
pids=()
cleanup() {
  status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  hack/k8s-env/down.sh "$K8S_ENV_DIR"
  # The brokers' stores (preallocated 1 GiB CommitLog segments) go; the logs stay.
  [ "$status" -ne 0 ] || rm -rf "$work/kubelet/claims"
  echo "logs: $work (operator.log, kubelet.log, kubelet/pods/*/container.log)"
}
trap cleanup EXIT
kubectl apply --server-side -f crds/ > /dev/null
kubectl wait --for=condition=Established crd/rocketmqclusters.rmq.io crd/topics.rmq.io --timeout=60s > /dev/null
kubectl create namespace e2e
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/rmq-operator --metrics-addr "127.0.0.1:$metrics_port" --topic-resync-secs 3 > "$work/operator.log" 2>&1 &
pids+=($!)
# A killed container comes back after 30 s (the real kubelet's CrashLoopBackOff starts at 10 s):
# the operator's failover timeout is 10 s, so the slave is promoted before the old master returns.
target/debug/rmq-test-kubelet --namespace e2e --bin-dir "$root/target/debug" --work-dir "$work/kubelet" \
  --restart-backoff-secs 30 > "$work/kubelet.log" 2>&1 &
pids+=($!)

step "kubectl apply -f deploy/examples/cluster.yaml"
kubectl apply -n e2e -f deploy/examples/cluster.yaml
SECONDS=0
if ! kubectl -n e2e wait rocketmqcluster/demo --for=condition=Ready --timeout=240s; then
  kubectl -n e2e get rocketmqcluster/demo -o yaml; kubectl -n e2e get pods -o wide
  tail -30 "$work/operator.log" "$work/kubelet.log"
  exit 1
fi
echo "cluster Ready after ${SECONDS}s"
kubectl -n e2e get pods -o wide
namesrv=$(kubectl -n e2e get pods -l app.kubernetes.io/component=namesrv \
  -o jsonpath='{range .items[*]}{.status.podIP}:9876;{end}')
namesrv=${namesrv%;}
master=$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[0].masterPod}')
echo "NameServers $namesrv; master pod $master"

step "a Topic: created on the brokers, drift made with the admin tool corrected, deleted with its resource"
rmqadmin() { target/debug/rmqadmin -n "$namesrv" "$@"; }
write_queues() {
  rmqadmin topic route -t orders --output json 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["queueDatas"][0]["writeQueueNums"])'
}
queues_are() { [ "$(write_queues)" = "$1" ]; }
drift_corrected() {
  queues_are 8 && kubectl -n e2e get events --field-selector reason=DriftCorrected -o name | grep -q .
}
kubectl apply -n e2e -f deploy/examples/topic.yaml
kubectl -n e2e wait topic/orders --for=condition=Ready --timeout=60s
wait_for "topic orders in the route with 8 write queues" 30 queues_are 8
rmqadmin topic update -t orders -c demo -w 2 > /dev/null
echo "changed with rmqadmin: $(write_queues) write queues"
wait_for "the operator to correct the drift" 60 drift_corrected
kubectl -n e2e get events --field-selector reason=DriftCorrected -o jsonpath='{.items[0].message}{"\n"}'

step "the official Java client through the cluster while the master pod's broker is killed"
mvn -B -ntp -q -f tests/java/pom.xml -Drmq.run.name=k8s-e2e -Dtest=OperatorE2ETest -Dsurefire.failIfNoSpecifiedTests=false \
  -Drmq.e2e.namesrv="$namesrv" -Drmq.e2e.nsdomain="demo-namesrv-0.demo-namesrv.e2e.svc:8080" -Drmq.e2e.killMaster="kill -9 \$(cat $work/kubelet/pods/$master/pid)" test \
  > "$work/java.log" 2>&1 || { tail -60 "$work/java.log"; cat tests/java/target/surefire-reports/k8s-e2e/*-output.txt 2>/dev/null | tail -30; exit 1; }
cat tests/java/target/surefire-reports/k8s-e2e/*OperatorE2ETest-output.txt | grep -E "failover|consumed|address server" || true
grep -E "Tests run:" tests/java/target/surefire-reports/k8s-e2e/*OperatorE2ETest.txt

step "the operator promoted the slave, recorded it and the old master rejoined"
new_master=$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[0].masterPod}')
epoch=$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[0].epoch}')
echo "master pod now $new_master at epoch $epoch"
[ "$new_master" != "$master" ] || { echo "the master did not change" >&2; exit 1; }
[ "$epoch" -ge 1 ] || { echo "the epoch was not raised" >&2; exit 1; }
kubectl -n e2e get events --field-selector reason=MasterChanged -o name | grep -q . \
  || { echo "no MasterChanged event" >&2; exit 1; }
kubectl -n e2e wait rocketmqcluster/demo --for=condition=Ready --timeout=120s
kubectl -n e2e get pods -L rmq.io/role
[ "$(kubectl -n e2e get pod "$master" -o jsonpath='{.metadata.labels.rmq\.io/role}')" = slave ] \
  || { echo "the old master did not rejoin as a slave" >&2; exit 1; }
step "a switchover asked with an annotation hands mastership back to the old master"
kubectl -n e2e annotate rocketmqcluster/demo rmq.io/switchover=demo-broker-0/0
master_is() { [ "$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[0].masterPod}')" = "$1" ]; }
request_gone() { [ -z "$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.metadata.annotations.rmq\.io/switchover}')" ]; }
# The old master may still be restarting (it was told to follow and drops its divergent tail):
# the operator holds the request until that pod is a slave again.
wait_for "the switchover to demo-broker-0-0" 120 master_is demo-broker-0-0 || {
  kubectl -n e2e get events --field-selector reason=SwitchoverFailed -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
  exit 1
}
wait_for "the switchover request to be removed" 30 request_gone
kubectl -n e2e get events --field-selector reason=Switchover -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
old_ip=$(kubectl -n e2e get pod demo-broker-0-0 -o jsonpath='{.status.podIP}')
routed_master() {
  rmqadmin topic route -t orders --output json 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["brokerDatas"][0]["brokerAddrs"]["0"])'
}
route_points_at_old_master() { [ "$(routed_master)" = "$old_ip:10911" ]; }
wait_for "the route to name demo-broker-0-0 ($old_ip) as BrokerId 0" 30 route_points_at_old_master

step "scale out: a second broker group, seeded with the first group's topics and subscription groups"
# A topic made with the admin tool (no Topic resource) and the Java test's consumer groups (made
# by its consumers' heartbeats) are on group 0 only; the new group's master must get them.
rmqadmin topic create -t made-by-admin -c demo -r 4 -w 4 > /dev/null
kubectl -n e2e patch rocketmqcluster/demo --type merge -p '{"spec":{"broker":{"groups":2}}}'
# Seeded (its master registered with the NameServers) and its master pod in the status (what the
# failover controller saw: it may be a poll behind the NameServers).
group1_seeded() {
  [ "$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[1].seeded}' 2>/dev/null)" = true ] \
    && [ -n "$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[1].masterPod}' 2>/dev/null)" ]
}
wait_for "demo-broker-1 to be seeded" 240 group1_seeded
kubectl -n e2e get events --field-selector reason=Seeded -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
routed_groups() {
  rmqadmin topic route -t made-by-admin --output json 2>/dev/null \
    | python3 -c 'import json,sys; print(",".join(sorted(b["brokerName"] for b in json.load(sys.stdin)["brokerDatas"])))'
}
route_spans_both() { [ "$(routed_groups)" = "demo-broker-0,demo-broker-1" ]; }
wait_for "made-by-admin to be routed to both groups" 30 route_spans_both
new_group_master=$(kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.groups[1].masterPod}')
groups_file="$work/kubelet/claims/data-$new_group_master/store/config/subscriptionGroup.json"
grep -q '"cg_failover' "$groups_file" || { echo "the Java consumer group is not in $groups_file" >&2; exit 1; }
echo "made-by-admin routed to $(routed_groups); $new_group_master holds the Java consumer group"

step "scale in: the second group turns read-only, is refused while a consumer group lags, and goes once drained"
# 40 messages over both groups, and the Java test's consumer group (offline, on both groups since
# the seeding) made to start made-by-admin at 0: it lags on both.
java_group=$(grep -o '"cg_failover[^"]*"' "$groups_file" | head -1 | tr -d '"')
target/debug/examples/producer "$namesrv" made-by-admin 40 > /dev/null
rmqadmin offset reset-by-time -g "$java_group" -t made-by-admin -s 0 > /dev/null
kubectl -n e2e patch rocketmqcluster/demo --type merge -p '{"spec":{"broker":{"groups":1,"scaleInDrainSeconds":10}}}'
group1_perm() {
  rmqadmin topic route -t made-by-admin --output json 2>/dev/null | python3 -c \
    'import json,sys; print([q["perm"] for q in json.load(sys.stdin)["queueDatas"] if q["brokerName"]=="demo-broker-1"][0])'
}
group1_read_only() { [ "$(group1_perm)" = 4 ]; }
wait_for "demo-broker-1 to be routed read-only" 30 group1_read_only
degraded_reason() { kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.conditions[?(@.type=="Degraded")].reason}'; }
refused() { [ "$(degraded_reason)" = ScaleInRefused ]; }
wait_for "the scale-in to be refused ($java_group lags)" 60 refused
kubectl -n e2e get rocketmqcluster/demo -o jsonpath='{.status.conditions[?(@.type=="Degraded")].message}{"\n"}'
kubectl -n e2e get statefulset demo-broker-1 > /dev/null || { echo "a refused scale-in removed the group" >&2; exit 1; }
# The consumer group catches up (its offsets moved to the end): the group drains and goes.
rmqadmin offset reset-by-time -g "$java_group" -t made-by-admin -s -1 > /dev/null
group1_gone() { ! kubectl -n e2e get statefulset demo-broker-1 > /dev/null 2>&1; }
wait_for "demo-broker-1 to be removed once drained" 60 group1_gone
healthy() { [ "$(degraded_reason)" = Healthy ]; }
wait_for "Degraded to clear" 30 healthy
# Its brokers unregister as their pods stop: the route is back to one group.
route_on_group0_only() { [ "$(routed_groups)" = "demo-broker-0" ]; }
wait_for "made-by-admin to be routed to demo-broker-0 only" 30 route_on_group0_only
kubectl -n e2e get events --field-selector reason=GroupRemoved -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'

no_route() { ! rmqadmin topic route -t orders > /dev/null 2>&1; }
kubectl -n e2e delete topic/orders --timeout=60s
wait_for "topic orders to leave the route" 30 no_route
echo "topic orders deleted from the brokers and NameServers"
step "security from Secrets: ACL 1.0 and mutual TLS on the gRPC admin API (deploy/examples/cluster-secure.yaml, one group)"
# The demo cluster goes first (two cores). The admin certificate: a CA, and one certificate with
# CN=operator1 (the operator's admin account in the example's plain_acl.yml) for the broker pods'
# names, served by the brokers and presented by the operator's failover supervisors.
kubectl -n e2e delete rocketmqcluster/demo --wait=true --timeout=120s > /dev/null
tls="$work/admin-tls"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=rmq-admin-ca \
  -keyout "$tls/ca.key" -out "$tls/ca.crt" 2> /dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=operator1 \
  -keyout "$tls/tls.key" -out "$tls/tls.csr" 2> /dev/null
printf 'subjectAltName=DNS:*.secure-broker-0.e2e.svc\nextendedKeyUsage=serverAuth,clientAuth\n' > "$tls/ext"
openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/ext" -out "$tls/tls.crt" 2> /dev/null
kubectl -n e2e create secret generic secure-admin-tls --from-file="$tls/tls.crt" --from-file="$tls/tls.key" \
  --from-file="$tls/ca.crt" > /dev/null
# The remoting ports' certificate (TLS enforced): its own CA; peers check the chain only.
rtls="$work/remoting-tls"
mkdir -p "$rtls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=rmq-remoting-ca \
  -keyout "$rtls/ca.key" -out "$rtls/ca.crt" 2> /dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=secure-remoting \
  -keyout "$rtls/tls.key" -out "$rtls/tls.csr" 2> /dev/null
printf 'subjectAltName=DNS:*.secure-namesrv.e2e.svc,DNS:*.secure-broker-0.e2e.svc\nextendedKeyUsage=serverAuth,clientAuth\n' > "$rtls/ext"
openssl x509 -req -in "$rtls/tls.csr" -CA "$rtls/ca.crt" -CAkey "$rtls/ca.key" -CAcreateserial -days 2 \
  -extfile "$rtls/ext" -out "$rtls/tls.crt" 2> /dev/null
kubectl -n e2e create secret generic secure-tls --from-file="$rtls/tls.crt" --from-file="$rtls/tls.key" \
  --from-file="$rtls/ca.crt" > /dev/null
sed -e 's/groups: 2/groups: 1/' deploy/examples/cluster-secure.yaml | kubectl apply -n e2e -f -
SECONDS=0
secure_master() { kubectl -n e2e get rocketmqcluster/secure -o jsonpath='{.status.groups[0].masterPod}'; }
# A master in the status: the operator's supervisor read the brokers' status over mutual TLS.
secure_ready() { kubectl -n e2e wait rocketmqcluster/secure --for=condition=Ready --timeout=1s > /dev/null 2>&1 && [ -n "$(secure_master)" ]; }
wait_for "the secure cluster to be Ready with a master" 240 secure_ready || {
  kubectl -n e2e get rocketmqcluster/secure -o yaml; tail -30 "$work/operator.log"; exit 1; }
echo "secure cluster Ready after ${SECONDS}s, master pod $(secure_master)"
secure_ns=$(kubectl -n e2e get pods -l app.kubernetes.io/instance=secure,app.kubernetes.io/component=namesrv \
  -o jsonpath='{range .items[*]}{.status.podIP}:9876;{end}')
secure_ns=${secure_ns%;}
if target/debug/rmqadmin -n "$secure_ns" topic list > "$work/plaintext.log" 2>&1; then
  echo "a plaintext client was answered with TLS enforced" >&2; exit 1
fi
echo "plaintext remoting client refused (tls.server.mode=enforcing from spec.security.tls)"
if target/debug/rmqadmin -n "$secure_ns" --tls-ca "$rtls/ca.crt" topic create -t unsigned-topic -c secure > "$work/unsigned.log" 2>&1; then
  echo "an unsigned topic creation was accepted" >&2; exit 1
fi
grep -q "AccessKey is missing" "$work/unsigned.log" || { cat "$work/unsigned.log"; exit 1; }
echo "unsigned admin request refused: $(grep -o 'AccessKey is missing[^;]*' "$work/unsigned.log" | head -1)"
target/debug/rmqadmin -n "$secure_ns" --tls-ca "$rtls/ca.crt" --access-key orders-app --secret-key change-me-orders \
  topic create -t not-yours -c secure > "$work/not-admin.log" 2>&1 && { echo "a normal account created a topic" >&2; exit 1; }
grep -q "needs an admin account" "$work/not-admin.log" || { cat "$work/not-admin.log"; exit 1; }
printf 'apiVersion: rmq.io/v1alpha1\nkind: Topic\nmetadata: {name: orders}\nspec: {clusterRef: secure, writeQueueNums: 4, readQueueNums: 4}\n' \
  | kubectl apply -n e2e -f -
kubectl -n e2e wait topic/orders --for=condition=Ready --timeout=60s
echo "Topic orders created by the operator with its signed requests over TLS"
first_master=$(secure_master)
admin_tls=(--admin-tls-ca "$tls/ca.crt" --admin-tls-cert "$tls/tls.crt" --admin-tls-key "$tls/tls.key")
target/debug/rmqadmin replication status -a "$first_master.secure-broker-0.e2e.svc:10920" "${admin_tls[@]}" > /dev/null
if target/debug/rmqadmin replication status -a "$first_master.secure-broker-0.e2e.svc:10920" > /dev/null 2>&1; then
  echo "the gRPC admin API answered a plaintext client" >&2; exit 1
fi
echo "gRPC admin API: answers the admin certificate, refuses plaintext"
kill -9 "$(cat "$work/kubelet/pods/$first_master/pid")"
master_moved() { local now; now=$(secure_master); [ -n "$now" ] && [ "$now" != "$first_master" ]; }
wait_for "the operator to fail over over mutual TLS" 90 master_moved
echo "failover over mutual TLS: master pod $first_master -> $(secure_master) at epoch $(kubectl -n e2e get rocketmqcluster/secure -o jsonpath='{.status.groups[0].epoch}')"

# (the operator's leader Lease: this run's operator held it throughout)
kubectl get lease rmq-operator -o jsonpath='leader Lease held by {.spec.holderIdentity}{"\n"}'
echo "k8s-e2e: passed"
