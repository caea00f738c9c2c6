#!/usr/bin/env bash
# Brings the compose setup up on this machine and checks that it syncs, survives a killed daemon and
# answers `status`; tears everything down at the end, also on failure. Uses compose/docker-compose.yml
# with compose/local.override.yml (local images, MariaDB for MySQL 8, host network).
# Needs a running engine (scripts/docker-engine.sh start); builds the local images when missing and
# installs Debian's docker-compose when no Compose implementation is found (root).
#   SOURCE_PORT / TARGET_PORT   the servers' ports on 127.0.0.1 (default: two free ports)
# Exit 0 when every check passed; the last line is `compose-smoke: passed` or `compose-smoke: FAILED: …`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "compose-smoke: $* ($((SECONDS)) s)" >&2; }
fail() {
  echo "compose-smoke: FAILED: $*"
  exit 1
}

timeout 5 docker info >/dev/null 2>&1 || fail "no Docker engine answers (bash scripts/docker-engine.sh start)"

# A Compose implementation: the plugin when the docker CLI has one, else Debian's docker-compose (1.29).
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
else
  if ! command -v docker-compose >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || fail "no Compose implementation: run sudo apt-get install -y docker-compose"
    say "installing Debian's docker-compose"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null || fail "apt-get install docker-compose"
  fi
  COMPOSE=(docker-compose)
fi
say "compose: $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -n1)"

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
SOURCE_PORT="${SOURCE_PORT:-$(free_port)}"
TARGET_PORT="${TARGET_PORT:-$(free_port)}"
[ "$SOURCE_PORT" != "$TARGET_PORT" ] || TARGET_PORT="$(free_port)"
export SOURCE_PORT TARGET_PORT
# With the vfs storage driver, creating a container copies its whole image: minutes on a busy machine.
export COMPOSE_HTTP_TIMEOUT="${COMPOSE_HTTP_TIMEOUT:-600}"
PROJECT=binlog-sync-smoke
LOGS=.tmp/compose-smoke
mkdir -p "$LOGS"
FILES=(-f compose/docker-compose.yml -f compose/local.override.yml)
if [ "${COMPOSE[0]}" = docker-compose ]; then
  # Compose v1 (docker-py) refuses the base file's published ports on the host network, and an override
  # can add list entries but not remove them: run the merged configuration without `ports`. (Compose v2
  # and the engine only warn that they are discarded.)
  "${COMPOSE[@]}" "${FILES[@]}" config >"$LOGS/merged.yml" || fail "compose config"
  python3 -c '
import sys, yaml
path = sys.argv[1]
with open(path) as f:
    merged = yaml.safe_load(f)
for service in merged["services"].values():
    service.pop("ports", None)
# v1 links a one-off `run` container to the running containers of its own service, which the host
# network refuses ("host type networking cannot be used with links", says the engine): `run` the CLI as a twin service.
cli = dict(merged["services"]["binlog-sync"])
cli.pop("restart", None)
cli["profiles"] = ["cli"]
merged["services"]["binlog-sync-cli"] = cli
with open(path, "w") as f:
    yaml.safe_dump(merged, f, sort_keys=False)
' "$LOGS/merged.yml" || fail "removing ports from the merged configuration"
  FILES=(-f "$LOGS/merged.yml")
fi
DC=("${COMPOSE[@]}" -p "$PROJECT" "${FILES[@]}")

teardown() {
  local rc=$?
  "${DC[@]}" logs --no-color >"$LOGS/compose.log" 2>&1 || true
  [ $rc -eq 0 ] || say "the services' logs are in $LOGS/compose.log"
  "${DC[@]}" down -v --remove-orphans --timeout 20 >/dev/null 2>&1 || say "compose down failed"
  exit $rc
}
trap teardown EXIT

bash scripts/build-local-images.sh mariadb node >&2 || fail "building the local images"

