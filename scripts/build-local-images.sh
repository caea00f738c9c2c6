#!/usr/bin/env bash
# Local stand-ins for the images no registry can give us here, each built once and kept (a build is
# skipped when its image exists; `docker rmi` one to rebuild it). Needs a running engine
# (scripts/docker-engine.sh start) and root for debootstrap.
#   bash scripts/build-local-images.sh [mariadb] [node] [kafka]     default: all three
#     local/mariadb:10.11            the tests' docker mode and compose's source/target (scripts/build-test-image.sh)
#     local/node:20-bookworm-slim    the Dockerfile's base: Debian minbase plus this machine's node and npm,
#                                    and CA certificates, with a `node` user (uid 1000) as in the official image
#     local/kafka:4.1.1              KRaft broker from the Maven jars of scripts/kafka.sh, configured by
#                                    KAFKA_* variables as the official apache/kafka image is
# All of them start from local/debian:bookworm (debootstrap --variant=minbase, ~1 min, made once).
#   DEBIAN_MIRROR=…   the Debian mirror; default: the first Debian URI in apt's sources
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASE=local/debian:bookworm
MARIADB=local/mariadb:10.11
NODE=local/node:20-bookworm-slim
KAFKA_VERSION=$(sed -n 's:.*<version>\(4\.[0-9.]*\)</version>.*:\1:p' scripts/kafka/pom.xml | head -1)
KAFKA=local/kafka:$KAFKA_VERSION

say() { echo "build-local-images: $*" >&2; }

exists() { docker image inspect "$1" >/dev/null 2>&1; }

if ! timeout 5 docker info >/dev/null 2>&1; then
  say "no Docker engine answers: run \`bash scripts/docker-engine.sh start\` first"
  exit 1
fi

debian_mirror() {
  local mirror="${DEBIAN_MIRROR:-}"
  # deb822 sources first (Debian 12 default), then the one-line format; skip the security archive.
  [ -n "$mirror" ] || mirror="$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  echo "${mirror:-http://deb.debian.org/debian}"
}

build_base() {
  exists "$BASE" && return 0
  if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null 2>&1; then
    say "$BASE needs root and debootstrap (bash scripts/docker-engine.sh start installs it)"
    exit 1
  fi
  local rootfs mirror
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d /tmp/binlog-sync-base-XXXXXX)"
  say "$BASE: debootstrap --variant=minbase bookworm from $mirror (about a minute)"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
    tail -n 20 "$rootfs.log" >&2
    rm -rf "$rootfs" "$rootfs.log"
    exit 1
  fi
  # Smaller: no package caches, lists, documentation or locales (apt-get update brings the lists back).
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  # mktemp made the folder 0700, and it becomes the image's `/`: unprivileged users could not reach anything.
  chmod 755 "$rootfs"
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
}

# Builds image $1 from a Dockerfile on stdin with the folder $2 as context. Host network: no bridge here.
build_from() {
  local tag=$1 context=$2
  docker build --network host --quiet -t "$tag" -f - "$context" >/dev/null
}

build_mariadb() {
  exists "$MARIADB" && return 0
  IMAGE="$MARIADB" bash scripts/build-test-image.sh
}

build_node() {
  exists "$NODE" && return 0
  build_base
  local node npm_dir context
  node="$(readlink -f "$(command -v node)")"
  case "$("$node" --version)" in
    v20.*) ;;
    *)
      say "$NODE needs this machine's node to be version 20, not $("$node" --version)"
      exit 1
      ;;
  esac
  npm_dir="$(dirname "$node")/../lib/node_modules/npm"
  [ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir=/usr/lib/node_modules/npm
  context="$(mktemp -d /tmp/binlog-sync-node-XXXXXX)"
  cp "$node" "$context/node"
  cp -r "$npm_dir" "$context/npm"
  # npm in the image reaches the registry the way this machine does (here through a proxy with its own
  # CA): trust what this machine trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
  say "$NODE: $BASE + node $("$node" --version) and npm $(node "$npm_dir/bin/npm-cli.js" --version)"
  build_from "$NODE" "$context" <<EOF
FROM $BASE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
EOF
  rm -rf "$context"
}

build_kafka() {
  exists "$KAFKA" && return 0
  build_base
  bash scripts/kafka.sh fetch
  local libs context
  libs="${BINLOG_SYNC_KAFKA_LIBS:-$HOME/.cache/binlog-sync/kafka-$KAFKA_VERSION/libs}"
  context="$(mktemp -d /tmp/binlog-sync-kafka-XXXXXX)"
  cp -r "$libs" "$context/libs"
  cp scripts/kafka/image-entrypoint.sh "$context/entrypoint.sh"
  say "$KAFKA: $BASE + openjdk-17-jre-headless (apt, about a minute) + $(ls "$libs" | wc -l) jars"
  build_from "$KAFKA" "$context" <<EOF
FROM $BASE
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\
 && useradd --uid 1000 --create-home appuser && mkdir -p /var/lib/kafka/data && chown appuser /var/lib/kafka/data
COPY libs /opt/kafka/libs
COPY entrypoint.sh /opt/kafka/entrypoint.sh
USER appuser
ENTRYPOINT ["sh", "/opt/kafka/entrypoint.sh"]
EOF
  rm -rf "$context"
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(mariadb node kafka)
for w in "${wanted[@]}"; do
  case "$w" in
    mariadb) build_mariadb ;;
    node) build_node ;;
    kafka) build_kafka ;;
    *)
      say "unknown image \"$w\" (mariadb, node or kafka)"
      exit 2
      ;;
  esac
done
for w in "${wanted[@]}"; do
  case "$w" in mariadb) t=$MARIADB ;; node) t=$NODE ;; kafka) t=$KAFKA ;; esac
  say "$(docker image inspect "$t" --format '{{index .RepoTags 0}}'): $(($(docker image inspect "$t" --format '{{.Size}}') / 1000000)) MB"
done
