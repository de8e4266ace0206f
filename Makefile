# Every target installs what it needs into .venv first (from pyproject.toml).
PY := .venv/bin/python
LAKE ?= lake
SAMPLES ?= ../shared/traces

.PHONY: demo test lint bench dashboard clean

.venv/installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# demo: ingest every real sample in ../shared/traces into ./lake and summarize the lake
demo: .venv/installed
	.venv/bin/traces ingest $(SAMPLES) --lake $(LAKE)
	.venv/bin/traces info --lake $(LAKE)

# test: lint, type-check, then the whole test suite against the real samples
test: .venv/installed lint
	$(PY) -m pytest -q

# lint: ruff (lint + format check) and mypy, configured in pyproject.toml
lint: .venv/installed
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# bench: ingest throughput and peak memory against DuckDB COPY and pandas (1M and 10M rows)
bench: .venv/installed
	$(PY) benchmarks/ingest.py

# dashboard: placeholder until the Streamlit dashboard lands (issue 6)
dashboard: .venv/installed
	@echo "The dashboard arrives with issue 6."

# clean: remove the venv, the demo lake and caches
clean:
	rm -rf .venv $(LAKE) .pytest_cache .mypy_cache .ruff_cache
