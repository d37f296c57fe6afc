#!/usr/bin/env bash
# `make run` from a folder the postgres OS user cannot reach, as a new user cloning into root's home
# folder would: a clone in a 0700 folder, the cluster part of `make run` (scripts/run.sh --prepare),
# the server started from an empty folder with no KEYFLARE_MIGRATIONS_DIR until /readyz is 200,
# the same again to find the same data, then `make clean-db` to remove it wherever it lives.
#
# It uses this checkout's debug binary (KEYFLARE_BIN overrides it) rather than building the clone.
# Working-tree edits to tracked files are copied over the clone, so what is tested is what is here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${KEYFLARE_BIN:-$root/.build/debug/keyflare}
[ -x "$bin" ] || { echo "run-anywhere: $bin is not built" >&2; exit 1; }

home=$(mktemp -d /tmp/keyflare-home.XXXXXX)   # mode 0700, like root's home folder
clone="$home/keyflare"
server=""
fail() { echo "run-anywhere: FAIL: $*" >&2; exit 1; }
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  if [ -d "$clone/.keyflare/postgres" ]; then scripts/pg-cluster.sh remove "$clone/.keyflare/postgres" || true; fi
  rm -rf "$home"
}
trap cleanup EXIT

git clone -q "$root" "$clone"
git ls-files -z | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$clone"
[ "$(stat -c %a "$home")" = 700 ] || fail "$home is not 0700"
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run 1: a new cluster.
log="$home/run.log"
first=$(cd "$clone" && KEYFLARE_BIN=$bin KEYFLARE_PG_PORT=$(free_port) scripts/run.sh --prepare 2>>"$log") \
  || { cat "$log" >&2; fail "run.sh --prepare failed: $first"; }
url=$(tail -n 1 <<<"$first")
where=$(grep '^PostgreSQL data: ' <<<"$first" | sed 's/^PostgreSQL data: //')
[ -n "$where" ] || fail "make run did not say where the data lives"
relocated=""
if [ "$(id -u)" = 0 ]; then
  [ -f "$clone/.keyflare/postgres/location" ] || fail "root in a 0700 folder: the cluster was not relocated"
  relocated=$(cat "$clone/.keyflare/postgres/location")
  case "$relocated" in /var/lib/keyflare/*) ;; *) fail "relocated to $relocated, not under /var/lib/keyflare" ;; esac
  [ "$where" = "$relocated/data" ] || fail "printed $where, recorded $relocated"
  [ "$(stat -c %U "$relocated")" = postgres ] || fail "$relocated is not the postgres user's"
  [ "$(stat -c %a "$home")" = 700 ] || fail "the permissions of $home were loosened"
fi
[ -f "$where/PG_VERSION" ] || fail "no cluster in $where"
account=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["account_id"])' "$clone/.keyflare/demo.json")

# The server from an empty folder, with no migrations folder in reach.
empty=$(mktemp -d)
port=$(free_port)
# `exec`, so that $! is the server itself and the kill below stops it, not only the subshell.
(cd "$empty" && exec env -u KEYFLARE_MIGRATIONS_DIR KEYFLARE_DATABASE_URL="$url" KEYFLARE_PORT="$port" \
  KEYFLARE_DRAIN_SECONDS=0 "$bin" serve >"$home/serve.log" 2>&1) &
server=$!
ready=""
for _ in $(seq 1 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true)" = 200 ] && { ready=1; break; }
  sleep 0.2
done
[ -n "$ready" ] || { cat "$home/serve.log" >&2; fail "/readyz never answered 200"; }
kill "$server"; wait "$server" 2>/dev/null || true; server=""
rmdir "$empty" || fail "the server wrote into its working directory"
scripts/pg-cluster.sh stop "$clone/.keyflare/postgres"

# Run 2: the same cluster and the same data.
second=$(cd "$clone" && KEYFLARE_BIN=$bin scripts/run.sh --prepare 2>>"$log") \
  || { cat "$log" >&2; fail "second run.sh --prepare failed: $second"; }
[ "$(grep '^PostgreSQL data: ' <<<"$second" | sed 's/^PostgreSQL data: //')" = "$where" ] || fail "the second run found other data"
grep -q 'created the demo account' <<<"$second" && fail "the second run created another demo account"
count=$(psql -qAtX "$(tail -n 1 <<<"$second")" -c "SELECT count(*) FROM accounts WHERE id = '$account'")
[ "$count" = 1 ] || fail "the demo account of the first run is gone"
scripts/pg-cluster.sh stop "$clone/.keyflare/postgres"

# make clean-db removes it, wherever it lives.
make -s -C "$clone" clean-db >/dev/null
[ ! -e "$clone/.keyflare" ] || fail "make clean-db left .keyflare/"
[ -z "$relocated" ] || [ ! -e "$relocated" ] || fail "make clean-db left $relocated"
echo "run-anywhere: ok (data in $where; same data on the second run; removed by make clean-db)"
