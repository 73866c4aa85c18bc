# Two commands for a newcomer: `make run` and `make test`. Both start with `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PARTA_DATA_DIR ?= var

WEB_STAMP := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json web/openapi.json web/package.json -type f 2>/dev/null)

.PHONY: setup run test lint format demo clean web browser openapi

setup: $(STAMP) $(WEB_STAMP) browser

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# The web client's packages, exactly as locked in web/package-lock.json.
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download),
# and an emoji font so reactions render in it.
browser:
	@command -v chromium >/dev/null 2>&1 && test -d /usr/share/fonts/truetype/noto || { \
		echo "Installing Debian's chromium and fonts-noto-color-emoji for the browser tests"; \
		(apt-get install -y -q chromium fonts-noto-color-emoji >/dev/null 2>&1 \
		 || (apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-color-emoji >/dev/null)) \
		|| echo "warning: could not install chromium (not root?); browser tests will skip, or fail with CI=true"; }

# The web client, built into parta/static (served by `parta serve` at /).
web: parta/static/index.html
parta/static/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run --silent build

# Refresh the API contract the web client is typed against (after changing routes).
openapi: setup
	$(BIN)/python -m parta.openapi_dump web/openapi.json

run: setup web
	$(BIN)/parta db upgrade
	$(BIN)/parta demo
	$(BIN)/parta serve --host 127.0.0.1 --port 8000 --no-upgrade

# Two workers (this machine has two cores); tests of one module stay on one worker, so
# module-scoped servers and browsers are started once.
PYTEST_WORKERS ?= 2

test: setup lint web
	cd web && npm test --silent
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope

lint: setup
	$(BIN)/ruff check parta tests bench
	$(BIN)/ruff format --check parta tests bench
	$(BIN)/mypy
	cd web && npm run --silent gen:api && npx tsc --noEmit

format: setup
	$(BIN)/ruff format parta tests bench
	$(BIN)/ruff check --fix parta tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache web/node_modules parta/static
