#!/usr/bin/env bash
# The operator and its packaging against a real control plane (kube-apiserver + etcd +
# kube-controller-manager built from the Go module proxy by hack/k8s-env/build.sh; the first,
# cold build takes ~15-25 minutes on two cores, later runs reuse ~/.cache/rmq/k8s-test-bins):
#   1. the generated files (CRDs, chart copies, deploy bundle) match their sources;
#   2. `helm lint` and `helm template` pass, and after the install below the rendered chart, the
#      deploy bundle and the example resources are accepted by the apiserver (server-side dry run);
#   3. `helm install` installs the operator (CRDs, RBAC, Deployment) (no kubelet runs: its pod
#      stays Pending);
#   4. operator/tests/cluster.rs runs the operator with the chart's RBAC (the ServiceAccount's
#      identity) and checks what it does to clusters; operator/tests/leader_election.rs runs
#      rmq-operator processes contending for the chart's leader Lease.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
step() { printf '\n--> %s\n' "$*"; }

step "build the control plane (cached)"
K8S_BIN_DIR=${K8S_BIN_DIR:-$(hack/k8s-env/build.sh)}
export K8S_BIN_DIR PATH="$K8S_BIN_DIR:$PATH"

step "generated files are up to date (hack/gen-deploy.sh)"
hack/gen-deploy.sh
if ! git diff --quiet -- crds charts deploy || [ -n "$(git status --porcelain -- crds charts deploy)" ]; then
  git status --short -- crds charts deploy
  git diff --stat -- crds charts deploy
  echo "run hack/gen-deploy.sh and commit the result" >&2
  exit 1
fi

step "helm lint and template"
kube_version=$(. hack/k8s-env/versions.env && echo "$K8S_VERSION")
helm lint --strict charts/rmq-operator --kube-version "$kube_version"
rendered=$(mktemp -d)
helm template rmq-operator charts/rmq-operator --namespace rmq-system --kube-version "$kube_version" \
  --set grafanaDashboards.enabled=true --set sampleCluster.enabled=true > "$rendered/chart.yaml"
helm template rmq-operator charts/rmq-operator --namespace rmq-system --kube-version "$kube_version" \
  --set metrics.serviceMonitor.enabled=true --set prometheusRule.enabled=true \
  --show-only templates/servicemonitor.yaml --show-only templates/prometheusrule.yaml > "$rendered/monitoring.yaml"
grep -q "kind: PrometheusRule" "$rendered/monitoring.yaml"

step "start kube-apiserver, etcd and kube-controller-manager"
eval "$(hack/k8s-env/up.sh)"
trap 'hack/k8s-env/down.sh "$K8S_ENV_DIR"; rm -rf "$rendered"' EXIT
kubectl version

step "helm install (the CRDs from the chart, RBAC, the operator Deployment)"
kubectl create namespace rmq-system
helm install rmq-operator charts/rmq-operator --namespace rmq-system --set grafanaDashboards.enabled=true
kubectl wait --for=condition=Established crd/rocketmqclusters.rmq.io crd/topics.rmq.io --timeout=60s
kubectl -n rmq-system get deployment/rmq-operator serviceaccount/rmq-operator
kubectl get clusterrole/rmq-operator clusterrolebinding/rmq-operator > /dev/null

step "server-side dry runs: the kubectl bundle, the chart with every option, the examples"
# --force-conflicts: helm's field manager owns the installed CRDs.
kubectl apply --server-side --force-conflicts --dry-run=server -f deploy/rmq-operator.yaml > /dev/null
kubectl apply --server-side --force-conflicts --dry-run=server -f "$rendered/chart.yaml" > /dev/null
kubectl apply --server-side --dry-run=server -n default -f deploy/examples/ > /dev/null

step "the operator, with the chart's RBAC, against the real apiserver"
cargo test -q -p rmq-operator --test cluster --test leader_election -- --ignored --test-threads=1 --nocapture
