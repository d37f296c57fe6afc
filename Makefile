# Keyflare: `make run` serves on http://127.0.0.1:4000 with an embedded PostgreSQL under .keyflare/;
# `make test` runs every test against a throwaway cluster. Both install what a fresh Debian lacks.
SHELL := /bin/bash
.DEFAULT_GOAL := run
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The checkout this Makefile is in, so `make -f path/to/Makefile run` works from any folder.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SWIFT_BUILD_FLAGS ?=

.PHONY: run test bench bench-compare deps deploy-deps build clean-db help cluster cluster-down cluster-test deploy-check

help:
	@echo "make run    - install what is missing, start .keyflare/postgres, migrate, serve on :4000"
	@echo "make test   - install what is missing, start a throwaway cluster, run every test"
	@echo "make bench  - benchmarks against same-run references (SUITE=verify|http-auth|... for one)"
	@echo "make bench-compare REF=<commit> - per-request CPU of /healthz and /api/auth/check, checkout vs REF"
	@echo "make clean-db - stop and delete the embedded cluster (.keyflare/, and its data wherever it lives)"
	@echo "make cluster  - PostgreSQL + PgBouncer + 3 instances + HAProxy under .keyflare/cluster (make cluster-down stops it)"
	@echo "make cluster-test - the multi-instance fault scenarios on a throwaway cluster (also part of make test)"
	@echo "make deploy-check - ldd of the static release binary, hadolint, yamllint, kubernetes-validate (also part of make test)"

# PostgreSQL server binaries (initdb, pg_ctl, psql), libpq and zlib headers (gzip ingest) and
# pkg-config, from Debian's packages.
deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && id postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -f /usr/include/postgresql/libpq-fe.h ] || missing="$$missing libpq-dev"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# What the deploy checks and the local cluster need: PgBouncer and HAProxy (Debian's packages), venv.
deploy-deps:
	@missing=""; \
	command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing="$$missing pgbouncer"; \
	command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	swift build --package-path "$(ROOT)" $(SWIFT_BUILD_FLAGS)

run: build
	@"$(ROOT)"/scripts/run.sh

test: deps deploy-deps
	@"$(ROOT)"/scripts/test.sh

deploy-check: deps deploy-deps
	@"$(ROOT)"/scripts/deploy-check.sh

cluster: deps deploy-deps
	@KEYFLARE_CLUSTER_PORT=$${KEYFLARE_CLUSTER_PORT:-4100} "$(ROOT)"/scripts/cluster.sh up "$(ROOT)"/.keyflare/cluster

cluster-down:
	@"$(ROOT)"/scripts/cluster.sh down "$(ROOT)"/.keyflare/cluster

cluster-test: deps deploy-deps
	@"$(ROOT)"/scripts/cluster.sh test

bench: deps
	@SUITE="$(SUITE)" "$(ROOT)"/scripts/bench.sh

bench-compare: deps
	@REF="$(REF)" "$(ROOT)"/scripts/bench-compare.sh

# Wherever the cluster's data lives (.keyflare/postgres, or the folder .keyflare/postgres/location names).
clean-db:
	@if [ -d "$(ROOT)"/.keyflare/postgres ]; then "$(ROOT)"/scripts/pg-cluster.sh remove "$(ROOT)"/.keyflare/postgres; fi
	rm -rf "$(ROOT)"/.keyflare
