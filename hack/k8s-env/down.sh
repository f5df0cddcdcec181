#!/usr/bin/env bash
# Stops what up.sh started (only the PIDs it recorded, newest first). Usage: down.sh [state dir]
set -u
STATE=${1:-${K8S_ENV_DIR:?K8S_ENV_DIR not set}}
[ -f "$STATE/pids" ] || exit 0
tac "$STATE/pids" | while read -r pid; do kill "$pid" 2>/dev/null || true; done
sleep 2
tac "$STATE/pids" | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
rm -f "$STATE/pids"
