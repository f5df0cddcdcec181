#!/usr/bin/env bash
# Starts etcd + kube-apiserver + kube-controller-manager as plain processes on 127.0.0.1 and prints
# one line, `source <dir>/env`, which exports KUBECONFIG (admin), K8S_TEST_OPERATOR_KUBECONFIG (a token
# whose user is the operator's ServiceAccount, for RBAC tests), K8S_ENV_DIR and PATH (kubectl, helm).
# Usage: eval "$(hack/k8s-env/up.sh)"; ...; hack/k8s-env/down.sh
# WITH_KCM=0 starts the apiserver alone (no Pods from StatefulSets, no GC, namespaces never finish deleting).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BIN="${K8S_BIN_DIR:-$("$here/build.sh")}"
STATE="${K8S_ENV_DIR:-$(mktemp -d /tmp/k8s-env.XXXXXX)}"
mkdir -p "$STATE"/pki "$STATE"/logs
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); API_PORT=$(free_port)
OP_NS=${OPERATOR_NAMESPACE:-rmq-system}; OP_SA=${OPERATOR_SA:-rmq-operator}

# PKI: a CA, a serving certificate with loopback SANs, a service-account key, static tokens.
(
  cd "$STATE/pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj /CN=k8s-test-ca -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr 2>/dev/null
  printf '%s\n' \
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1' \
    'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' > san.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile san.ext -out apiserver.crt 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
)
ADMIN_TOKEN=$(openssl rand -hex 16); OPERATOR_TOKEN=$(openssl rand -hex 16)
cat > "$STATE/pki/tokens.csv" <<TOKENS
${ADMIN_TOKEN},admin,uid-admin,"system:masters"
${OPERATOR_TOKEN},system:serviceaccount:${OP_NS}:${OP_SA},uid-operator,"system:serviceaccounts,system:serviceaccounts:${OP_NS}"
TOKENS
write_kubeconfig() { # name token
  cat > "$STATE/$1.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:${API_PORT}
    certificate-authority: ${STATE}/pki/ca.crt
users:
- name: $1
  user:
    token: $2
contexts:
- name: test
  context: {cluster: test, user: $1, namespace: default}
current-context: test
KUBECONFIG
}
write_kubeconfig admin "$ADMIN_TOKEN"
write_kubeconfig operator "$OPERATOR_TOKEN"

wait_for() { # url seconds [curl args...]
  local url=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 2))); do
    curl -fsS "$@" "$url" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
fail() { echo "FAILED: $1; last log lines:" >&2; tail -60 "$STATE/logs/$1.log" >&2; "$here/down.sh" "$STATE"; exit 1; }

"$BIN/etcd" --name k8s-test --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
  --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-cluster "k8s-test=http://127.0.0.1:${ETCD_PEER_PORT}" \
  --unsafe-no-fsync=true --logger=zap --log-level=warn >"$STATE/logs/etcd.log" 2>&1 &
echo $! >> "$STATE/pids"
wait_for "http://127.0.0.1:${ETCD_PORT}/health" 30 || fail etcd

"$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:${ETCD_PORT}" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="${API_PORT}" \
  --tls-cert-file="$STATE/pki/apiserver.crt" --tls-private-key-file="$STATE/pki/apiserver.key" \
  --client-ca-file="$STATE/pki/ca.crt" \
  --token-auth-file="$STATE/pki/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$STATE/pki/sa.key" \
  --service-account-signing-key-file="$STATE/pki/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --disable-admission-plugins=ServiceAccount \
  --endpoint-reconciler-type=none \
  --allow-privileged=true \
  --cert-dir="$STATE/pki/apiserver-certdir" \
  --profiling=false --v=1 >"$STATE/logs/kube-apiserver.log" 2>&1 &
echo $! >> "$STATE/pids"
wait_for "https://127.0.0.1:${API_PORT}/readyz" 120 \
  --cacert "$STATE/pki/ca.crt" -H "Authorization: Bearer ${ADMIN_TOKEN}" || fail kube-apiserver

if [ "${WITH_KCM:-1}" = 1 ]; then
  "$BIN/kube-controller-manager" \
    --kubeconfig="$STATE/admin.kubeconfig" \
    --leader-elect=false \
    --root-ca-file="$STATE/pki/ca.crt" \
    --service-account-private-key-file="$STATE/pki/sa.key" \
    --cluster-signing-cert-file="$STATE/pki/ca.crt" --cluster-signing-key-file="$STATE/pki/ca.key" \
    --bind-address=127.0.0.1 --secure-port=0 \
    --kube-api-qps=100 --kube-api-burst=200 \
    --v=1 >"$STATE/logs/kube-controller-manager.log" 2>&1 &
  echo $! >> "$STATE/pids"
  # ready once the service-account controller has made default/default
  wait_for "https://127.0.0.1:${API_PORT}/api/v1/namespaces/default/serviceaccounts/default" 90 \
    --cacert "$STATE/pki/ca.crt" -H "Authorization: Bearer ${ADMIN_TOKEN}" || fail kube-controller-manager
fi

cat > "$STATE/env" <<ENV
export KUBECONFIG=$STATE/admin.kubeconfig
export K8S_TEST_OPERATOR_KUBECONFIG=$STATE/operator.kubeconfig
export K8S_ENV_DIR=$STATE
export PATH=$BIN:\$PATH
ENV
echo "source $STATE/env"
