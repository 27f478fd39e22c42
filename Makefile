# XSender: `make run` starts the whole platform; `make test` installs everything and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint format bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	@bash scripts/run.sh

test: $(VENV)/.dev
	@bash scripts/browser-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev
	@command -v wrk >/dev/null || (apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench
	$(BIN)/python -m bench single
	$(BIN)/python -m bench.devices_claim

clean-venv:
	rm -rf $(VENV)
