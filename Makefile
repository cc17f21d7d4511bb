# One venv for everything: the Pulumi program, the runtime code and the tests.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
VENDOR  := build/tracker-vendor

.PHONY: install test lint demo bench bench-gateway bench-tracker bench-ledger clean

install: $(STAMP) $(VENDOR)/.done

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[dev]'
	touch $@

# Third-party code the cost-tracker zip carries (never boto3: the Lambda runtime has it).
$(VENDOR)/.done: functions/cost_tracker/requirements.txt $(STAMP)
	rm -rf $(VENDOR)
	$(BIN)/uv pip install --quiet --target $(VENDOR) --python-version 3.12 \
		--python-platform x86_64-manylinux_2_17 --no-deps -r functions/cost_tracker/requirements.txt
	touch $@

lint: install
	$(BIN)/ruff check .

# The venv's bin goes first on PATH so tests find its tools (shellcheck) as CI does.
test: install
	$(BIN)/ruff check .
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
	rm -rf $(VENV) build .pytest_cache
