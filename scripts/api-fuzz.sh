#!/usr/bin/env bash
# The OpenAPI document against the live server: schemathesis (from PyPI, in a virtualenv under
# .build/) runs every operation of /api/openapi.json against a real Keyflare on a free loopback port,
# once with a management token and once with a public token, with its default checks (no 5xx,
# responses match their schemas, status codes and headers documented, invalid input refused).
#   scripts/api-fuzz.sh ADMIN_DATABASE_URL
# It also checks that docs/api.md is generated from the current openapi.yaml, and runs every curl
# example of the document (Tests/OpenAPI/run_examples.py).
# Tests/OpenAPI/schemathesis.toml bounds the examples per operation and phase (KEYFLARE_FUZZ_EXAMPLES
# overrides it); the seed is fixed
# so a run is repeatable; the cases it found wrong in the server are kept as Swift tests
# (Tests/APITests/OpenAPIDocumentTests.swift).
set -euo pipefail
cd "$(dirname "$0")/.."
admin_url=${1:?usage: api-fuzz.sh ADMIN_DATABASE_URL}
seed=${KEYFLARE_FUZZ_SEED:-20261201}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
venv=.build/schemathesis-venv
if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/st" --version 2>/dev/null | grep -q '4\.32\.5'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis==4.32.5'
fi

status=0
# docs/api.md is generated from the document; a stale one fails the run.
"$venv/bin/python" scripts/api-docs.py openapi.yaml docs/api.md --check || status=1

out=test-output/api-fuzz
rm -rf "$out"
mkdir -p "$out"
# Fuzzing sends thousands of unknown tokens from one address: the failure limit would turn them
# into 429s (documented, but they would hide the paths behind verification).
export KEYFLARE_AUTH_FAILURES_PER_MINUTE=1000000
# A key pair that signs the leak-report example (POST /api/token-leaks), as a scanner's would.
command -v openssl >/dev/null || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openssl >/dev/null
export LEAK_REPORT_KEY=$out/leak-report-key.pem LEAK_REPORT_KEY_ID=keyflare-api-examples
openssl ecparam -name prime256v1 -genkey -noout -out "$LEAK_REPORT_KEY" 2>/dev/null
KEYFLARE_LEAK_REPORT_KEYS=$(openssl ec -in "$LEAK_REPORT_KEY" -pubout 2>/dev/null |
  python3 -c 'import json, sys; print(json.dumps({"public_keys": [{"key_identifier": sys.argv[1], "key": sys.stdin.read(), "is_current": True}]}))' "$LEAK_REPORT_KEY_ID")
export KEYFLARE_LEAK_REPORT_KEYS
. scripts/test-instance.sh
trap test_instance_stop EXIT
test_instance "$admin_url" "kf_apifuzz_$$" "$out/server.log"
account=$("$bin" account create --name "API Fuzz" --email "fuzz@keyflare.test")
management=$(printf '%s' "$account" | python3 -c 'import json, sys; print(json.load(sys.stdin)["management_token"])')
api() { curl -fs -X "$1" "$base$2" -H "Authorization: Bearer $management" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
field() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
# Something to find: a source with events, a public endpoint and a token restricted to them.
source_id=$(api POST /api/sources '{"name":"fuzz-logs"}' | field id)
api POST "/api/logs?source=$source_id" '{"batch":[{"message":"hello","level":"info"}]}' >/dev/null
endpoint_id=$(api POST /api/endpoints '{"name":"fuzz-latest","sql":"select event_message from \"fuzz-logs\" order by \"timestamp\" desc limit 10"}' | field id)
public_json=$(api POST /api/access-tokens "{\"description\":\"fuzz\",\"scopes\":[\"ingest:source:$source_id\",\"query:endpoint:$endpoint_id\"]}")
public=$(printf '%s' "$public_json" | field token)
# What the run stands on (the two tokens, by id and by secret, the source and the endpoint):
# Tests/OpenAPI/hooks.py keeps the fuzzer from revoking, rolling or deleting them.
management_id=$(api GET /api/auth/check | field token_id)
protected="$management_id,$management,$(printf '%s' "$public_json" | field id),$public,$source_id,$endpoint_id"

# Every curl example in the document (and so in docs/api.md) works, on a fresh account of its own.
example_account=$("$bin" account create --name "API Examples" --email "examples@keyflare.test")
example_token=$(printf '%s' "$example_account" | field management_token)
mgmt() { curl -fs -X "$1" "$base$2" -H "Authorization: Bearer $example_token" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
example_source=$(mgmt POST /api/sources '{"name":"app-logs"}' | field id)
example_endpoint=$(mgmt POST /api/endpoints '{"name":"by-level","sql":"select event_message from \"app-logs\" where body->>'"'"'level'"'"' = @level"}' | field id)
example_public=$(mgmt POST /api/access-tokens "{\"scopes\":[\"ingest:source:$example_source\",\"query:endpoint:$example_endpoint\"]}" | field token)
example_spare=$(mgmt POST /api/access-tokens '{"description":"to roll and revoke"}' | field id)
# A TEST-NET-3 receiver: public, so accepted, and unreachable, so its deliveries just time out later.
example_webhook=$(mgmt POST /api/webhooks '{"url":"https://203.0.113.7/keyflare-events","events":["token.revoked"]}' | field id)
echo "curl examples of openapi.yaml:"
KEYFLARE_URL=$base KEYFLARE_TOKEN=$example_token KEYFLARE_PUBLIC_TOKEN=$example_public SOURCE_ID=$example_source \
  ENDPOINT_ID=$example_endpoint TOKEN_ID=$example_spare WEBHOOK_ID=$example_webhook \
  "$venv/bin/python" Tests/OpenAPI/run_examples.py openapi.yaml >"$out/examples.log" 2>&1 || status=1
tail -n 1 "$out/examples.log"
grep FAIL "$out/examples.log" || true

run() {
  local name=$1 token=$2
  shift 2
  echo "schemathesis ($name token): ${KEYFLARE_FUZZ_EXAMPLES:-30 (5 for the ingest aliases)} examples per operation and phase, seed $seed"
  KEYFLARE_FUZZ_SOURCE=$source_id KEYFLARE_FUZZ_ENDPOINT=$endpoint_id KEYFLARE_FUZZ_PROTECTED=$protected \
  SCHEMATHESIS_HOOKS=Tests/OpenAPI/hooks.py \
  "$venv/bin/st" --config-file Tests/OpenAPI/schemathesis.toml run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    ${KEYFLARE_FUZZ_EXAMPLES:+--max-examples "$KEYFLARE_FUZZ_EXAMPLES"} --seed "$seed" --workers 2 --request-timeout 10 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit,ndjson --report-dir "$out/$name" --no-color "$@" >"$out/$name.log" 2>&1 || status=1
  # The summary: operations, test cases, failures.
  sed -n '/SUMMARY/,$p' "$out/$name.log"
}
run management "$management"
run public "$public"
[ $status = 0 ] || echo "schemathesis found failures: see $out/*.log"
exit $status
