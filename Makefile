# One venv for everything: the Pulumi program, the runtime code and the tests, synced from uv.lock.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
VENDOR  := build/tracker-vendor
# The uv that bootstraps .venv; the same exact version is pinned in pyproject's dev group (a test checks).
UV_VERSION := 0.13.9
UV      := $(BIN)/uv

.PHONY: install test lint pytest demo bench bench-gateway bench-tracker bench-ledger clean

install: $(STAMP) $(VENDOR)/.done

# `uv sync --locked` fails when uv.lock does not match pyproject.toml: run `$(UV) lock` and commit it.
$(STAMP): pyproject.toml uv.lock
	test -x $(UV) || { $(PY) -m venv $(VENV) && $(BIN)/pip install --quiet "uv==$(UV_VERSION)"; }
	$(UV) sync --locked --quiet --python $(BIN)/python
	touch $@

# Third-party code the cost-tracker zip carries (never boto3: the Lambda runtime has it).
$(VENDOR)/.done: functions/cost_tracker/requirements.txt $(STAMP)
	rm -rf $(VENDOR)
	$(UV) pip install --quiet --target $(VENDOR) --python-version 3.12 \
		--python-platform x86_64-manylinux_2_17 --no-deps -r functions/cost_tracker/requirements.txt
	touch $@

# Files mypy checks are listed in pyproject ([tool.mypy] files); its cache makes reruns take seconds.
# actionlint checks the workflows (and their run: scripts, with the venv's shellcheck on PATH).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/actionlint

# make test = lint + the suite. CI runs the two as separate steps, `make lint` then `make pytest`.
test: lint pytest

# The venv's bin goes first on PATH so tests find its tools (shellcheck) as CI does.
pytest: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# The whole system locally: moto server, backend stand-ins, the program under mocks, gateway, tracker.
demo: install
	$(BIN)/python -m demo

# Benchmarks print figures and ratios against a baseline measured in the same run; not part of make test.
bench: bench-tracker bench-ledger bench-gateway

bench-gateway: install
	$(BIN)/python benchmarks/gateway_load.py

bench-tracker: install
	$(BIN)/python benchmarks/tracker_bench.py

bench-ledger: install
	$(BIN)/python benchmarks/ledger_summary.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache
