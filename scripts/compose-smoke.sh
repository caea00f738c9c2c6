#!/usr/bin/env bash
# Brings the compose setup up on this machine in one profile and checks that it syncs, survives a killed
# binlog-sync container and answers `status`; tears everything down at the end, also on failure. Uses
# compose/docker-compose.yml with compose/local.override.yml (local images, MariaDB for MySQL 8, host network).
#   bash scripts/compose-smoke.sh embedded   the default profile: one daemon (`binlog-sync run`); kills it
#   bash scripts/compose-smoke.sh kafka      a Kafka broker, the publisher (`binlog-sync source`) and a sink
#                                            worker (`binlog-sync sink`); kills the sink worker
# Needs a running engine (scripts/docker-engine.sh start); builds the local images when missing and
# installs Debian's docker-compose when no Compose implementation is found (root).
#   SOURCE_PORT / TARGET_PORT / KAFKA_PORT / KAFKA_CONTROLLER_PORT   on 127.0.0.1 (default: free ports)
# Exit 0 when every check passed; the last line is `compose-smoke: MODE passed` or `compose-smoke: FAILED: …`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODE="${1:-embedded}"
case "$MODE" in
  embedded) KILLED=binlog-sync PIPELINE=/etc/binlog-sync/pipeline.yaml ;;
  kafka) KILLED=binlog-sync-sink PIPELINE=/etc/binlog-sync/pipeline-kafka.yaml ;;
  *)
    echo "usage: scripts/compose-smoke.sh [embedded|kafka]" >&2
    exit 2
    ;;
esac

STARTED=$SECONDS
say() { echo "compose-smoke: $MODE: $* ($((SECONDS - STARTED)) s)" >&2; }
fail() {
  echo "compose-smoke: FAILED: $MODE: $*"
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
# Four distinct free ports (one call each may repeat a port another call just released).
ports=()
while [ ${#ports[@]} -lt 4 ]; do
  p="$(free_port)"
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
SOURCE_PORT="${SOURCE_PORT:-${ports[0]}}"
TARGET_PORT="${TARGET_PORT:-${ports[1]}}"
KAFKA_PORT="${KAFKA_PORT:-${ports[2]}}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-${ports[3]}}"
export SOURCE_PORT TARGET_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT
# The profile (compose/.env sets embedded as the default; the environment wins over .env).
export COMPOSE_PROFILES=$MODE
# With the vfs storage driver, creating a container copies its whole image: minutes on a busy machine.
export COMPOSE_HTTP_TIMEOUT="${COMPOSE_HTTP_TIMEOUT:-600}"
PROJECT=binlog-sync-smoke-$MODE
LOGS=.tmp/compose-smoke/$MODE
mkdir -p "$LOGS"
FILES=(-f compose/docker-compose.yml -f compose/local.override.yml)
CLI_SERVICE=binlog-sync
if [ "${COMPOSE[0]}" = docker-compose ]; then
  # Compose v1 (docker-py) refuses the base file's published ports on the host network, and an override
  # can add list entries but not remove them: run the merged configuration without `ports`. (Compose v2
  # and the engine only warn that they are discarded.)
  COMPOSE_PROFILES=embedded,kafka "${COMPOSE[@]}" "${FILES[@]}" config >"$LOGS/merged.yml" || fail "compose config"
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
cli.pop("depends_on", None)
cli["profiles"] = ["cli"]
merged["services"]["binlog-sync-cli"] = cli
with open(path, "w") as f:
    yaml.safe_dump(merged, f, sort_keys=False)
' "$LOGS/merged.yml" || fail "removing ports from the merged configuration"
  FILES=(-f "$LOGS/merged.yml")
  CLI_SERVICE=binlog-sync-cli
fi
DC=("${COMPOSE[@]}" -p "$PROJECT" "${FILES[@]}")

teardown() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    "${DC[@]}" logs --no-color >"$LOGS/compose.log" 2>&1 || true
    say "the services' logs are in $LOGS/compose.log"
  fi
  "${DC[@]}" down -v --remove-orphans --timeout 20 >/dev/null 2>&1 || say "compose down failed"
  say "down"
  exit $rc
}
trap teardown EXIT

images=(mariadb node)
[ "$MODE" != kafka ] || images+=(kafka)
bash scripts/build-local-images.sh "${images[@]}" >&2 || fail "building the local images"

# One build of the daemon's image (local/binlog-sync from the Dockerfile) for every binlog-sync service.
say "build local/binlog-sync (Dockerfile)"
"${DC[@]}" build "$KILLED" >&2 || fail "compose build $KILLED"
say "up (source on 127.0.0.1:$SOURCE_PORT, target on 127.0.0.1:$TARGET_PORT$([ "$MODE" != kafka ] || echo ", Kafka on 127.0.0.1:$KAFKA_PORT"))"
"${DC[@]}" up -d --no-build >&2 || fail "compose up"
# The running containers by service, from the engine (each Compose v1 command starts a Python process:
# seconds on a busy machine).
declare -A CONTAINER
containers() {
  local id service
  CONTAINER=()
  while read -r id service; do
    CONTAINER[$service]=$id
  done < <(docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.ID}} {{.Label "com.docker.compose.service"}}')
}
containers
say "up: ${!CONTAINER[*]}"

for service in source target; do
  [ -n "${CONTAINER[$service]:-}" ] || fail "no $service container"
done
sql() { # sql SERVICE STATEMENTS: runs them as root inside the service's container, prints the rows
  docker exec "${CONTAINER[$1]}" mysql -uroot -proot --batch --skip-column-names shop -e "$2"
}
# Every table of shop: its row count and CHECKSUM TABLE (both servers run the same MariaDB with the same
# table definitions, so equal rows give equal checksums), one line per table.
checksums() {
  local tables statements="" t
  tables="$(sql "$1" "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY table_name")" || return 1
  for t in $tables; do
    statements+="SELECT '$t', COUNT(*) FROM \`$t\`; CHECKSUM TABLE \`$t\` EXTENDED; "
  done
  sql "$1" "$statements" | paste - - | awk '{ print $1, $2, "rows, checksum", $4 }'
}
wait_equal() { # wait_equal WHAT: until every table's count and checksum on the target equal the source's (3 min at most)
  local src tgt
  for _ in $(seq 1 90); do
    src="$(checksums source)" || fail "reading the source's checksums"
    tgt="$(checksums target 2>/dev/null || true)"
    if [ -n "$src" ] && [ "$src" = "$tgt" ]; then
      say "$1: every table of the target equals the source's: $(echo $src)"
      return 0
    fi
    sleep 2
  done
  fail "$1: the target did not catch up: source: $(echo $src); target: $(echo $tgt)"
}
write_rows() { # write_rows N SEED: N inserts, then updates and deletes some of them, and customers upserted
  sql source "INSERT INTO orders (customer, total) SELECT CONCAT('c$2-', seq), seq * 1.25 FROM seq_1_to_$1;
    UPDATE orders SET total = total + 1 WHERE id % 7 = 0;
    DELETE FROM orders WHERE id % 11 = 0;
    INSERT INTO customers (id, email, name, orders) SELECT seq, CONCAT('c', seq, '@example.com'), CONCAT('c$2-', seq), 1
      FROM seq_1_to_$(($1 / 5)) ON DUPLICATE KEY UPDATE name = VALUES(name), orders = orders + 1;
    DELETE FROM customers WHERE id % 13 = $2" || fail "writing rows on the source"
}

# Every binlog-sync container (and Kafka's) runs as a non-root user.
for service in "${!CONTAINER[@]}"; do
  case "$service" in source | target) continue ;; esac
  id=${CONTAINER[$service]}
  uid="$(docker exec "$id" id -u)" || fail "docker exec id -u in $service"
  [ "$uid" != 0 ] || fail "$service runs as root"
  say "$service container ${id:0:12} runs as uid $uid ($(docker exec "$id" id -un))"
