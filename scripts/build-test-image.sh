#!/usr/bin/env bash
# Builds the image the docker mode of the test harness runs (test/support/servers.ts): a minimal Debian
# bookworm root file system with mariadb-server, made with debootstrap and imported as local/mariadb:10.11.
# No image registry is needed (none may be reachable). Idempotent: does nothing when the image exists.
# Needs root, debootstrap and a running Docker engine.
#   IMAGE=local/mariadb:10.11   the tag to create
#   DEBIAN_MIRROR=…             the Debian mirror; default: the first Debian URI in apt's sources
set -euo pipefail

IMAGE="${IMAGE:-local/mariadb:10.11}"
SUITE="${SUITE:-bookworm}"

if ! timeout 5 docker info >/dev/null 2>&1; then
  echo "build-test-image: no Docker engine answers (start one, e.g.: dockerd --storage-driver=vfs --bridge=none --iptables=false --ip-masq=false &)" >&2
  exit 1
fi
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build-test-image: $IMAGE already exists"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "build-test-image: debootstrap needs root" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "build-test-image: debootstrap is missing (apt-get install -y debootstrap)" >&2
  exit 1
fi

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # deb822 sources first (Debian 12 default), then the one-line format; skip the security archive.
  mirror="$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
fi
if [ -z "$mirror" ]; then
  mirror="$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

rootfs="$(mktemp -d /tmp/binlog-sync-rootfs-XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "build-test-image: debootstrap $SUITE from $mirror (about a minute)"
debootstrap --variant=minbase --include=mariadb-server,mariadb-client "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -n 20 "$rootfs.log" >&2
  exit 1
}
rm -f "$rootfs.log"
# The package's data dir and socket dir are created at container start by the harness; drop apt caches.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

# mktemp made the folder 0700, and it becomes the image's `/`: unprivileged users could not reach anything.
chmod 755 "$rootfs"
echo "build-test-image: importing as $IMAGE"
tar -C "$rootfs" -c . | docker import - "$IMAGE" >/dev/null
docker image inspect "$IMAGE" --format "build-test-image: built {{.RepoTags}} ({{.Size}} bytes)"
