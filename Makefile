# Capital Ledger: two commands do everything.
#   make run    set up, migrate, seed the demo and serve the app (http://localhost:3000/)
#   make test   set up and run the whole suite (browser tests on Debian's Chromium)
#   make lint   ruff check + ruff format --check + import-linter layer contracts + mypy

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstalls whenever pyproject.toml changes (dependencies, extras, entry points).
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PORT ?= 3000

# pytest-playwright and pytest-asyncio must never share one pytest process, and the
# browser suite builds the frontend: run it apart from everything else.
NON_BROWSER_TESTS := $(wildcard tests/unit tests/db tests/api tests/cli)
# Async (anyio) tests of the realtime listener: never in the Playwright process.
ASYNC_TESTS := $(wildcard tests/realtime)
BROWSER_TESTS := $(wildcard tests/e2e)

.PHONY: run test lint setup chromium faults

run: setup
	$(BIN)/capital-app run --port $(PORT)

test: setup chromium
	@status=0; \
	if [ -n "$(NON_BROWSER_TESTS)" ]; then \
		$(BIN)/pytest $(NON_BROWSER_TESTS) || status=1; \
	fi; \
	if [ -n "$(ASYNC_TESTS)" ]; then \
		$(BIN)/pytest $(ASYNC_TESTS) || status=1; \
	fi; \
	if [ -n "$(BROWSER_TESTS)" ]; then \
		$(BIN)/pytest $(BROWSER_TESTS) || status=1; \
	fi; \
	exit $$status

# Fault runner (benchmarks/faults.py, ~4 min): kill -9 mid-write, PostgreSQL and Redis
# restarts on private instances; figures in benchmarks/README.md. Not part of `make test`.
faults: setup
	$(BIN)/python -m benchmarks.faults

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

setup: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"' || exit 1
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Cannot create $(VENV): install the venv module (Debian: apt-get install python3-venv)." >&2; \
		exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else \
			echo "The browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install -y chromium'." >&2; \
			exit 1; \
		fi; \
	fi
