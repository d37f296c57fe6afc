#!/usr/bin/env bash
# libFuzzer targets for what parses untrusted bytes: the ingest body scanner, the NDJSON splitter,
# the BERT decoder, the syslog parser, the OTLP decoders (protobuf and JSON) and endpoint SQL
# parameter scanning. Each target is compiled straight from the Swift files it exercises (no
# package build, so it takes seconds), with libFuzzer and AddressSanitizer from the Swift toolchain,
# then run for FUZZ_SECONDS (default 30) from the committed seeds in Fuzz/corpus/<target>/.
# A crash, a precondition failure or an input that takes over 5 s fails the run; the input that did
# it is kept in test-output/fuzz/ (add it to the corpus once fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
out=.build/fuzz
artifacts=test-output/fuzz
mkdir -p "$out" "$artifacts"
core=Sources/KeyflareCore

build() { # NAME FILE...
  local name=$1
  shift
  # The linker warns about every sanitizer symbol it cannot export; keep that out of the test log.
  if ! swiftc -parse-as-library -sanitize=fuzzer,address -O -module-name "Fuzz_${name//-/_}" "$@" -o "$out/$name" \
    >"$artifacts/$name-build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$artifacts/$name-build.log" >&2
    echo "fuzz: FAIL could not build $name" >&2
    exit 1
  fi
}
ingest=("$core/Ingest/IngestScanner.swift" "$core/Ingest/IngestBatch.swift" "$core/Ingest/IngestEvent.swift"
  "$core/Ingest/IngestRoute.swift" "$core/Errors/KeyflareError.swift" "$core/Support/RFC3339.swift")
build ingest-body Fuzz/IngestBody/main.swift "${ingest[@]}"
build ingest-ndjson Fuzz/IngestNDJSON/main.swift "${ingest[@]}"
build ingest-bert Fuzz/IngestBERT/main.swift "$core/Ingest/BERTDecoder.swift" "${ingest[@]}"
build syslog Fuzz/Syslog/main.swift "$core"/Ingest/Syslog/*.swift "${ingest[@]}"
build otlp-protobuf Fuzz/OTLPProtobuf/main.swift "$core"/Ingest/OTLP/*.swift "${ingest[@]}"
build otlp-json Fuzz/OTLPJSON/main.swift "$core"/Ingest/OTLP/*.swift "${ingest[@]}"
build endpoint-sql Fuzz/EndpointSQL/main.swift "$core/Endpoints/EndpointSQL.swift" "$core/Errors/KeyflareError.swift"

status=0
for target in ingest-body ingest-ndjson ingest-bert syslog otlp-protobuf otlp-json endpoint-sql; do
  # New inputs go to a scratch folder; the committed seeds are only read.
  scratch=$(mktemp -d)
  log="$artifacts/$target.log"
  if "$out/$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts/$target-" -print_final_stats=1 "$scratch" "Fuzz/corpus/$target" >"$log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    echo "fuzz: ok   $target ($runs inputs in ${seconds}s)"
  else
    echo "fuzz: FAIL $target (see $log)"
    tail -n 30 "$log" >&2
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
