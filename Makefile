# Two commands for a newcomer: `make run` and `make test`. Both start with `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PARTA_DATA_DIR ?= var

.PHONY: setup run test lint format demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: setup
	$(BIN)/parta db upgrade
	$(BIN)/parta demo
	$(BIN)/parta serve --host 127.0.0.1 --port 8000 --no-upgrade

test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check parta tests bench
	$(BIN)/ruff format --check parta tests bench
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format parta tests bench
	$(BIN)/ruff check --fix parta tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
