#!/usr/bin/env bash
# A real Docker engine on a machine that has none, for the docker mode of the tests, the local images and
# the compose smoke test. Only host networking may be used and no registry is reachable, so dockerd runs
# without a bridge or iptables, on the vfs storage driver (works in an unprivileged container's overlay).
#   bash scripts/docker-engine.sh start    install Debian's docker.io and debootstrap when missing (root),
#                                          start dockerd in the background, wait until it answers
#   bash scripts/docker-engine.sh stop     stop the dockerd this script started (its containers stop too)
#   bash scripts/docker-engine.sh status   exit 0 when an engine answers
# The socket is DOCKER_HOST's (unix:// only) or /var/run/docker.sock; images live in /var/lib/docker, so
# they are kept between runs. An engine that already answers is used as it is and never stopped.
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
LOG="$STATE/dockerd.log"

answers() {
  timeout 5 docker -H "unix://$SOCKET" info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

install_missing() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
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
  apt-get install -y -q "${missing[@]}" >/dev/null
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
  echo "docker-engine: starting dockerd on $SOCKET (log: $LOG)" >&2
  # setsid: the engine outlives this script and is not killed with the caller's process group.
  setsid dockerd --host "unix://$SOCKET" --pidfile "$PIDFILE" --storage-driver=vfs \
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
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
