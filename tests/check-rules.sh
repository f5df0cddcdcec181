#!/usr/bin/env bash
# Runs `promtool check rules` on deploy/prometheus/rules.yml. promtool is built once from the Go
# module proxy (Prometheus v3.0.1, module version v0.300.1) and cached in
# ${XDG_CACHE_HOME:-~/.cache}/rmq/; the first build downloads and compiles Prometheus (several
# minutes on two cores). Needs Go. Exit status: promtool's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=v0.300.1
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/rmq
PROMTOOL=$CACHE/promtool-$VERSION

if [[ ! -x $PROMTOOL ]]; then
  command -v go > /dev/null || { echo "check-rules.sh: Go is needed to build promtool" >&2; exit 2; }
  mkdir -p "$CACHE"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "check-rules.sh: building promtool $VERSION (first run only)" >&2
  # `go install …@version` refuses Prometheus (its go.mod has exclude directives): build it from
  # a throw-away module that requires it instead.
  (
    cd "$work"
    go mod init rmq-promtool > /dev/null 2>&1
    go get "github.com/prometheus/prometheus/cmd/promtool@$VERSION"
    go build -o "$PROMTOOL.tmp" github.com/prometheus/prometheus/cmd/promtool
  )
  mv "$PROMTOOL.tmp" "$PROMTOOL"
fi

"$PROMTOOL" check rules "$ROOT/deploy/prometheus/rules.yml"
