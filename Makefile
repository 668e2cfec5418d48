# execflow — `make run` starts it, `make test` tests it. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
RUN := $(UV) run --frozen --all-packages

.PHONY: run test lint typecheck unit integration e2e sync clean bench bench-quick pin

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

sync: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(UV) sync --all-packages --quiet

run: sync
	$(RUN) execflow up

test: sync lint typecheck
	$(RUN) pytest -q

PACKAGES := $(wildcard libs/* services/*)

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports
	@for package in $(PACKAGES); do \
		cd $(CURDIR)/$$package; \
		found=$$($(CURDIR)/.venv/bin/deptry . --no-ansi 2>&1) || { echo "$$package: $$found"; exit 1; }; \
	done; echo "deptry: every package declares what it imports"

typecheck: sync
	$(RUN) mypy libs/contracts/src libs/platform/src services/scheduler/src \
		services/projector/src services/runner/src services/api/src libs/devstack/src \
		libs/execflow/src libs/workflows/src \
		libs/catalogue/src libs/ops/src

unit: sync
	$(RUN) pytest -q tests/unit

integration: sync
	$(RUN) pytest -q tests/integration

e2e: sync
	$(RUN) pytest -q tests/e2e

bench: sync
	$(RUN) python bench/run.py $(BENCH_ARGS)

bench-quick: sync
	$(RUN) python bench/run.py --quick $(BENCH_ARGS)

pin: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(PYTHON) tools/pin.py $(UV)
	$(UV) sync --all-packages --quiet

clean:
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
