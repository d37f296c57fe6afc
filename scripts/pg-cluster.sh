#!/usr/bin/env bash
# Manage a private PostgreSQL cluster in a folder of ours.
#
#   pg-cluster.sh init  DIR   create the cluster (first time only), on a free loopback port
#   pg-cluster.sh start DIR   start it (no-op if running)
#   pg-cluster.sh stop  DIR   stop it (no-op if stopped)
#   pg-cluster.sh url   DIR   print its libpq URI
#
# initdb and postgres refuse to run as root, so when we are root they run as the `postgres` OS user
# (created by Debian's postgresql package), and DIR is handed to that user.
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh init|start|stop|url DIR}
dir=${2:?usage: pg-cluster.sh init|start|stop|url DIR}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
data="$dir/data"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local port=${1:-54320}
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

case "$cmd" in
init)
  if [ -f "$data/PG_VERSION" ]; then exit 0; fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  data="$dir/data"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg-cluster: the postgres user cannot reach $dir (check the permissions of its parent folders)" >&2
      exit 1
    fi
  fi
  # A random password for the `keyflare` superuser; the cluster listens on loopback only.
  password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  umask 077
  printf '%s\n' "$password" > "$dir/password"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/password"
  as_pg "$PGBIN/initdb" -D "$data" -U keyflare --pwfile="$dir/password" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port "${KEYFLARE_PG_PORT:-54320}")
  cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 200
CONF
  echo "$port" > "$dir/port"
  ;;
start)
  port=$(cat "$dir/port")
  if as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then exit 0; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "pg-cluster: port $port is taken by another program; edit $data/postgresql.conf and $dir/port" >&2
    exit 1
  fi
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  ;;
stop)
  if [ -d "$data" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  ;;
url)
  echo "postgresql://keyflare:$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/${3:-keyflare}"
  ;;
*)
  echo "usage: pg-cluster.sh init|start|stop|url DIR" >&2
  exit 2
  ;;
esac
