#!/usr/bin/env bash
# Builds the Dockerfile's image without a Docker daemon (hack/build-image.sh: buildah, base
# images made locally) and runs `rmq-broker --help` inside it. Installs buildah and debootstrap
# from Debian's packages when they are missing (as root); without root it says so and skips.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for tool in buildah debootstrap; do command -v "$tool" > /dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: the image build needs ${need[*]} (Debian packages) and root" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" > /dev/null 2>&1 \
    || { apt-get update -q > /dev/null && apt-get install -y -q "${need[@]}" > /dev/null; }
fi
SECONDS=0
hack/build-image.sh rmq:ci
echo "image built and run in ${SECONDS}s"
# Give the disk back: the tested image and the build base (a Debian root and a Rust toolchain)
# are rebuilt by every run anyway.
buildah rmi -f rmq:ci localhost/rmq-build-base:bookworm > /dev/null 2>&1 || true
