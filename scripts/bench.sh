#!/usr/bin/env bash
# `make bench [SUITE=name]`: a throwaway PostgreSQL, two release-built Keyflare instances on
# loopback, the suites, and a table of figures against same-run references. Writes
# bench/results/latest.json. Suites: verify http-auth ingest-single ingest-batch revoke cold-verify
# memory soak abuse endpoint-latest sandbox-sources rate-limited (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${SUITE:-all}
all="verify http-auth ingest-single ingest-batch revoke cold-verify memory soak abuse endpoint-latest sandbox-sources rate-limited"
[ "$suite" = all ] && suites=$all || suites=$suite
for s in $suites; do
  case " $all " in *" $s "*) ;; *) echo "unknown suite: $s (one of: $all)" >&2; exit 2 ;; esac
done
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
command -v wrk >/dev/null || { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null; }
venv=.build/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import psycopg' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'psycopg[binary]>=3.1,<4'
fi
results=bench/results
work=$(mktemp -d /tmp/keyflare-bench.XXXXXX)
chmod 755 "$work"
mkdir -p "$results"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg-cluster.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ " $suites " == *" verify "* ]]; then
  echo "== verify (micro-benchmark package in Benchmarks/)"
  (cd Benchmarks && swift package --disable-sandbox benchmark --no-progress 2>&1) | grep -v "skipping LD_PRELOAD" > "$work/verify.txt"
fi

http_suites=""
for s in $suites; do [ "$s" = verify ] || http_suites="$http_suites $s"; done
if [ -n "$http_suites" ]; then
  swift build -c release
  bin=$(swift build -c release --show-bin-path)/keyflare
  KEYFLARE_PG_PORT=56432 scripts/pg-cluster.sh init "$work/pg"
  # Benchmarks measure the server, not a cold disk: the cluster keeps fsync on, as in production.
  scripts/pg-cluster.sh start "$work/pg"
  admin=$(scripts/pg-cluster.sh url "$work/pg" postgres)
  psql -qX "$admin" -c "CREATE DATABASE bench" >/dev/null
  export KEYFLARE_DATABASE_URL BENCH_DATABASE_URL
  KEYFLARE_DATABASE_URL=$(scripts/pg-cluster.sh url "$work/pg" bench)
  BENCH_DATABASE_URL=$KEYFLARE_DATABASE_URL
  "$bin" migrate >/dev/null
  account=$("$bin" account create --name Bench --email bench@keyflare.test)
  export BENCH_MANAGEMENT_TOKEN BENCH_ACCOUNT_ID BENCH_SOURCE_ID BENCH_A BENCH_B BENCH_PID_B
  BENCH_MANAGEMENT_TOKEN=$(printf '%s' "$account" | python3 -c 'import json,sys; print(json.load(sys.stdin)["management_token"])')
  BENCH_ACCOUNT_ID=$(printf '%s' "$account" | python3 -c 'import json,sys; print(json.load(sys.stdin)["account_id"])')
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  port_a=$(free_port); port_b=$(free_port)
  KEYFLARE_LOG_LEVEL=warning KEYFLARE_DRAIN_SECONDS=0 KEYFLARE_DB_POOL_SIZE=20 "$bin" serve --port "$port_a" 2>"$work/a.log" & pids+=($!)
  KEYFLARE_LOG_LEVEL=warning KEYFLARE_DRAIN_SECONDS=0 KEYFLARE_DB_POOL_SIZE=20 "$bin" serve --port "$port_b" 2>"$work/b.log" & pids+=($!)
  BENCH_PID_B=${pids[1]}
  BENCH_A=127.0.0.1:$port_a; BENCH_B=127.0.0.1:$port_b
  for address in "$BENCH_A" "$BENCH_B"; do
    for _ in $(seq 1 100); do curl -fs "http://$address/readyz" | grep -q '"listener":"up"' && break; sleep 0.1; done
  done
  BENCH_SOURCE_ID=$(curl -fs -X POST "http://$BENCH_A/api/sources" -H "X-API-KEY: $BENCH_MANAGEMENT_TOKEN" -d '{"name":"bench"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for s in $http_suites; do
    echo "== $s"
    "$venv/bin/python" bench/driver.py "$s" > "$work/$s.json"
  done
fi

inputs=()
for s in $suites; do
  [ "$s" = verify ] && inputs+=("$work/verify.txt") || inputs+=("$work/$s.json")
done
echo
python3 bench/report.py "$results/latest.json" "${inputs[@]}"
