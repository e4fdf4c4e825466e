# commlog: `make run` serves the real service on SQLite with demo data; `make test` runs
# lint, types and the whole suite on SQLite and PostgreSQL.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PROJECT_ENVIRONMENT := $(VENV)

BENCH_POSTGRES_URL ?= postgresql+asyncpg://commlog:commlog@127.0.0.1:5432/commlog_test

.PHONY: help install run lint types test test-fast schemathesis postgres bench-crypto bench-retention bench-loop bench-masking bench-read bench-export clean

help:
	@echo "make run      serve commlog on http://$(HOST):$(PORT) with demo data (SQLite)"
	@echo "make test     lint, types and the whole suite on SQLite and PostgreSQL"
	@echo "make install  create .venv and install the locked dependencies"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

install: $(BIN)/python $(UV)
	$(UV) sync --frozen --quiet

run: install
	$(BIN)/commlog database upgrade --no-prompt
	$(BIN)/commlog demo seed --host $(HOST) --port $(PORT)
	$(BIN)/commlog run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check service compliance policies tests benchmarks
	$(BIN)/ruff format --check service compliance policies tests benchmarks

types: install
	$(BIN)/mypy

postgres:
	@bash scripts/ensure-postgres

test: lint types postgres
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -x -q

# Part of `make test` too: every operation of the service's own OpenAPI document, as every
# role, through all of schemathesis' checks (SQLite, in process, fixed seed).
schemathesis: install
	$(BIN)/pytest -q tests/contract/test_schemathesis.py

bench-crypto: install postgres
	$(BIN)/python -m benchmarks.crypto --postgres-url $(BENCH_POSTGRES_URL)

bench-retention: install postgres
	$(BIN)/python -m benchmarks.retention --postgres-url $(BENCH_POSTGRES_URL)

bench-loop: install
	$(BIN)/python -m benchmarks.event_loop

bench-masking: install
	$(BIN)/python -m benchmarks.masking

# The seed endpoint's read path: the code before issue 8 against this checkout, same run.
bench-read: install
	$(BIN)/python -m benchmarks.read_path

# One tenant's export from PostgreSQL: rows/s and peak memory (docs/performance.md).
# BENCH_EXPORT_RECORDS=100000 for a quick run; the data set is built once and reused.
BENCH_EXPORT_RECORDS ?= 1000000
BENCH_EXPORT_RUNS ?= 3
bench-export: install postgres
	$(BIN)/python -m benchmarks.export --postgres-url $(BENCH_POSTGRES_URL) \
		--records $(BENCH_EXPORT_RECORDS) --runs $(BENCH_EXPORT_RUNS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
