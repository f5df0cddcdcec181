#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust unit and integration tests
# (real sockets, real files, the real binaries), then the compatibility suite with the official
# Apache RocketMQ Java client and mqadmin against our binaries. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -q -- -D warnings

step "build the binaries and client examples the tests run as processes"
cargo build -q -p rmq-namesrv -p rmq-broker -p rmq-controller -p rmq-client --bins --examples

step "cargo test (workspace; the client's tests run against rmq and Apache RocketMQ 5.3.3)"
cargo test --workspace -q

step "Java compatibility suite (official rocketmq-client 5.3.3 / 4.9.8, mqadmin 5.3.3; rmqadmin vs mqadmin on rmq and Apache 5.3.3)"
RMQ_BIN_DIR="$PWD/target/debug" bash tests/run-java.sh

step "hadolint Dockerfile (hadolint from PyPI, cached in ~/.cache/rmq)"
bash tests/check-dockerfile.sh

step "promtool check rules (deploy/prometheus/rules.yml; promtool built from the Go module proxy, cached in ~/.cache/rmq)"
bash tests/check-rules.sh
