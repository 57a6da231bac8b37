# Parley: `make dev` runs the local server, `make test` runs lint and every test.
# Both set up everything they need first; nothing is installed by hand.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.12; use it when this machine has it (also through pyenv).
PYENV_312 := $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$$' | tail -n 1)
ifneq ($(PYENV_312),)
export PYENV_VERSION := $(PYENV_312)
PYTHON ?= python3.12
else
PYTHON ?= $(shell command -v python3.12 >/dev/null 2>&1 && echo python3.12 || echo python3)
endif
# The SAM CLI's telemetry would try to reach the internet on every call.
export SAM_CLI_TELEMETRY := 0

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The SAM CLI pins older boto3 and pydantic than Parley does, so it gets its own environment.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_VERSION := 1.170.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help dev test lint unit bench build deploy dashboard lock clean redis-server node compat-node chromium sam vendor-charts

help:
	@echo "make dev     set up and run the local server (http://127.0.0.1:8000)"
	@echo "make test    set up and run lint and every test"
	@echo "make bench   run the benchmarks in bench/ (results in bench/results/, ~6 minutes)"
	@echo "make build   sam build"
	@echo "make deploy  sam build, then sam deploy --guided"
	@echo "make dashboard  render infra/dashboard.json into template.yaml's OperationsDashboard"
	@echo "make lock    re-resolve layers/core/requirements.txt from requirements.in"
	@echo "make vendor-charts  refresh the dashboard's vendored Chart.js from npm (CHART_JS_VERSION)"

$(STAMP): pyproject.toml layers/core/requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Parley needs Python 3.12 (what Lambda runs); found " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(SAM):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_VERSION)

sam: $(SAM)

# The hot-state contract tests run against a real redis-server.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (Debian package)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }

# The end-to-end tests read a stream with fetch, as a browser does, through Node.js.
node:
	@command -v node >/dev/null 2>&1 || { \
	  echo "installing nodejs (Debian package)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs >/dev/null; }

# The OpenAI-compatibility tests (tests/e2e/test_openai_client_compat.py) also run the official
# openai Node.js client, at the version tests/compat/package-lock.json pins; installed again
# when the lockfile is newer than the install. Debian's nodejs comes without npm.
COMPAT_NODE := tests/compat/node_modules/.package-lock.json

compat-node: $(COMPAT_NODE)

$(COMPAT_NODE): tests/compat/package.json tests/compat/package-lock.json | node
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing npm (Debian package)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	npm ci --prefix tests/compat --no-audit --no-fund
	touch $@

# The dashboard's browser test drives Debian's Chromium through Playwright (Playwright's own
# browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian package)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

dev: $(STAMP)
	$(BIN)/parley dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/cfn-lint template.yaml

unit: $(STAMP)
	$(BIN)/pytest tests/unit

test: $(STAMP) $(SAM) redis-server node compat-node chromium lint
	SAM_CLI=$(abspath $(SAM)) $(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/import_time.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/gateway_overhead.py
	$(BIN)/python bench/learn_preferences.py
	$(BIN)/python bench/preference_learning.py
	$(BIN)/python bench/dev_dynamodb.py
	$(BIN)/python bench/aggregate_usage.py
	$(BIN)/python bench/analytics_query.py
	$(BIN)/python bench/learned_routing.py
	$(BIN)/python bench/recommender_eval.py
	$(BIN)/python bench/guardrail_prefilter.py

build: $(SAM)
	$(PYTHON) infra/render_dashboard.py --check
	$(SAM) build

# The CloudWatch dashboard is kept as infra/dashboard.json; the template holds its rendering.
dashboard:
	$(PYTHON) infra/render_dashboard.py

deploy: build
	$(SAM) deploy --guided

lock:
	rm -rf build/lock && $(PYTHON) -m venv build/lock
	build/lock/bin/pip install --quiet -r layers/core/requirements.in
	{ echo "# Generated by 'make lock' from requirements.in with python3.12: every package the layer ships, pinned."; \
	  build/lock/bin/pip freeze --exclude pip; } > layers/core/requirements.txt

# The dashboard's charts (parley.analytics.dashboard_api): Chart.js's UMD build from the npm
# package at this version, with its licence; the recorded sha256 is what
# tests/unit/test_dashboard_api.py checks the committed file against.
CHART_JS_VERSION := 4.6.1
CHART_VENDOR := layers/core/parley/analytics/dashboard/vendor

vendor-charts:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  ( cd "$$tmp" && npm pack --silent --json chart.js@$(CHART_JS_VERSION) > pack.json && \
	    tar -xzf chart.js-$(CHART_JS_VERSION).tgz ) && \
	  cp "$$tmp/package/dist/chart.umd.min.js" $(CHART_VENDOR)/chart.umd.min.js && \
	  cp "$$tmp/package/LICENSE.md" $(CHART_VENDOR)/chart.js.LICENSE.md && \
	  integrity=$$(node -p 'require(process.argv[1])[0].integrity' "$$tmp/pack.json") && \
	  sha256=$$(sha256sum $(CHART_VENDOR)/chart.umd.min.js | cut -d' ' -f1) && \
	  printf '{\n  "package": "chart.js",\n  "version": "%s",\n  "license": "MIT",\n  "from": "dist/chart.umd.min.js of the npm package",\n  "npm_integrity": "%s",\n  "files": {\n    "chart.umd.min.js": "%s"\n  }\n}\n' \
	    "$(CHART_JS_VERSION)" "$$integrity" "$$sha256" > $(CHART_VENDOR)/chart.js.json && \
	  echo "vendored chart.js $(CHART_JS_VERSION) (sha256 $$sha256)"

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam build .pytest_cache .mypy_cache .ruff_cache
