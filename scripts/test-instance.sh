# Sourced by the test scripts that need one Keyflare of their own on a throwaway database:
#   . scripts/test-instance.sh
#   test_instance ADMIN_DATABASE_URL NAME LOG   (sets bin, db, KEYFLARE_DATABASE_URL, port, base, server)
# It builds the binary if needed, creates and migrates database NAME on the cluster of
# ADMIN_DATABASE_URL, serves on a free loopback port with stderr to LOG, and waits until ready.
# The caller's EXIT trap should call `test_instance_stop` (drops the database unless
# KEYFLARE_KEEP_TEST_DB is set).

test_instance() {
  local admin_url=$1 name=$2 log=$3
  bin=$(swift build --show-bin-path)/keyflare
  [ -x "$bin" ] || swift build
  db=$name
  test_instance_admin_url=$admin_url
  psql -qX "$admin_url" -c "CREATE DATABASE $db" >/dev/null
  KEYFLARE_DATABASE_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$db")
  export KEYFLARE_DATABASE_URL KEYFLARE_LOG_LEVEL=${KEYFLARE_LOG_LEVEL:-warning} KEYFLARE_DRAIN_SECONDS=0
  "$bin" migrate >/dev/null
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  base="http://127.0.0.1:$port"
  "$bin" serve --port "$port" 2>"$log" &
  server=$!
  for _ in $(seq 1 100); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "keyflare did not become ready on $base (see $log)" >&2
  return 1
}

test_instance_stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ -n "${KEYFLARE_KEEP_TEST_DB:-}" ] || psql -qX "$test_instance_admin_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
