#!/usr/bin/env bash
# `make bench-compare REF=<commit>`: the per-request cost of `/healthz` and a cached
# `/api/auth/check`, for the checkout and for REF, in the same run. REF is built (release) in a
# worktree under .build/compare/. Each binary serves its own database on a throwaway cluster, pinned
# to CPU 0 with wrk on CPU 1 (one core each: the figures are less noisy than with both sharing two),
# and each route is measured ROUNDS times (default 5) for DURATION seconds (default 5), the binaries
# taking turns. CPU time per request is the server's task-clock (perf stat) over the requests wrk
# counted; without perf, only throughput is printed. Prints the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${REF:?set REF to the commit to compare against}
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
command -v wrk >/dev/null || { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null; }
sha=$(git rev-parse --verify "$ref^{commit}")
tree=.build/compare/$sha
if [ ! -x "$tree/.build/release/keyflare" ]; then
  [ -d "$tree" ] || git worktree add --detach "$tree" "$sha" >/dev/null
  (cd "$tree" && swift build -c release --product keyflare)
fi
swift build -c release --product keyflare
work=$(mktemp -d /tmp/keyflare-compare.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
KEYFLARE_PG_PORT=56433 scripts/pg-cluster.sh init "$work/pg" >/dev/null
scripts/pg-cluster.sh start "$work/pg" >/dev/null
admin=$(scripts/pg-cluster.sh url "$work/pg" postgres)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
perf_ok=$(perf stat -e task-clock true >/dev/null 2>&1 && echo yes || echo no)
declare -A bin=([ref]="$tree/.build/release/keyflare" [head]="$(swift build -c release --show-bin-path)/keyflare")
# Before embedded migrations (#13) a binary read them from its checkout's folder.
declare -A migrations=([ref]="$tree/migrations" [head]="")
declare -A port token pid
for v in ref head; do
  psql -qX "$admin" -c "CREATE DATABASE compare_$v" >/dev/null
  url=$(scripts/pg-cluster.sh url "$work/pg" "compare_$v")
  env=(KEYFLARE_DATABASE_URL="$url" KEYFLARE_LOG_LEVEL=error KEYFLARE_MIGRATIONS_DIR="${migrations[$v]}")
  env "${env[@]}" "${bin[$v]}" migrate >/dev/null
  token[$v]=$(env "${env[@]}" "${bin[$v]}" account create --name Compare --email "compare-$v@keyflare.test" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["management_token"])')
  port[$v]=$(free_port)
  env "${env[@]}" KEYFLARE_PORT="${port[$v]}" KEYFLARE_DRAIN_SECONDS=0 KEYFLARE_AUTH_FAILURES_PER_MINUTE=1000000 \
    taskset -c 0 "${bin[$v]}" serve 2>"$work/$v.log" &
  pid[$v]=$!
  pids+=("${pid[$v]}")
done
for v in ref head; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:${port[$v]}/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS -H "Authorization: Bearer ${token[$v]}" "http://127.0.0.1:${port[$v]}/api/auth/check" >/dev/null
done
raw=$work/raw.txt
for round in $(seq 1 "$rounds"); do
  for v in ref head; do
    for route in healthz auth; do
      if [ "$route" = healthz ]; then path=/healthz; header=(); else path=/api/auth/check; header=(-H "Authorization: Bearer ${token[$v]}"); fi
      if [ "$perf_ok" = yes ]; then
        perf stat -x, -e task-clock -p "${pid[$v]}" -o "$work/perf.txt" -- sleep $((duration + 1)) &
        perf_pid=$!
      fi
      out=$(taskset -c 1 wrk -t1 -c32 -d"${duration}s" "${header[@]}" "http://127.0.0.1:${port[$v]}$path")
      ms=0
      if [ "$perf_ok" = yes ]; then wait "$perf_pid"; ms=$(grep task-clock "$work/perf.txt" | cut -d, -f1); fi
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      echo "$v $route $requests $duration $ms" >>"$raw"
    done
  done
done
python3 - "$raw" "$ref" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, route, requests, seconds, ms = line.split()
    runs[(v, route)].append((int(requests) / float(seconds), float(ms) * 1000 / int(requests)))
print(f"medians of the rounds; ref = {sys.argv[2]}, head = the checkout")
print(f"{'binary':6} {'healthz req/s':>14} {'us/req':>7} {'auth req/s':>11} {'us/req':>7} {'ratio':>6} {'auth - healthz us':>18}")
for v in ("ref", "head"):
    h = runs[(v, "healthz")]; a = runs[(v, "auth")]
    hr, ar = statistics.median(x[0] for x in h), statistics.median(x[0] for x in a)
    hc, ac = statistics.median(x[1] for x in h), statistics.median(x[1] for x in a)
    print(f"{v:6} {hr:14.0f} {hc:7.1f} {ar:11.0f} {ac:7.1f} {ar / hr:6.3f} {ac - hc:18.1f}")
PY
