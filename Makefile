# Single entry point. Every target bootstraps .venv from the hashed locks first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Prefer a Python 3.13 that actually runs (a pyenv shim can exist and fail), else python3 (3.11+).
PYTHON ?= $(shell for c in python3.13 $$(ls -d "$$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.13*/bin/python3.13 2>/dev/null) python3; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo "$$c"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins an older boto3 than the other tools, and the SAM CLI pins boto3 exactly: each gets
# a virtualenv of its own inside .venv (the SAM CLI's linked as .venv/bin/sam).
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
SAM_VENV := $(VENV)/sam
SAM_STAMP := $(SAM_VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
FUNCTIONS := $(wildcard functions/*/app.py)
# uv installs a hashed lock (checking every hash) in seconds where pip takes minutes; pip installs
# uv itself at the lock's version, and takes over if uv cannot reach an index from here.
UV_VERSION := $(shell sed -n 's/^uv==\([0-9.]*\).*/\1/p' requirements-dev.txt)
install_lock = $(BIN)/uv pip install --quiet --python $(1) --require-hashes -r $(2) \
	|| $(1) -m pip install --quiet --require-hashes -r $(2)

.PHONY: help venv chromium lint typecheck template-check test test-fast test-container fuzz local invoke demo bench bench-scale openapi lock build deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python 3.11+ found (tried python3.13, pyenv 3.13, python3)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) -V))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(call install_lock,$(BIN)/python,requirements-dev.txt)
	@# The voice-status client, editable; its dependencies are already pinned above.
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(call install_lock,$(CHECKOV_VENV)/bin/python,requirements-checkov.txt)
	touch $(CHECKOV_STAMP)

$(SAM_STAMP): requirements-sam.txt $(STAMP)
	$(PYTHON) -m venv $(SAM_VENV)
	$(call install_lock,$(SAM_VENV)/bin/python,requirements-sam.txt)
	ln -sfn ../sam/bin/sam $(BIN)/sam
	touch $(SAM_STAMP)

venv: $(STAMP) $(SAM_STAMP) ## Create the virtualenvs from the hashed locks (requirements-dev.txt, requirements-sam.txt)

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy on layers, local, the client and each function (functions are checked one by one: each has an app.py)
	$(BIN)/mypy layers/shared local client
	@for f in $(FUNCTIONS); do echo "mypy $$f"; $(BIN)/mypy $$f || exit 1; done
	$(BIN)/mypy examples/consumer/consumer/app.py

template-check: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) ## cfn-lint, sam validate --lint and checkov (.checkov.yaml) on template.yaml; the sample consumer's too
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml
	$(BIN)/cfn-lint examples/consumer/template.yaml
	$(BIN)/sam validate --lint --template examples/consumer/template.yaml

test: lint typecheck template-check chromium ## All quality gates, then the whole test suite with coverage
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered

test-fast: $(STAMP) chromium ## Tests only, no gates
	$(BIN)/pytest -q

fuzz: $(STAMP) ## Longer fuzzing run of the API (FUZZ_EXAMPLES per test, default 1000; FUZZ_SEED, default 7)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} $(BIN)/pytest tests/fuzz -q -p no:cacheprovider

# The Swagger UI browser test drives Debian's Chromium; where it cannot be installed the test skips.
chromium: ## Install Debian's chromium for the browser test, where it is missing and apt-get can
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; } \
		|| echo "chromium is not installed (needs apt-get as root): the browser test will be skipped"

test-container: $(STAMP) $(SAM_STAMP) ## The real sam local invoke/start-api on every events file, in containers (sets up what is missing)
	local/container/run-tier.sh

local: $(STAMP) ## Serve the whole stack offline (API :3000, AWS endpoint :4566) until Ctrl-C
	$(BIN)/python -m local

invoke: $(STAMP) ## One sample event through its function on a fresh offline stack: make invoke EVENT=events/callback-ringing.json
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<function>-<case>.json"; exit 2; }
	$(BIN)/python -m local.invoke $(EVENT)

demo: $(STAMP) ## Start the offline stack, run a simulated campaign to its end, print the result
	$(BIN)/python -m local.demo

bench: $(STAMP) ## Benchmarks: transactions, callbacks/s vs raw moto, write counts, import time, workflow size, PutEvents
	PYTHONPATH=layers/shared:. $(BIN)/python -m tests.bench

bench-scale: $(STAMP) ## Simulated campaigns end to end, per size: time, rate, memory, requests (SIZES=1000,10000,100000)
	PYTHONPATH=layers/shared:. $(BIN)/python -m tests.bench.bench_scale

openapi: $(STAMP) ## Rewrite docs/openapi.json from the API's code (a test fails while it is stale)
	$(BIN)/python -m local.openapi_document

# Locks with hashes, re-resolved to the newest versions the .in files allow. The layer's is for
# Lambda (python3.13, arm64); the dev environment's is universal (Python 3.11+, any platform) and
# keeps the layer's versions, so tests run what is deployed.
UV_COMPILE := $(BIN)/uv pip compile --quiet --upgrade --generate-hashes --custom-compile-command "make lock"
lock: $(STAMP) ## Refresh the hashed locks: the layer's, the dev environment's, the SAM CLI's and checkov's
	$(UV_COMPILE) --python-version 3.13 --python-platform aarch64-manylinux_2_28 \
		layers/shared/requirements.in -o layers/shared/requirements.txt
	$(UV_COMPILE) --universal --python-version 3.11 --constraint layers/shared/requirements.txt \
		requirements-dev.in -o requirements-dev.txt
	$(UV_COMPILE) --universal --python-version 3.11 requirements-sam.in -o requirements-sam.txt
	$(UV_COMPILE) --universal --python-version 3.11 requirements-checkov.in -o requirements-checkov.txt

build: $(STAMP) $(SAM_STAMP) ## sam build (the layer from wheels for both architectures, with bytecode; no container needed)
	@# SAM's builder wants a python3.13 on PATH that runs (a pyenv shim may not): the venv's own.
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build

deploy: build ## sam deploy with samconfig.toml (CONFIG_ENV=dev|prod)
	$(BIN)/sam deploy --config-env $${CONFIG_ENV:-dev}

clean: ## Remove build output, caches and local state (keeps .venv)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
