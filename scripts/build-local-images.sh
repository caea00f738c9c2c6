#!/usr/bin/env bash
# Local stand-ins for the images no registry can give us here, each built once and kept (a build is
# skipped when its image exists; `docker rmi` one to rebuild it). Needs a running engine
# (scripts/docker-engine.sh start) and root for debootstrap.
#   bash scripts/build-local-images.sh [mariadb] [node] [kafka]     default: all three
#     local/mariadb:10.11            the tests' docker mode and compose's source/target: mariadb-server-core
#                                    and mariadb-client-core (mariadbd, mariadb-install-db, the mariadb client)
#     local/node:20-bookworm-slim    the Dockerfile's base: this machine's node and npm, and CA certificates,
#                                    with a `node` user (uid 1000) as in the official image
#     local/kafka:4.1.1              KRaft broker from the Maven jars of scripts/kafka.sh on a Java 17 runtime
#                                    made with this machine's jlink (apt's openjdk-17-jre-headless when there
#                                    is no jlink), configured by KAFKA_* variables as the official apache/kafka
#                                    image is; runs as `appuser` (uid 1000)
# All of them start from local/debian:bookworm (one debootstrap --variant=minbase, made once) and are
# built with one RUN each: with the vfs storage driver every layer is a full copy of the image.
#   DEBIAN_MIRROR=…   the Debian mirror; default: the first Debian URI in apt's sources
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASE=local/debian:bookworm
MARIADB=local/mariadb:10.11
NODE=local/node:20-bookworm-slim
KAFKA_VERSION=$(sed -n 's:.*<version>\(4\.[0-9.]*\)</version>.*:\1:p' scripts/kafka/pom.xml | head -1)
KAFKA=local/kafka:$KAFKA_VERSION
# The Java modules a Kafka broker uses (java.se plus what its libraries reach for: Unsafe, JMX, DNS, EC
# and GSS-API for SSL/SASL listeners).
JAVA_MODULES=java.se,jdk.unsupported,jdk.management,jdk.crypto.ec,jdk.naming.dns,jdk.zipfs,jdk.security.auth,jdk.security.jgss

say() { echo "build-local-images: $* ($SECONDS s)" >&2; }

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
  say "$BASE: debootstrap --variant=minbase bookworm from $mirror"
  # In two stages, to set dpkg's force-unsafe-io in between (as Debian's official images do): dpkg
  # otherwise syncs every file it unpacks (~2 ms each on this disk; minbase has thousands).
  if ! debootstrap --foreign --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || ! mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d" \
    || ! echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" \
    || ! chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$rootfs.log" 2>&1; then
    tail -n 20 "$rootfs.log" >&2
    umount "$rootfs/proc" "$rootfs/sys" 2>/dev/null || true
    rm -rf "$rootfs" "$rootfs.log"
    exit 1
  fi
  # The second stage unmounts what it mounted when it exits; make sure, before tar reads the tree.
  local m
  for m in dev/pts proc sys; do
    if mountpoint -q "$rootfs/$m"; then umount "$rootfs/$m"; fi
  done
  # Smaller: no package caches, lists, documentation or locales (apt-get update brings the lists back).
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  # Images made from it install no documentation either.
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc"
  # mktemp made the folder 0700, and it becomes the image's `/`: unprivileged users could not reach anything.
  chmod 755 "$rootfs"
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
}

# Builds image $1 from a Dockerfile on stdin with the folder $2 as context (an empty one when omitted).
# Host network: there is no bridge here, and apt reaches the mirror as this machine does.
build_from() {
  local tag=$1 context=${2:-}
  local empty=
  if [ -z "$context" ]; then
    empty="$(mktemp -d /tmp/binlog-sync-context-XXXXXX)"
    context=$empty
  fi
  docker build --network host --quiet -t "$tag" -f - "$context" >/dev/null
  [ -z "$empty" ] || rm -rf "$empty"
}

build_mariadb() {
  exists "$MARIADB" && return 0
  build_base
  say "$MARIADB: $BASE + mariadb-server-core and mariadb-client-core (apt)"
  # The server and client cores only: mariadb-server would add perl, galera, rsync, socat and more
  # (375 MB instead of ~200). The `mysql` user is what mariadb-server's maintainer scripts would create.
  build_from "$MARIADB" <<EOF
FROM $BASE
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server-core mariadb-client-core >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\
 && groupadd --system mysql && useradd --system --gid mysql --home-dir /nonexistent --shell /usr/sbin/nologin mysql \\
 && mkdir -p /var/lib/mysql /run/mysqld && chown mysql:mysql /var/lib/mysql /run/mysqld
EOF
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
  # The context is laid out as the files' places in the image: one COPY, and no `mv` in a later layer
  # (which would keep a second copy of node and npm).
  context="$(mktemp -d /tmp/binlog-sync-node-XXXXXX)"
  chmod 755 "$context"
  mkdir -p "$context/usr/local/bin" "$context/usr/local/lib/node_modules" "$context/etc/ssl/certs"
  cp "$node" "$context/usr/local/bin/node"
  cp -r "$npm_dir" "$context/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$context/usr/local/bin/npx"
  # npm in the image reaches the registry the way this machine does (here through a proxy with its own
  # CA): trust what this machine trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$context/etc/ssl/certs/ca-certificates.crt"
  say "$NODE: $BASE + node $("$node" --version) and npm $(node "$npm_dir/bin/npm-cli.js" --version)"
  build_from "$NODE" "$context" <<EOF
FROM $BASE
COPY . /
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
  rm -rf "$context"
}

build_kafka() {
  exists "$KAFKA" && return 0
  build_base
  bash scripts/kafka.sh fetch
  local libs context jlink java_install
  libs="${BINLOG_SYNC_KAFKA_LIBS:-$HOME/.cache/binlog-sync/kafka-$KAFKA_VERSION/libs}"
  # Laid out as in the image (one COPY to /).
  context="$(mktemp -d /tmp/binlog-sync-kafka-XXXXXX)"
  chmod 755 "$context"
  mkdir -p "$context/opt/kafka"
  cp -r "$libs" "$context/opt/kafka/libs"
  cp scripts/kafka/image-entrypoint.sh "$context/opt/kafka/entrypoint.sh"
  # A Java runtime cut to the broker's modules by this machine's JDK (~50 MB, seconds, no download);
  # without a JDK here, Debian's openjdk-17-jre-headless from apt in the image (~110 MB more, and a
  # minute of downloads and its certificate store's setup).
  jlink="$(command -v jlink || true)"
  [ -n "$jlink" ] || jlink="$(ls /usr/lib/jvm/java-17-openjdk-*/bin/jlink 2>/dev/null | head -n1 || true)"
  if [ -n "$jlink" ] && [ -d "$(dirname "$(readlink -f "$jlink")")/../jmods" ]; then
    say "$KAFKA: $BASE + a Java runtime from $jlink + $(ls "$libs" | wc -l) jars"
    "$jlink" --add-modules "$JAVA_MODULES" --strip-debug --no-man-pages --no-header-files --compress=2 \
      --output "$context/opt/java"
    java_install=true
  else
    say "$KAFKA: $BASE + openjdk-17-jre-headless (apt) + $(ls "$libs" | wc -l) jars"
    java_install="apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb && ln -s /usr/lib/jvm/java-17-openjdk-amd64 /opt/java"
  fi
  build_from "$KAFKA" "$context" <<EOF
FROM $BASE
COPY . /
RUN $java_install \\
 && useradd --uid 1000 --create-home appuser && mkdir -p /var/lib/kafka/data && chown -R appuser /var/lib/kafka
ENV PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
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
