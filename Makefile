# The two set-up commands of the README are `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test lint ui bench install dbt-manifest

demo: install dbt-manifest  ## set up, generate 3 days of data, materialize the lake, print where to look
	$(BIN)/platform-demo

test: install dbt-manifest  ## lint, then the whole test suite (unit, integration, services)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

ui: install dbt-manifest  ## open the Dagster UI on http://127.0.0.1:3000
	$(BIN)/platform-demo --prepare-only
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install  ## run the benchmarks and print the results table
	$(BIN)/python -m benchmarks.run

install: $(VENV)/.installed

# The dbt manifest Dagster builds the gold assets from: parsed here, once per change of the
# dbt project, never on import.
DBT_MANIFEST := dbt/target/manifest.json
DBT_SOURCES := $(shell find dbt -path dbt/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print)

dbt-manifest: $(DBT_MANIFEST)

$(DBT_MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	cd dbt && $(abspath $(BIN))/dbt parse --quiet
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@
