#!/usr/bin/env bash
# A real multi-instance Keyflare topology on this machine:
#
#   clients ─▶ HAProxy (one port, active checks on /readyz) ─▶ 3 Keyflare instances
#   instances' pools ─▶ PgBouncer (transaction pooling) ─▶ PostgreSQL
#   instances' LISTEN connections ─────────────────────────▶ PostgreSQL (directly)
#
#   cluster.sh up DIR                 start everything in DIR (idempotent) and print the addresses
#   cluster.sh down DIR               stop everything started in DIR
#   cluster.sh start-instance DIR N   (re)start instance N and wait until it is ready
#   cluster.sh restart-db DIR         restart PostgreSQL (fast shutdown), leaving the rest running
#   cluster.sh test                   a throwaway cluster, the fault scenarios, one verdict line each
#
# The binary is the static release build the container image ships (scripts/deploy-check.sh builds
# it); KEYFLARE_BIN overrides it. KEYFLARE_CLUSTER_PORT sets the balancer's port (`make cluster`
# uses 4100; otherwise a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
INSTANCES=3

cmd=${1:?usage: cluster.sh up|down|start-instance|restart-db DIR | cluster.sh test}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

binary() {
  if [ -n "${KEYFLARE_BIN:-}" ]; then echo "$KEYFLARE_BIN"; return; fi
  local bin
  bin=$(swift build -c release --static-swift-stdlib --show-bin-path)/keyflare
  if [ ! -x "$bin" ]; then
    echo "cluster: building the static release binary (once)" >&2
    swift build -c release --static-swift-stdlib --product keyflare >&2
  fi
  echo "$bin"
}

wait_http() { # URL STATUS TIMEOUT
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}

load_state() {
  dir=$(cd "${1:?DIR}" && pwd)
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
}

# Whether the process in PIDFILE runs (a zombie left for an absent reaper does not count).
running() {
  [ -f "$1" ] || return 1
  local state
  state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null || true)
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

start_instance() { # N
  local n=$1 port_var="KF_PORT_$1" pidfile="$dir/kf-$1.pid"
  if running "$pidfile"; then return 0; fi
  KEYFLARE_DATABASE_URL=$BOUNCER_URL KEYFLARE_LISTEN_DATABASE_URL=$DIRECT_URL \
    KEYFLARE_HOST=127.0.0.1 KEYFLARE_PORT=${!port_var} KEYFLARE_DB_POOL_SIZE=8 \
    KEYFLARE_DRAIN_SECONDS=${KEYFLARE_DRAIN_SECONDS:-3} KEYFLARE_LISTEN_DETECTION_SECONDS=3 \
    KEYFLARE_LOG_FORMAT=json KEYFLARE_LOG_LEVEL=${KEYFLARE_LOG_LEVEL:-notice} KEYFLARE_TRUSTED_PROXIES=127.0.0.1/32 \
    KEYFLARE_SANDBOX_KEY=${SANDBOX_KEY:-} nohup "$BIN" serve >>"$dir/kf-$n.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  if ! wait_http "http://127.0.0.1:${!port_var}/readyz" 200 60; then
    echo "cluster: instance $n did not become ready; see $dir/kf-$n.log" >&2
    tail -n 20 "$dir/kf-$n.log" >&2
    return 1
  fi
}

