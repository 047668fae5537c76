# Every target bootstraps its own virtualenv, so a fresh clone needs only python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo demo-server demo-recommender demo-housing test lint bench bench-tools bench-scale unit clean servers docs

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# PORT_BASE=9100 gives the demo's servers fixed ports from 9100 up (free ones otherwise)
demo: $(STAMP)
	$(if $(PORT_BASE),KNOT_DEMO_PORT_BASE=$(PORT_BASE)) $(BIN)/python examples/churn/quickstart.py

# the same demo with every step going through a `knot server` it starts (KNOT_STORE=http://)
demo-server: $(STAMP)
	$(if $(PORT_BASE),KNOT_DEMO_PORT_BASE=$(PORT_BASE)) KNOT_DEMO_SERVER=1 $(BIN)/python examples/churn/quickstart.py

# the recommender's lifecycle on MovieLens: feature store, two models, A/B, rollback
demo-recommender: $(STAMP)
	$(BIN)/python examples/movielens/recommender.py

# a regression on the Boston housing table, data to canary (PORT_BASE as for demo)
demo-housing: $(STAMP)
	$(if $(PORT_BASE),KNOT_DEMO_PORT_BASE=$(PORT_BASE)) $(BIN)/python examples/housing/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -q -n 3 --dist loadfile --durations=20

test: lint unit

# the CLI reference is generated from the Typer app, then the site is built offline
docs: $(STAMP)
	$(BIN)/python scripts/cli_reference.py
	$(BIN)/mkdocs build --strict --site-dir build/site

# The peers (MLflow, Great Expectations, pandera, ydata-profiling) pin older pandas and
# numpy, so they get a virtualenv of their own and never change the one tests use.
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin

$(BENCH_VENV)/.installed: pyproject.toml
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install -q --upgrade pip
	$(BENCH_BIN)/pip install -q -e '.[dev,bench]'
	touch $@

# wrk drives the serving benchmark from a second process, chromium renders the UI pages
# bench/ui.py times (through Playwright, never its own browser download); Debian ships both
bench-tools:
	command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk || sudo apt-get install -y -q wrk; }
	command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -q chromium || sudo apt-get install -y -q chromium; }

bench: $(BENCH_VENV)/.installed bench-tools
	$(BENCH_BIN)/python bench/startup.py
	$(BENCH_BIN)/python bench/tracking.py
	$(BENCH_BIN)/python bench/registry.py
	$(BENCH_BIN)/python bench/data.py
	$(BENCH_BIN)/python bench/modelkits.py
	$(BENCH_BIN)/python bench/serving.py
	$(BENCH_BIN)/python bench/drift.py
	$(BENCH_BIN)/python bench/pipeline.py
	$(BENCH_BIN)/python bench/features.py
	$(BENCH_BIN)/python bench/mlflow_compat.py
	$(BENCH_BIN)/python bench/ui.py --runs 20000
	$(BENCH_BIN)/python bench/batch.py
	$(BENCH_BIN)/python bench/goals.py

# 1M runs in a fresh PostgreSQL (about 15 minutes to fill), then search/run page/lineage/UI
bench-scale: $(BENCH_VENV)/.installed
	$(BENCH_BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache
