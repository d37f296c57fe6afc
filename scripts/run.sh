#!/usr/bin/env bash
# `make run`: the embedded cluster in .keyflare/postgres (unless KEYFLARE_DATABASE_URL is set),
# migrations, a demo account on the first run, then the server in the foreground.
# Ctrl-C stops the server, then the cluster.
#
#   run.sh             all of it
#   run.sh --prepare   everything before the server starts, leaving the cluster running; prints the
#                      database URL last (used by scripts/run-anywhere-test.sh)
#
# KEYFLARE_BIN names the binary (default: this checkout's debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${KEYFLARE_BIN:-.build/debug/keyflare}
state=.keyflare
prepare_only=false
[ "${1:-}" = --prepare ] && prepare_only=true

if [ -z "${KEYFLARE_DATABASE_URL:-}" ]; then
  mkdir -p "$state"
  chmod 755 "$state"
  scripts/pg-cluster.sh init "$state/postgres"
  scripts/pg-cluster.sh start "$state/postgres"
  $prepare_only || trap 'scripts/pg-cluster.sh stop "$state/postgres"; echo "stopped the embedded PostgreSQL"' EXIT
  echo "PostgreSQL data: $(scripts/pg-cluster.sh where "$state/postgres")/data"
  admin_url=$(scripts/pg-cluster.sh url "$state/postgres" postgres)
  if ! psql -qAtX "$admin_url" -c "SELECT 1 FROM pg_database WHERE datname = 'keyflare'" | grep -q 1; then
    psql -qX "$admin_url" -c "CREATE DATABASE keyflare" >/dev/null
  fi
  export KEYFLARE_DATABASE_URL
  KEYFLARE_DATABASE_URL=$(scripts/pg-cluster.sh url "$state/postgres" keyflare)
fi

"$bin" migrate

demo="$state/demo.json"
if [ ! -s "$demo" ]; then
  mkdir -p "$state"
  (umask 077; "$bin" account create --name "Demo" --email "demo@keyflare.local" > "$demo.tmp")
  mv "$demo.tmp" "$demo"
  echo "created the demo account (kept in $demo):"
fi
if $prepare_only; then
  echo "$KEYFLARE_DATABASE_URL"
  exit 0
fi
echo "console: http://${KEYFLARE_HOST:-127.0.0.1}:${KEYFLARE_PORT:-4000}/console (sign in as demo@keyflare.local)"
echo "demo credentials: $(cat "$demo")"
echo "serving on http://${KEYFLARE_HOST:-127.0.0.1}:${KEYFLARE_PORT:-4000} (Ctrl-C to stop)"
# Locally, Ctrl-C should stop at once rather than drain for a load balancer.
export KEYFLARE_DRAIN_SECONDS=${KEYFLARE_DRAIN_SECONDS:-0}
# Not exec: the EXIT trap must still stop the cluster after the server exits.
"$bin" serve &
server=$!
trap 'kill -INT $server 2>/dev/null || true' INT TERM
wait $server || true
wait $server 2>/dev/null || true
