# zhichao: two entry points for a fresh Debian machine: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test test-quick lint fuzz bench clean services

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/zhichao demo

# Installs PostgreSQL and Chromium from Debian when missing, starts a throw-away
# PostgreSQL cluster, then runs the tests in two jobs: everything without
# PostgreSQL, then the PostgreSQL-only job (scripts/run-tests.sh).
test: $(STAMP)
	bash scripts/test-services.sh
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	bash scripts/run-tests.sh

# The tests that need no PostgreSQL or Chromium (they skip).
test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

# A longer property-based fuzz run of every framer and decoder.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q tests -k fuzz

# The benchmark suite (bench/RESULTS.md); BENCH_SIZE=large adds 10 million records.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench --size $(or $(BENCH_SIZE),default)

services:
	bash scripts/test-services.sh

clean:
	rm -rf var/ .pytest_cache .hypothesis
