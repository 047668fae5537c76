#!/usr/bin/env bash
# Builds the Knot runtime image (deploy/container/Containerfile) with buildah:
#   1. a Debian bookworm root from Debian packages only (mmdebstrap), imported as
#      localhost/knot-debian:bookworm (cached in $KNOT_IMAGE_CACHE/base-bookworm.tar);
#   2. wheels of knot[flavors] and every dependency (pip wheel, on this machine), so
#      the build itself needs no network and no compiler;
#   3. buildah build, then the image's size and a check that no compiler is in it.
# Usage: scripts/build-image.sh [TAG]   (default localhost/knot:dev)
# Needs root (or a working rootless setup) and: apt-get install buildah podman
# mmdebstrap runc. Exits 3 when buildah cannot run here, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-localhost/knot:dev}"
base="localhost/knot-debian:bookworm"
cache="${KNOT_IMAGE_CACHE:-$PWD/build/image}"
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
mkdir -p "$cache"

for tool in buildah podman mmdebstrap runc; do
  if ! command -v "$tool" >/dev/null; then
    echo "cannot build: $tool is missing (apt-get install buildah podman mmdebstrap runc)" >&2
    exit 3
  fi
done
# Inside a container crun may refuse cgroup v1/hybrid hosts; runc and chroot isolation
# for RUN steps work there too. Rootless without user namespaces cannot work at all.
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" = 0 ]; then
  echo "cannot build: not root and user namespaces are off (max_user_namespaces=0)" >&2
  exit 3
fi
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
# one storage for buildah and podman (their defaults differ; vfs works everywhere), and
# runc: crun refuses the cgroup v1/hybrid hosts a CI container often is
driver="${STORAGE_DRIVER:-vfs}"
buildah=(buildah --storage-driver "$driver")
podman=(podman --storage-driver "$driver" --runtime runc --cgroup-manager cgroupfs)

if ! "${podman[@]}" image exists "$base"; then
  if [ ! -s "$cache/base-bookworm.tar" ]; then
    echo "== Debian root (mmdebstrap, Debian packages only)"
    # python3-venv: the build stage's venv; tini: PID 1; libgomp1: LightGBM's OpenMP
    mmdebstrap --format=tar --variant=minbase --include=ca-certificates,python3,python3-venv,tini,libgomp1 \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      bookworm "$cache/base-bookworm.partial.tar" http://deb.debian.org/debian
    mv "$cache/base-bookworm.partial.tar" "$cache/base-bookworm.tar"
  fi
  "${podman[@]}" import "$cache/base-bookworm.tar" "$base" >/dev/null
fi

echo "== wheels of knot[flavors]"
context="$cache/context"
rm -rf "$context"
mkdir -p "$context"
cp deploy/container/Containerfile deploy/container/entrypoint.sh deploy/container/healthcheck.py "$context/"
# the dependencies' wheels stay cached; knot's own is rebuilt from this checkout
rm -f "$cache"/wheels/knot-*.whl
"$python" -m pip wheel -q --wheel-dir "$cache/wheels" ".[flavors]"
cp -r "$cache/wheels" "$context/wheels"

echo "== buildah build $tag"
"${buildah[@]}" build --format docker --layers=false --build-arg "BASE=$base" -t "$tag" \
  -f "$context/Containerfile" "$context"

size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
echo "image $tag: $((size / 1000000)) MB"
compilers=$("${podman[@]}" run --rm \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 \
  --entrypoint /bin/sh "$tag" -c 'for c in gcc cc c++ g++ clang make ld; do command -v $c; done; true')
if [ -n "$compilers" ]; then
  echo "compilers left in the image: $compilers" >&2
  exit 1
fi
echo "no compiler in the image; run it with e.g.:"
echo "  podman run -p 8080:8080 $tag serve oci://REGISTRY/REPO:TAG"
