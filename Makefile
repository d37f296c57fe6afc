# Keyflare: `make run` serves on http://127.0.0.1:4000 with an embedded PostgreSQL under .keyflare/;
# `make test` runs every test against a throwaway cluster. Both install what a fresh Debian lacks.
SHELL := /bin/bash
.DEFAULT_GOAL := run
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=

.PHONY: run test bench deps build clean-db help

help:
	@echo "make run    - install what is missing, start .keyflare/postgres, migrate, serve on :4000"
	@echo "make test   - install what is missing, start a throwaway cluster, run every test"
	@echo "make bench  - benchmarks against same-run references (SUITE=verify|http-auth|... for one)"
	@echo "make clean-db - stop and delete the embedded cluster in .keyflare/"

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

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

run: build
	@scripts/run.sh

test: deps
	@scripts/test.sh

bench: deps
	@SUITE="$(SUITE)" scripts/bench.sh

clean-db:
	@scripts/pg-cluster.sh stop .keyflare/postgres || true
	rm -rf .keyflare
