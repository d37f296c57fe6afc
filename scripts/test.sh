#!/usr/bin/env bash
# `make test`: a throwaway cluster on a free port in a temporary folder, `swift test` against it,
# and the cluster stopped and removed whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/keyflare-test.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  scripts/pg-cluster.sh stop "$tmp/pg" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# Swift Testing runs every suite at once, and each test's instances hold pools of their own.
KEYFLARE_PG_PORT=55432 KEYFLARE_PG_MAX_CONNECTIONS=1000 scripts/pg-cluster.sh init "$tmp/pg"
scripts/pg-cluster.sh start "$tmp/pg"
export KEYFLARE_TEST_DATABASE_URL
KEYFLARE_TEST_DATABASE_URL=$(scripts/pg-cluster.sh url "$tmp/pg" postgres)
status=0
swift test "$@" || status=$?
# libFuzzer on the parsers of untrusted bytes, bounded in time.
scripts/fuzz.sh || status=$?
# openapi.yaml against a live server: schemathesis, the curl examples, docs/api.md up to date.
scripts/api-fuzz.sh "$KEYFLARE_TEST_DATABASE_URL" || status=$?
# `make run` from a folder the postgres user cannot reach, and the binary from an empty folder.
scripts/run-anywhere-test.sh || status=$?
# The console in a real browser, against the same throwaway cluster.
scripts/browser-test.sh "$KEYFLARE_TEST_DATABASE_URL" || status=$?
# deploy/: the static release binary's libraries, and the linters (builds the release binary).
scripts/deploy-check.sh || status=$?
# The multi-instance topology under faults, on its own throwaway cluster, with that binary.
scripts/cluster.sh test || status=$?
exit $status
