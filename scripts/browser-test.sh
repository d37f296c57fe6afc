#!/usr/bin/env bash
# The console's real-browser test: Chromium and chromedriver from Debian's packages, Selenium from
# PyPI in a virtualenv under .build/, and a Keyflare server on a free loopback port against the
# database URL given (a throwaway cluster, from scripts/test.sh).
#   scripts/browser-test.sh ADMIN_DATABASE_URL
set -euo pipefail
cd "$(dirname "$0")/.."
admin_url=${1:?usage: browser-test.sh ADMIN_DATABASE_URL}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
venv=.build/browser-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'selenium>=4.20,<5'
fi

bin=$(swift build --show-bin-path)/keyflare
[ -x "$bin" ] || swift build
db="kf_browser_$$"
psql -qX "$admin_url" -c "CREATE DATABASE $db" >/dev/null
url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$db")
export KEYFLARE_DATABASE_URL=$url KEYFLARE_LOG_LEVEL=warning KEYFLARE_DRAIN_SECONDS=0
"$bin" migrate >/dev/null

password="browser-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
email="browser@keyflare.test"
account=$(printf '%s\n' "$password" | "$bin" account create --name "Browser Test" --email "$email" --password-stdin)
management=$(printf '%s' "$account" | python3 -c 'import json, sys; print(json.load(sys.stdin)["management_token"])')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

out=test-output/browser
mkdir -p "$out"
"$bin" serve --port "$port" 2>"$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
source=$(curl -fs -X POST "http://127.0.0.1:$port/api/sources" -H "X-API-KEY: $management" -d '{"name":"browser-logs"}')
source_id=$(printf '%s' "$source" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

KEYFLARE_BROWSER_BASE="http://127.0.0.1:$port" KEYFLARE_BROWSER_EMAIL="$email" KEYFLARE_BROWSER_PASSWORD="$password" \
KEYFLARE_BROWSER_SOURCE_ID="$source_id" KEYFLARE_BROWSER_SOURCE_NAME="browser-logs" KEYFLARE_BROWSER_OUTPUT="$out" \
  "$venv/bin/python" Tests/Browser/console_test.py