up() {
  mkdir -p "$1"
  chmod 755 "$1"
  dir=$(cd "$1" && pwd)
  if [ ! -f "$dir/cluster.env" ]; then
    KEYFLARE_PG_PORT=$(free_port) scripts/pg-cluster.sh init "$dir/pg"
    {
      echo "BIN=$(binary)"
      echo "BOUNCER_PORT=$(free_port)"
      echo "LB_PORT=${KEYFLARE_CLUSTER_PORT:-$(free_port)}"
      for n in $(seq 1 $INSTANCES); do echo "KF_PORT_$n=$(free_port)"; done
      echo "DIRECT_URL=$(scripts/pg-cluster.sh url "$dir/pg" keyflare)"
      echo "SANDBOX_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    } >"$dir/cluster.env"
    . "$dir/cluster.env"
    echo "BOUNCER_URL=postgresql://keyflare:$(cat "$(scripts/pg-cluster.sh where "$dir/pg")/password")@127.0.0.1:$BOUNCER_PORT/keyflare" >>"$dir/cluster.env"
  fi
  load_state "$dir"
  scripts/pg-cluster.sh start "$dir/pg"
  local admin password pg_port
  admin=$(scripts/pg-cluster.sh url "$dir/pg" postgres)
  # The cluster's own folder: $dir/pg, or where pg-cluster.sh relocated it (a 0700 parent, as root).
  pg_home=$(scripts/pg-cluster.sh where "$dir/pg")
  password=$(cat "$pg_home/password")
  pg_port=$(cat "$pg_home/port")
  if [ -z "$(psql -qtAX "$admin" -c "SELECT 1 FROM pg_database WHERE datname = 'keyflare'")" ]; then
    psql -qX "$admin" -c "CREATE DATABASE keyflare" >/dev/null
  fi
  # Migrations go straight to PostgreSQL, like a Kubernetes migrate Job would.
  KEYFLARE_DATABASE_URL=$DIRECT_URL KEYFLARE_LOG_LEVEL=warning "$BIN" migrate >/dev/null

  # PgBouncer in transaction mode. Keyflare's own user is in the auth file; everyone else (the
  # endpoint sandbox's per-account roles) is looked up in pg_shadow through auth_query, and SCRAM
  # passes through to PostgreSQL. It refuses to run as root, like PostgreSQL.
  mkdir -p "$dir/pgbouncer"
  printf '"keyflare" "%s"\n' "$password" >"$dir/pgbouncer/userlist.txt"
  chmod 600 "$dir/pgbouncer/userlist.txt"
  cat >"$dir/pgbouncer/pgbouncer.ini" <<INI
[databases]
keyflare = host=127.0.0.1 port=$pg_port dbname=keyflare

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
pool_mode = transaction
auth_type = scram-sha-256
auth_file = $dir/pgbouncer/userlist.txt
auth_user = keyflare
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_login_retry = 1
query_wait_timeout = 10
logfile = $dir/pgbouncer/pgbouncer.log
pidfile = $dir/pgbouncer/pgbouncer.pid
INI
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir/pgbouncer"
  if ! running "$dir/pgbouncer/pgbouncer.pid"; then
    as_pg "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" -d -q "$dir/pgbouncer/pgbouncer.ini"
  fi

  for n in $(seq 1 $INSTANCES); do start_instance "$n" & done
  wait

  # HAProxy: round robin, /readyz checked every 500 ms, out after one failure, back after two
  # passes; a refused connection is retried on another instance.
  {
    cat <<CFG
global
    pidfile $dir/haproxy.pid
    stats socket $dir/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 15s
    timeout http-keep-alive 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend keyflare
    bind 127.0.0.1:$LB_PORT
    option forwardfor
    default_backend instances

backend instances
    balance roundrobin
    # A POST that reached an instance is never sent again (a retry could store an ingest batch twice
    # or create two tokens); it is retried elsewhere only when its connection never opened.
    http-request disable-l7-retry if METH_POST
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms rise 2 fall 1
CFG
    for n in $(seq 1 $INSTANCES); do
      port_var="KF_PORT_$n"
      echo "    server kf$n 127.0.0.1:${!port_var} check"
    done
  } >"$dir/haproxy.cfg"
  if ! running "$dir/haproxy.pid"; then
    "$(command -v haproxy || echo /usr/sbin/haproxy)" -q -D -f "$dir/haproxy.cfg"
  fi
  wait_http "http://127.0.0.1:$LB_PORT/readyz" 200 30
  echo "cluster up in $dir"
  echo "  balancer   http://127.0.0.1:$LB_PORT"
  for n in $(seq 1 $INSTANCES); do port_var="KF_PORT_$n"; echo "  instance $n http://127.0.0.1:${!port_var}  (log $dir/kf-$n.log)"; done
  echo "  pgbouncer  127.0.0.1:$BOUNCER_PORT (transaction mode); postgres 127.0.0.1:$pg_port"
  echo "an account and its management token:"
  echo "  (. $dir/cluster.env && KEYFLARE_DATABASE_URL=\$DIRECT_URL \$BIN account create --name Acme --email you@example.com)"
  echo "stop it with: make cluster-down"
}

down() {
  [ -d "$1" ] || return 0
  dir=$(cd "$1" && pwd)
  local pids=""
  for pidfile in "$dir"/kf-*.pid "$dir/haproxy.pid" "$dir/pgbouncer/pgbouncer.pid"; do
    [ -f "$pidfile" ] || continue
    if running "$pidfile"; then
      pids="$pids $(cat "$pidfile")"
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  # Instances drain before they exit; wait for them (at most 20 s) before stopping PostgreSQL.
  local deadline=$((SECONDS + 20)) pid
  for pid in $pids; do
    while [ $SECONDS -lt $deadline ]; do
      state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
      { [ -z "$state" ] || [ "${state#Z}" != "$state" ]; } && break
      sleep 0.1
    done
  done
  scripts/pg-cluster.sh stop "$dir/pg" || true
}

case "$cmd" in
up) up "${2:?usage: cluster.sh up DIR}" ;;
down) down "${2:?usage: cluster.sh down DIR}" ;;
start-instance)
  load_state "${2:?DIR}"
  start_instance "${3:?N}"
  ;;
restart-db)
  load_state "${2:?DIR}"
  pg_home=$(scripts/pg-cluster.sh where "$dir/pg")
  as_pg "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl" -D "$pg_home/data" -m fast -w restart \
    -l "$pg_home/postgres.log" >/dev/null
  ;;
test)
  tmp=$(mktemp -d /tmp/keyflare-cluster.XXXXXX)
  chmod 755 "$tmp"
  trap 'down "$tmp"; [ -n "${KEEP_CLUSTER:-}" ] || rm -rf "$tmp"' EXIT
  up "$tmp" >/dev/null
  python3 Tests/Cluster/cluster_test.py "$tmp"
  ;;
*)
  echo "usage: cluster.sh up|down|start-instance|restart-db DIR | cluster.sh test" >&2
  exit 2
  ;;
esac
