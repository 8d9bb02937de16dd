# Everything a newcomer needs: `make serve` and `make test` set up the environment themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# What is installed is stamped by the content of its lock file: `make serve` installs the
# service's runtime dependencies only (requirements.lock); the test and lint toolchain
# (requirements-dev.lock) comes with `make install`, which every test target needs.
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
DEV_STAMP     := $(VENV)/.dev-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)
# The browser tests drive Debian's chromium, never a browser a tool downloads.
CHROMIUM := /usr/bin/chromium

export CDS_HOST ?= 127.0.0.1
export CDS_PORT ?= 8080

.PHONY: venv runtime install serve migrate test lint typecheck unit bench lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

venv: $(BIN)/python

# The project is installed editable, built without build isolation (isolation would download an
# unpinned, unchecked setuptools): the build backend comes hash-checked from the dev lock, as
# docker/Dockerfile takes it.
$(RUNTIME_STAMP): requirements.lock requirements-dev.lock pyproject.toml | venv
	$(PIP) --require-hashes -r requirements.lock
	@awk '/^[^ #]/ { keep = /^setuptools==/ } keep' requirements-dev.lock > $(VENV)/build.lock
	$(PIP) --require-hashes -r $(VENV)/build.lock
	$(PIP) --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.runtime-*
	@touch $@

$(DEV_STAMP): requirements-dev.lock pyproject.toml | venv
	$(PIP) --require-hashes -r requirements-dev.lock
	$(PIP) --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.dev-*
	@touch $@

runtime: $(RUNTIME_STAMP)

install: $(DEV_STAMP)

$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

migrate: runtime
	$(BIN)/cds migrate

serve: migrate
	$(BIN)/cds serve

lint: install
	$(BIN)/ruff check cds tests tools bench
	$(BIN)/ruff format --check cds tests tools bench

typecheck: install
	$(BIN)/mypy

unit: install $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck unit

bench: install
	$(BIN)/python -m bench

# Regenerate the hashed lock files after changing dependencies in pyproject.toml (needs `uv`:
# `.venv/bin/pip install uv` and run these with .venv/bin/uv).
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --extra dev --extra sweep --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
