#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust unit and integration tests
# (real sockets, real files, the real binaries), then the compatibility suite with the official
# Apache RocketMQ Java client and mqadmin against our binaries. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s   [%s, %s free]\n' "$*" "$(date +%T)" "$(df -h --output=avail . | tail -1 | tr -d ' ')"; }

# A clean clone gains nothing from incremental compilation, which would double target/'s size.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -q -- -D warnings

step "build the binaries and client examples the tests run as processes"
cargo build -q -p rmq-namesrv -p rmq-broker -p rmq-controller -p rmq-client --bins --examples

step "cargo test (workspace; the client's tests run against rmq and Apache RocketMQ 5.3.3)"
cargo test --workspace -q

# The control plane for the operator tests is built from the Go module proxy (15-20 minutes cold,
# nothing when cached): at low priority while the Java suite, which mostly waits on its servers, runs.
step "build the Kubernetes control plane in the background (hack/k8s-env/build.sh; log target/k8s-build.log)"
mkdir -p target
nice -n 19 hack/k8s-env/build.sh > target/k8s-bin-dir 2> target/k8s-build.log &
k8s_build=$!

# The container image, built from the Dockerfile without a daemon (buildah, base images made
# locally; a release build, ~14 minutes): also at low priority while the Java suite runs.
step "build the container image in the background (tests/check-image.sh; log target/image-build.log)"
nice -n 19 bash tests/check-image.sh > target/image-build.log 2>&1 &
image_build=$!

step "Java compatibility suite (official rocketmq-client 5.3.3 / 4.9.8, mqadmin 5.3.3; rmqadmin vs mqadmin on rmq and Apache 5.3.3)"
RMQ_BIN_DIR="$PWD/target/debug" bash tests/run-java.sh

step "hadolint Dockerfile (hadolint from PyPI, cached in ~/.cache/rmq)"
bash tests/check-dockerfile.sh

step "promtool check rules (deploy/prometheus/rules.yml; promtool built from the Go module proxy, cached in ~/.cache/rmq)"
bash tests/check-rules.sh

step "the operator on a real kube-apiserver + etcd + kube-controller-manager (helm, kubectl, CRDs, RBAC)"
if ! wait "$k8s_build"; then
  tail -40 target/k8s-build.log
  echo "building the control plane failed (see target/k8s-build.log)" >&2
  exit 1
fi
K8S_BIN_DIR=$(cat target/k8s-bin-dir) bash tests/k8s-operator.sh

step "end to end: the example cluster as process-backed pods (tests/kubelet), the Java client through a master-pod kill, a Topic's life"
if [ -w /etc/hosts ]; then
  K8S_BIN_DIR=$(cat target/k8s-bin-dir) bash tests/k8s-e2e.sh
else
  # The test kubelet publishes pod DNS names in /etc/hosts; without root this one step cannot run.
  echo "SKIPPED: tests/k8s-e2e.sh needs a writable /etc/hosts (run as root)" >&2
fi

step "the container image: built without a daemon, rmq-broker --help inside it"
if ! wait "$image_build"; then
  tail -40 target/image-build.log
  echo "building the image failed (see target/image-build.log)" >&2
  exit 1
fi
grep -v '^ *Compiling ' target/image-build.log

