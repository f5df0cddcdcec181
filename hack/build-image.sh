#!/usr/bin/env bash
# Builds the Dockerfile's image without a Docker daemon, with buildah (Debian package `buildah`),
# on a machine that reaches no container registry: both base images are made locally first.
#   localhost/rmq-build-base:bookworm    Debian bookworm (debootstrap: gcc, libc6-dev), this
#                                        machine's CA bundle and Rust toolchain (/usr/local/rust)
#   localhost/rmq-runtime-base:bookworm  what gcr.io/distroless/cc-debian12:nonroot holds: glibc,
#                                        libgcc, CA certificates, /etc/passwd with nonroot (65532)
# then `buildah bud` of the Dockerfile with them as RUST_IMAGE / RUNTIME_IMAGE (the crates come
# from ~/.cargo/registry, mounted into the build), and runs `rmq-broker --help` in the result.
# Usage: hack/build-image.sh [tag]   (default rmq:dev). Needs root, buildah and debootstrap.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tag=${1:-rmq:dev}
cache=${RMQ_IMAGE_CACHE:-$HOME/.cache/rmq/image}
for tool in buildah debootstrap; do
  command -v "$tool" > /dev/null || { echo "$tool is missing (apt-get install $tool)" >&2; exit 2; }
done
mkdir -p "$cache"

rootfs="$cache/bookworm-rootfs"
if [ ! -x "$rootfs/usr/bin/gcc" ]; then
  echo "--> debootstrap Debian bookworm (gcc, libc6-dev, ca-certificates) into $rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates bookworm "$rootfs" \
    http://deb.debian.org/debian > "$cache/debootstrap.log"
fi

toolchain="$(rustc --print sysroot)"
version="$(rustc --version | cut -d' ' -f2)"
echo "--> localhost/rmq-build-base:bookworm (Rust $version from $toolchain)"
ctr=$(buildah from scratch)
mnt=$(buildah mount "$ctr")
cp -a "$rootfs"/. "$mnt"/
mkdir -p "$mnt/usr/local/rust"
cp -a "$toolchain"/. "$mnt/usr/local/rust/"
# This machine's trust store, so cargo reaches crates.io through whatever proxy the machine uses.
cp -L /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
buildah config --env PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env CARGO_HOME=/usr/local/cargo "$ctr"
buildah unmount "$ctr" > /dev/null
buildah rmi -f localhost/rmq-build-base:bookworm > /dev/null 2>&1 || true
buildah commit -q --rm "$ctr" localhost/rmq-build-base:bookworm > /dev/null

echo "--> localhost/rmq-runtime-base:bookworm"
ctr=$(buildah from scratch)
mnt=$(buildah mount "$ctr")
mkdir -p "$mnt"/{etc/ssl/certs,lib/x86_64-linux-gnu,lib64,tmp,home/nonroot,usr/local/bin}
chmod 1777 "$mnt/tmp"
for lib in libc.so.6 libm.so.6 libgcc_s.so.1 libdl.so.2 libpthread.so.0 librt.so.1; do
  cp -L "$rootfs/lib/x86_64-linux-gnu/$lib" "$mnt/lib/x86_64-linux-gnu/"
done
cp -L "$rootfs/lib64/ld-linux-x86-64.so.2" "$mnt/lib64/"
cp -L "$rootfs/etc/ssl/certs/ca-certificates.crt" "$mnt/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$mnt/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$mnt/etc/group"
chown 65532:65532 "$mnt/home/nonroot"
buildah config --user 65532:65532 --workingdir /home/nonroot "$ctr"
buildah unmount "$ctr" > /dev/null
buildah rmi -f localhost/rmq-runtime-base:bookworm > /dev/null 2>&1 || true
buildah commit -q --rm "$ctr" localhost/rmq-runtime-base:bookworm > /dev/null

echo "--> buildah bud -t $tag (the Dockerfile; release build of every binary)"
buildah rmi -f "$tag" > /dev/null 2>&1 || true
mkdir -p "$HOME/.cargo/registry"
buildah bud -q --isolation chroot --network host --layers=false \
  --build-arg RUST_IMAGE=localhost/rmq-build-base:bookworm \
  --build-arg RUNTIME_IMAGE=localhost/rmq-runtime-base:bookworm \
  -v "$HOME/.cargo/registry:/usr/local/cargo/registry" \
  -t "$tag" -f "$root/Dockerfile" "$root"

echo "--> rmq-broker --help inside $tag"
ctr=$(buildah from "$tag")
trap 'buildah rm "$ctr" > /dev/null' EXIT
buildah run --isolation chroot "$ctr" -- rmq-broker --help | head -5
user=$(buildah inspect --format '{{.OCIv1.Config.User}}' "$tag")
[ "$user" = 65532:65532 ] || { echo "the image runs as '$user', not 65532:65532" >&2; exit 1; }
echo "image $tag: $(buildah images --format '{{.Size}}' "$tag" | head -1), user $user"
