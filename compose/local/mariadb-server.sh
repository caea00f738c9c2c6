#!/bin/sh
# Starts MariaDB in local/mariadb:10.11 (compose/local.override.yml) the way the official MySQL image's
# entry point does: on an empty data dir, create it, set the root password from MYSQL_ROOT_PASSWORD and
# run /docker-entrypoint-initdb.d/*.sql once; then serve as the unprivileged `mysql` user.
# Usage: mariadb-server.sh PORT [mariadbd options...]
set -eu
PORT=$1
shift
DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$DATADIR"
first=
if [ ! -d "$DATADIR/mysql" ]; then
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db >/dev/null
  first=1
fi
mariadbd --no-defaults --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --port="$PORT" \
  --bind-address=127.0.0.1 "$@" &
pid=$!
# sh as PID 1 ignores SIGTERM unless trapped: pass it on, so `docker stop` shuts MariaDB down cleanly.
trap 'kill -TERM $pid' TERM INT
if [ -n "$first" ]; then
  until mariadb --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    kill -0 $pid || exit 1
    sleep 0.5
  done
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -f "$f" ] || continue
    # The init files are written for MySQL 8: MariaDB has no `IDENTIFIED WITH plugin BY 'password'`,
    # and mysql_native_password is already its default plugin.
    sed 's/IDENTIFIED WITH mysql_native_password BY/IDENTIFIED BY/' "$f" | mariadb --socket="$SOCKET" -uroot
  done
  mariadb --socket="$SOCKET" -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED BY '${MYSQL_ROOT_PASSWORD:?}'"
  echo "mariadb-server.sh: initialised (port $PORT)"
fi
status=0
wait $pid || status=$?
# A trapped signal interrupts `wait`: wait again while MariaDB finishes its shutdown.
if kill -0 $pid 2>/dev/null; then
  status=0
  wait $pid || status=$?
fi
exit $status
