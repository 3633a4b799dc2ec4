# Single entry point. Every target bootstraps .venv from the pinned requirements first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Prefer a Python 3.13 that actually runs (a pyenv shim can exist and fail), else python3 (3.11+).
PYTHON ?= $(shell for c in python3.13 $$(ls -d "$$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.13*/bin/python3.13 2>/dev/null) python3; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo "$$c"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
FUNCTIONS := $(wildcard functions/*/app.py)

.PHONY: help venv lint typecheck template-check test test-fast test-container local demo bench build deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "No Python 3.11+ found (tried python3.13, pyenv 3.13, python3)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) -V))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## Create the virtualenv from requirements-dev.txt

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy on layers, local and each function (functions are checked one by one: each has an app.py)
	$(BIN)/mypy layers/shared local
	@for f in $(FUNCTIONS); do echo "mypy $$f"; $(BIN)/mypy $$f || exit 1; done

template-check: $(STAMP) ## cfn-lint and sam validate --lint on template.yaml
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml

test: lint typecheck template-check ## All quality gates, then the whole test suite with coverage
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered

test-fast: $(STAMP) ## Tests only, no gates
	$(BIN)/pytest -q

test-container: $(STAMP) ## The real sam local invoke/start-api on every events file, in containers (sets up what is missing)
	local/container/run-tier.sh

local: $(STAMP) ## Serve the whole stack offline (API :3000, AWS endpoint :4566) until Ctrl-C
	$(BIN)/python -m local

demo: $(STAMP) ## Start the offline stack, run a simulated campaign to its end, print the result
	$(BIN)/python -m local.demo

bench: $(STAMP) ## Benchmarks: workflow size, write counts, import time, PutEvents batching
	PYTHONPATH=layers/shared:. $(BIN)/python -m tests.bench

build: $(STAMP) ## sam build (arm64 wheels, no container needed)
	$(BIN)/sam build

deploy: build ## sam deploy with samconfig.toml (CONFIG_ENV=dev|prod)
	$(BIN)/sam deploy --config-env $${CONFIG_ENV:-dev}

clean: ## Remove build output, caches and local state (keeps .venv)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
