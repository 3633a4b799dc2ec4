# Single entry point. Every target bootstraps .venv from the pinned requirements first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Prefer a Python 3.13 that actually runs (a pyenv shim can exist and fail), else python3 (3.11+).
PYTHON ?= $(shell for c in python3.13 $$(ls -d "$$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.13*/bin/python3.13 2>/dev/null) python3; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo "$$c"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins an older boto3 than the other tools: it gets a virtualenv of its own inside .venv.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
FUNCTIONS := $(wildcard functions/*/app.py)

.PHONY: help venv lint typecheck template-check test test-fast fuzz local demo bench bench-scale build deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "No Python 3.11+ found (tried python3.13, pyenv 3.13, python3)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) -V))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

venv: $(STAMP) ## Create the virtualenv from requirements-dev.txt

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy on layers, local and each function (functions are checked one by one: each has an app.py)
	$(BIN)/mypy layers/shared local
	@for f in $(FUNCTIONS); do echo "mypy $$f"; $(BIN)/mypy $$f || exit 1; done

template-check: $(STAMP) $(CHECKOV_STAMP) ## cfn-lint, sam validate --lint, then checkov (.checkov.yaml) on template.yaml
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml

test: lint typecheck template-check ## All quality gates, then the whole test suite with coverage
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered

test-fast: $(STAMP) ## Tests only, no gates
	$(BIN)/pytest -q

fuzz: $(STAMP) ## Longer fuzzing run of the API (FUZZ_EXAMPLES per test, default 1000; FUZZ_SEED, default 7)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} $(BIN)/pytest tests/fuzz -q -p no:cacheprovider

local: $(STAMP) ## Serve the whole stack offline (API :3000, AWS endpoint :4566) until Ctrl-C
	$(BIN)/python -m local

demo: $(STAMP) ## Start the offline stack, run a simulated campaign to its end, print the result
	$(BIN)/python -m local.demo

bench: $(STAMP) ## Benchmarks: transactions, callbacks/s vs raw moto, write counts, import time, workflow size, PutEvents
	PYTHONPATH=layers/shared:. $(BIN)/python -m tests.bench

bench-scale: $(STAMP) ## Simulated campaigns end to end, per size: time, rate, memory, requests (SIZES=1000,10000,100000)
	PYTHONPATH=layers/shared:. $(BIN)/python -m tests.bench.bench_scale

build: $(STAMP) ## sam build (arm64 wheels, no container needed)
	$(BIN)/sam build

deploy: build ## sam deploy with samconfig.toml (CONFIG_ENV=dev|prod)
	$(BIN)/sam deploy --config-env $${CONFIG_ENV:-dev}

clean: ## Remove build output, caches and local state (keeps .venv)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
