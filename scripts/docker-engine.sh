#!/usr/bin/env bash
# A real Docker engine on a machine that has none, for the docker mode of the tests, the local images and
# the compose smoke test. Only host networking may be used and no registry is reachable, so dockerd runs
# without a bridge or iptables.
#   bash scripts/docker-engine.sh start    install Debian's docker.io, debootstrap and docker-compose when
#                                          missing (root), start dockerd in the background, wait until it answers
#   bash scripts/docker-engine.sh stop     stop the dockerd this script started (its containers stop too)
#   bash scripts/docker-engine.sh status   exit 0 when an engine answers
# The socket is DOCKER_HOST's (unix:// only) or /var/run/docker.sock; images live in /var/lib/docker, so
# they are kept between runs. An engine that already answers is used as it is and never stopped.
# Storage: overlay2 when an overlay mount works in the data root (here: ext4), else vfs (e.g. when the data
# root is itself on an overlay). vfs copies a whole image for every layer and every container.
#   BINLOG_SYNC_DOCKER_STORAGE=overlay2|vfs   force a driver
#   BINLOG_SYNC_DOCKER_ROOT=DIR               the data root (default /var/lib/docker), e.g. for a second
#                                             engine on another DOCKER_HOST socket beside a running one
set -euo pipefail

SOCKET=/var/run/docker.sock
if [ -n "${DOCKER_HOST:-}" ]; then
  case "$DOCKER_HOST" in
    unix://*) SOCKET="${DOCKER_HOST#unix://}" ;;
    *)
      echo "docker-engine: DOCKER_HOST=$DOCKER_HOST: only unix:// sockets can be started here" >&2
      exit 2
      ;;
  esac
fi
# One state folder per socket, so a second engine on another socket has its own pid file and log.
STATE="${BINLOG_SYNC_DOCKER_STATE:-/var/run/binlog-sync-docker/$(echo "$SOCKET" | tr '/' '_')}"
PIDFILE="$STATE/dockerd.pid"
DATA_ROOT="${BINLOG_SYNC_DOCKER_ROOT:-/var/lib/docker}"
LOG="$STATE/dockerd.log"

answers() {
  timeout 5 docker -H "unix://$SOCKET" info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

install_missing() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  # A Compose implementation for scripts/compose-smoke.sh, in the same apt run (Debian has no compose plugin).
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "docker-engine: ${missing[*]} missing and not root. Run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "docker-engine: installing Debian's ${missing[*]} (about a minute)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # policy-rc.d keeps the package from starting its own service: this script starts the engine.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Without recommends: criu, apparmor, needrestart (which scans processes after every install) and the
  # like are not needed by a rootful engine on the host network.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# overlay2 when the kernel can mount an overlay whose upper layer lives in the data root (not on
# ext4 under another overlay, not without the module); vfs otherwise. Images of one driver are not
# seen by the other, so a machine keeps using the driver it probes to.
storage_driver() {
  local root=$DATA_ROOT probe
  mkdir -p "$root"
  probe="$(mktemp -d "$root/.overlay-probe-XXXXXX")"
  mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    rm -rf "$probe"
    echo overlay2
  else
    rm -rf "$probe"
    echo vfs
  fi
}

start() {
  if answers; then
    echo "docker-engine: an engine already answers on $SOCKET (used as it is)" >&2
    return 0
  fi
  install_missing
  if [ "$(id -u)" != 0 ]; then
    echo "docker-engine: dockerd needs root" >&2
    exit 1
  fi
  mkdir -p "$STATE" "$(dirname "$SOCKET")"
  local driver
  driver="${BINLOG_SYNC_DOCKER_STORAGE:-$(storage_driver)}"
  echo "docker-engine: starting dockerd on $SOCKET with the $driver storage driver (log: $LOG)" >&2
  local roots=()
  # Another data root gets its own exec root (containerd's sockets and state) too.
  [ "$DATA_ROOT" = /var/lib/docker ] || roots=(--data-root "$DATA_ROOT" --exec-root "$STATE/exec")
  # setsid: the engine outlives this script and is not killed with the caller's process group.
  setsid dockerd --host "unix://$SOCKET" --pidfile "$PIDFILE" "${roots[@]}" --storage-driver="$driver" \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false >"$LOG" 2>&1 </dev/null &
  local waited=0
  until answers; do
    if [ $waited -ge 60 ] || { [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }; then
      echo "docker-engine: dockerd did not answer within ${waited} s; the end of $LOG:" >&2
      tail -n 20 "$LOG" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "docker-engine: dockerd $(docker -H "unix://$SOCKET" info --format '{{.ServerVersion}}') answers after ${waited} s" >&2
}

stop() {
  if [ ! -f "$PIDFILE" ]; then
    echo "docker-engine: no dockerd started by this script on $SOCKET" >&2
    return 0
  fi
  local pid
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    # dockerd stops its containers first (10 s each at most), then its containerd.
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "docker-engine: dockerd $pid still runs after 60 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PIDFILE"
  echo "docker-engine: dockerd stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
