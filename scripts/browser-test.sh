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

out=test-output/browser
mkdir -p "$out"
. scripts/test-instance.sh
trap test_instance_stop EXIT
# Usage reaches the charts within a second instead of ten.
export KEYFLARE_USAGE_FLUSH_SECONDS=1
test_instance "$admin_url" "kf_browser_$$" "$out/server.log"

password="browser-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
email="browser@keyflare.test"
account=$(printf '%s\n' "$password" | "$bin" account create --name "Browser Test" --email "$email" --password-stdin)
management=$(printf '%s' "$account" | python3 -c 'import json, sys; print(json.load(sys.stdin)["management_token"])')
source=$(curl -fs -X POST "http://127.0.0.1:$port/api/sources" -H "X-API-KEY: $management" -d '{"name":"browser-logs"}')
source_id=$(printf '%s' "$source" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

KEYFLARE_BROWSER_BASE="http://127.0.0.1:$port" KEYFLARE_BROWSER_EMAIL="$email" KEYFLARE_BROWSER_PASSWORD="$password" \
KEYFLARE_BROWSER_SOURCE_ID="$source_id" KEYFLARE_BROWSER_SOURCE_NAME="browser-logs" KEYFLARE_BROWSER_OUTPUT="$out" \
  "$venv/bin/python" Tests/Browser/console_test.py
