#!/usr/bin/env bash
# Manage a private PostgreSQL cluster in a folder of ours.
#
#   pg-cluster.sh init  DIR   create the cluster (first time only), on a free loopback port
#   pg-cluster.sh start DIR   start it (no-op if running)
#   pg-cluster.sh stop  DIR   stop it (no-op if stopped)
#   pg-cluster.sh url   DIR   print its libpq URI
#   pg-cluster.sh where DIR   print the folder that holds the cluster's data
#   pg-cluster.sh remove DIR  stop it and delete its data, wherever that lives
#
# initdb and postgres refuse to run as root, so when we are root they run as the `postgres` OS user
# (created by Debian's postgresql package), and DIR is handed to that user. When that user cannot
# reach DIR (a clone in root's 0700 home folder, a `mktemp -d` folder), the cluster lives in a
# postgres-owned folder under /var/lib/keyflare/ named from a hash of DIR's absolute path instead,
# and DIR/location records where; we never loosen the permissions of the user's own folders.
set -euo pipefail

usage="usage: pg-cluster.sh init|start|stop|url|where|remove DIR"
cmd=${1:?$usage}
dir=${2:?$usage}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
RELOCATE_ROOT=${KEYFLARE_PG_RELOCATE_ROOT:-/var/lib/keyflare}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
dir=${dir%/}
requested=$dir
# A relocated cluster: DIR/location names the folder that really holds it. Root acts on that folder
# (chown, initdb, rm -rf), so it is believed only when it is exactly one of ours: RELOCATE_ROOT/<16 hex
# digits>, owned by postgres, and made for this DIR.
if [ -f "$dir/location" ]; then
  location=$(cat "$dir/location")
  if ! [[ "$location" =~ ^${RELOCATE_ROOT}/[0-9a-f]{16}$ ]] || [ -L "$location" ] \
    || { [ -e "$location" ] && { [ "$(stat -c %U "$location")" != postgres ] \
         || [ "$(cat "$location/requested-by" 2>/dev/null)" != "$requested" ]; }; }; then
    echo "pg-cluster: $dir/location names $location, which is not a cluster folder made for $dir; remove it" >&2
    exit 1
  fi
  dir=$location
fi
data="$dir/data"

# From /, since the postgres user may not be able to enter our working directory. Paths are absolute.
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
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
  if [ "$(id -u)" = 0 ] && ! as_pg test -x "$dir"; then
    # The postgres user cannot traverse a parent of DIR: keep the data where it can.
    hash=$(printf '%s' "$requested" | sha256sum | cut -c1-16)
    dir="$RELOCATE_ROOT/$hash"
    install -d -m 0755 "$RELOCATE_ROOT"
    install -d -m 0700 -o postgres -g postgres "$dir"
    data="$dir/data"
    printf '%s\n' "$requested" > "$dir/requested-by"
    printf '%s\n' "$dir" > "$requested/location"
    echo "pg-cluster: the postgres user cannot reach $requested, so the cluster's data lives in $dir"
    # Left by an earlier clone at the same path whose .keyflare/ was deleted by hand: reuse it.
    if [ -f "$data/PG_VERSION" ]; then exit 0; fi
  fi
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    if ! as_pg test -w "$dir"; then
      echo "pg-cluster: the postgres user cannot write to $dir" >&2
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
max_connections = ${KEYFLARE_PG_MAX_CONNECTIONS:-200}
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
  # One more try after a failed start (seen once on a loaded machine, with nothing on the port),
  # and the server's own words when that fails too.
  if ! as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
    echo "pg-cluster: PostgreSQL did not start; trying once more. Its log said:" >&2
    tail -n 15 "$dir/postgres.log" >&2 || true
    sleep 2
    if ! as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
      tail -n 15 "$dir/postgres.log" >&2 || true
      exit 1
    fi
  fi
  ;;
stop)
  if [ -d "$data" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  ;;
url)
  echo "postgresql://keyflare:$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/${3:-keyflare}"
  ;;
where)
  echo "$dir"
  ;;
remove)
  if [ -d "$data" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  if [ "$dir" != "$requested" ]; then
    # Only a folder we made under the relocation root, and only the one DIR/location names.
    case "$dir" in "$RELOCATE_ROOT"/*) rm -rf -- "$dir" ;; esac
  fi
  rm -rf -- "$requested"
  ;;
*)
  echo "$usage" >&2
  exit 2
  ;;
esac