say "up (source on 127.0.0.1:$SOURCE_PORT, target on 127.0.0.1:$TARGET_PORT)"
"${DC[@]}" up -d --build >&2 || fail "compose up"

sql() { # sql SERVICE STATEMENTS: runs them as root inside the service's container, prints the rows
  "${DC[@]}" exec -T "$1" mysql -uroot -proot --batch --skip-column-names shop -e "$2"
}
# An ordered digest of every column of shop.orders; both servers run in the same time zone.
DIGEST="SET SESSION group_concat_max_len = 1 << 30;
  SELECT CONCAT(COUNT(*), ' rows, md5 ', MD5(COALESCE(GROUP_CONCAT(CONCAT_WS('|', id, customer, total, created_at) ORDER BY id SEPARATOR '\n'), '')))
  FROM orders"
wait_equal() { # wait_equal WHAT: until the target's digest equals the source's (3 min at most)
  local src tgt
  for _ in $(seq 1 180); do
    src="$(sql source "$DIGEST")"
    tgt="$(sql target "$DIGEST" 2>/dev/null || true)"
    if [ "$src" = "$tgt" ]; then
      say "$1: target equals source ($src)"
      return 0
    fi
    sleep 1
  done
  fail "$1: the target did not catch up: source $src, target $tgt"
}
write_rows() { # write_rows N SEED: N inserts, then updates and deletes some of them
  sql source "INSERT INTO orders (customer, total) SELECT CONCAT('c$2-', seq), seq * 1.25 FROM seq_1_to_$1;
    UPDATE orders SET total = total + 1 WHERE id % 7 = 0;
    DELETE FROM orders WHERE id % 11 = 0" || fail "writing rows on the source"
}

daemon="$("${DC[@]}" ps -q binlog-sync)"
[ -n "$daemon" ] || fail "no binlog-sync container"
uid="$(docker exec "$daemon" id -u)" || fail "docker exec id -u"
[ "$uid" != 0 ] || fail "the daemon runs as root"
say "daemon container ${daemon:0:12} runs as uid $uid ($(docker exec "$daemon" id -un))"

write_rows 500 1
wait_equal "500 inserts, updates and deletes"

started_before="$(docker inspect --format '{{.State.StartedAt}}' "$daemon")"
say "docker kill the daemon"
docker kill "$daemon" >/dev/null
write_rows 300 2
# The engine treats `docker kill` as a manual stop, so `restart: unless-stopped` does not bring the
# daemon back (seen with Docker 20.10): compose does, as it would after any stop.
"${DC[@]}" up -d --no-build --no-deps binlog-sync >&2 || fail "compose up -d binlog-sync after the kill"
[ "$(docker inspect --format '{{.State.Running}}' "$daemon")" = true ] || fail "the killed daemon was not started again"
[ "$(docker inspect --format '{{.State.StartedAt}}' "$daemon")" != "$started_before" ] || fail "the daemon container was not restarted"
say "compose started the killed daemon again (same container ${daemon:0:12})"
write_rows 200 3
wait_equal "after the kill and restart"

CLI_SERVICE=binlog-sync
[ "${COMPOSE[0]}" != docker-compose ] || CLI_SERVICE=binlog-sync-cli
status_out="$("${DC[@]}" run --rm -T "$CLI_SERVICE" status --config /etc/binlog-sync/pipeline.yaml 2>&1)" || {
  echo "$status_out" >&2
  fail "binlog-sync status through compose run"
}
echo "$status_out" >&2
grep -q '^daemon *running' <<<"$status_out" || fail "status does not show the daemon running"
grep -q '^checkpoint *mysql-bin\.' <<<"$status_out" || fail "status shows no checkpoint"

image="$(docker inspect --format '{{.Image}}' "$daemon")"
say "image local/binlog-sync: $(($(docker image inspect --format '{{.Size}}' "$image") / 1000000)) MB, user $(docker image inspect --format '{{.Config.User}}' "$image")"
echo "compose-smoke: passed"
