# One task runner for people and CI. `make run` and `make test` are the two commands that
# matter on a fresh machine; both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir .

.PHONY: help setup lock run dev test bench bench-micro lint docs report contract expectations portability clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed target/manifest.json  ## create .venv and install the project with its dev tools

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,semantic]'
	touch $@

# requirements.lock pins every dependency of every extra. Re-resolve it after changing pyproject.toml:
# pip resolves without installing and reports what it would install.
lock: $(VENV)/.installed  ## re-resolve every dependency (all extras) into requirements.lock
	$(BIN)/pip install --quiet --dry-run --ignore-installed --report $(VENV)/lock-report.json '.[dev,semantic,spark,postgres,bench]'
	$(BIN)/python .ci/lock.py $(VENV)/lock-report.json requirements.lock

# The manifest Dagster loads the dbt assets from: re-parsed whenever the dbt project changes,
# so Dagster never runs a dbt build whose nodes it does not know.
DBT_SOURCES := dbt_project.yml profiles.yml $(shell find models seeds macros snapshots tests/dbt -type f 2>/dev/null)
target/manifest.json: $(VENV)/.installed $(DBT_SOURCES)
	$(DBT) parse --quiet $(DBT_FLAGS)
	touch $@

run: setup  ## generate the sample data, load it, build the warehouse and print a summary
	$(BIN)/segmentation run

# The Dagster instance `segmentation run` records its runs in (orchestration/cli_runs.py).
DAGSTER_HOME ?= $(or $(SEGMENTATION_DATA_DIR),$(CURDIR)/data)/dagster_home

dev: setup  ## start the Dagster UI on http://127.0.0.1:3000 with the sample data ready
	@test -f data/warehouse.duckdb -o -d data/spark || $(BIN)/segmentation run  # DuckDB's or Spark's warehouse
	mkdir -p $(DAGSTER_HOME) && cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(BIN)):$$PATH DAGSTER_HOME=$(DAGSTER_HOME) \
		$(BIN)/dg dev -h 127.0.0.1 -p 3000

test: lint  ## everything CI runs: lint (ruff, sqlfluff), contract doc check, pytest (builds real warehouses)
	$(BIN)/pytest

SIZES ?= 10000

bench: setup  ## every stage vs the hand-written baselines, at SIZES customers (e.g. SIZES=10000,100000,1000000)
	$(BIN)/python -c 'import lifetimes' 2>/dev/null || $(BIN)/pip install --quiet -c requirements.lock -e '.[bench]'
	$(BIN)/python bench/pipeline.py --sizes $(SIZES) --docs docs/benchmarks.md

bench-micro: setup  ## smaller benchmarks: CLV fit on 1M simulated customers, Dagster definitions load
	$(BIN)/python bench/clv_fit.py
	$(BIN)/python bench/definitions_load.py

portability: setup  ## Spark gate/publish and PostgreSQL/Spark salt tests, then the same job on DuckDB, Spark and PostgreSQL; per-mart verdict (needs Java 17, PostgreSQL)
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,semantic,spark,postgres]'
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/pytest -q -p no:cacheprovider portability/test_spark.py
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/pytest -q -p no:cacheprovider portability/test_contact_key_salt.py
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python portability/run.py $(PORTABILITY_ARGS)

# sqlfluff's dbt templater opens the duckdb target to compile the models. It gets a throwaway
# file in .venv, so lint works on a fresh clone (no data/) and never locks the working warehouse.
# All SQL by default (what CI runs, ~1-2 min); e.g. `make lint LINT_SQL=models/marts` for less, and
# the pre-commit hook lints a commit's changed files only.
LINT_SQL ?= models macros tests/dbt
SQLFLUFF := SEGMENTATION_WAREHOUSE_PATH=$(VENV)/sqlfluff.duckdb $(BIN)/sqlfluff

lint: setup  ## ruff and sqlfluff (all SQL; LINT_SQL=<paths> for less)
	$(BIN)/ruff check .
	$(SQLFLUFF) lint --processes 2 $(LINT_SQL)

docs: setup  ## generate dbt docs into target/: static_index.html opens from a file (or .venv/bin/dbt docs serve --profiles-dir .)
	$(DBT) docs generate --static $(DBT_FLAGS)

report: setup  ## write the HTML report of the published review to data/reports/
	$(BIN)/segmentation report

contract: setup  ## regenerate docs/data_contract.md from the dbt source YAML
	$(BIN)/segmentation contract --write docs/data_contract.md

expectations: setup  ## regenerate the committed GX suites (expectations/gx) from segmentation/quality/suites.py
	$(BIN)/python -m segmentation.quality

clean:  ## remove generated data, warehouses and dbt artifacts (keeps .venv)
	rm -rf data target logs
