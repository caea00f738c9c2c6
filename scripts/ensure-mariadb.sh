#!/usr/bin/env bash
# Makes sure the MariaDB server binaries the demo, tests and benchmark start throwaway servers from are
# installed. Installs Debian's mariadb-server when they are missing (needs root); otherwise says what to run.
set -euo pipefail
if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
  if command -v mariadb-install-db >/dev/null 2>&1; then exit 0; fi
fi
echo "binlog-sync: MariaDB server binaries are missing; installing Debian's mariadb-server" >&2
if [ "$(id -u)" != 0 ]; then
  echo "binlog-sync: not root. Run: sudo apt-get update && sudo apt-get install -y mariadb-server mariadb-client" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# policy-rc.d keeps the package from starting its own service: we only want the binaries.
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
apt-get install -y -q mariadb-server mariadb-client >/dev/null
echo "binlog-sync: installed $(mariadbd --version)" >&2