done
killed="${CONTAINER[$KILLED]:-}"
[ -n "$killed" ] || fail "no $KILLED container"

write_rows 500 1
wait_equal "500 inserts, updates and deletes"

started_before="$(docker inspect --format '{{.State.StartedAt}}' "$killed")"
# Killed while it has changes to apply, and more written while it is down.
write_rows 300 2
say "docker kill $KILLED"
docker kill "$killed" >/dev/null
write_rows 200 3
# The engine treats `docker kill` as a manual stop, so `restart: unless-stopped` does not bring the
# container back (seen with Docker 20.10): compose does, as it would after any stop.
"${DC[@]}" up -d --no-build --no-deps "$KILLED" >&2 || fail "compose up -d $KILLED after the kill"
[ "$(docker inspect --format '{{.State.Running}}' "$killed")" = true ] || fail "the killed $KILLED was not started again"
[ "$(docker inspect --format '{{.State.StartedAt}}' "$killed")" != "$started_before" ] || fail "the $KILLED container was not restarted"
say "compose started the killed $KILLED again (same container ${killed:0:12})"
write_rows 100 4
wait_equal "after the kill and restart"

status_out="$("${DC[@]}" run --rm -T "$CLI_SERVICE" status --config "$PIPELINE" 2>&1)" || {
  echo "$status_out" >&2
  fail "binlog-sync status through compose run"
}
echo "$status_out" >&2
if [ "$MODE" = kafka ]; then
  grep -q '^published .*mysql-bin\.' <<<"$status_out" || fail "status shows no published position"
else
  grep -q '^daemon *running' <<<"$status_out" || fail "status does not show the daemon running"
  grep -q '^checkpoint *mysql-bin\.' <<<"$status_out" || fail "status shows no checkpoint"
fi

for service in "${!CONTAINER[@]}"; do
  case "$service" in source | target) continue ;; esac
  image="$(docker inspect --format '{{.Image}}' "${CONTAINER[$service]}")"
  say "$service image $(docker image inspect --format '{{index .RepoTags 0}}' "$image"): $(($(docker image inspect --format '{{.Size}}' "$image") / 1000000)) MB, user $(docker image inspect --format '{{.Config.User}}' "$image")"
done
echo "compose-smoke: $MODE passed"
