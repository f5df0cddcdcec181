#!/usr/bin/env bash
# Developer-run: regenerates {k8s,etcd,tools}/go.mod + go.sum for versions.env (commit the result).
# k8s.io/kubernetes replaces every staging module with ./staging/...; here each one is pinned to its
# published v0.X.Y tag instead, which is what makes the module buildable as a dependency.
set -euo pipefail
cd "$(dirname "$0")"
source ./versions.env
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
staging="v0.${K8S_VERSION#1.}"

( cd k8s
  rm -f go.mod go.sum
  go mod init example.invalid/k8s-test-bins >/dev/null 2>&1
  kgomod=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" |
           python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$kgomod")"
  gd=$(awk '$1=="godebug" && $2 ~ /^default=/ {print $2; exit}' "$kgomod")
  if [ -n "$gd" ]; then go mod edit -godebug="$gd"; fi
  awk '$1=="replace"{$1=""; $0=$0} $2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$kgomod" |
    while read -r m; do go mod edit -replace="${m}=${m}@${staging}"; done
  go mod edit -require="k8s.io/kubernetes@v${K8S_VERSION}"
  go mod tidy
)
( cd etcd
  rm -f go.mod go.sum
  go mod init example.invalid/etcd-test-bin >/dev/null 2>&1
  go mod edit -require="go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
  go mod tidy
)
( cd tools
  rm -f go.mod go.sum
  go mod init example.invalid/k8s-test-tools >/dev/null 2>&1
  go mod edit -require="helm.sh/helm/v4@v${HELM_VERSION}"
  go mod tidy
)
