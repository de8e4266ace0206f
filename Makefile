# Every target installs what it needs into .venv first (from pyproject.toml): the demo only the
# runtime, the tests the test tools too. uv (from PyPI, put into .venv when missing) installs in
# seconds; where it cannot be had, pip does the same, slower.
PY := .venv/bin/python
LAKE ?= lake
SAMPLES ?= ../shared/traces
INSTALL = if [ -x .venv/bin/uv ]; then .venv/bin/uv pip install --quiet --python $(PY) $(1); \
	else $(PY) -m pip install --quiet $(1); fi

.PHONY: demo test test-spark lint bench scale dashboard notebooks clean

.venv/runtime: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet uv || echo "uv could not be installed: using pip (slower)"
	$(call INSTALL,-e .)
	touch $@

.venv/installed: .venv/runtime
	$(call INSTALL,-e '.[dev]')
	touch $@

# demo: ingest every real sample in ../shared/traces into ./lake, summarize it, write report.html
demo: .venv/runtime
	.venv/bin/traces ingest $(SAMPLES) --lake $(LAKE)
	.venv/bin/traces info --lake $(LAKE)
	.venv/bin/traces report --lake $(LAKE) --out report.html

# test: lint, type-check, then the test suite against the real samples (with npm, the
# Node.js consumer too; without, its test skips, saying so). The long end-to-end runs
# (`pytest -m slow`: every real trace generated and checked, fuzzing in subprocesses, the full
# report's table formats, ...) run where CI is set (`.ci/run` sets it) and in `make test-all`.
SLOW := $(if $(CI),,-m "not slow")
test: .venv/installed lint
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory node-consumer; \
	else echo "npm not found: tests/predictors/test_node_consumer.py will skip"; fi
	$(if $(CI),,@echo "Leaving out the slow end-to-end tests: make test-all (or CI=1) runs them")
	$(PY) -m pytest -q $(SLOW)

# test-all: `make test` with the slow end-to-end tests, as CI runs it
.PHONY: test-all
test-all:
	$(MAKE) --no-print-directory test CI=1

# node-consumer: onnxruntime-node (exact version of package-lock.json) for
# consumers/node/check_golden.mjs; --ignore-scripts skips its postinstall download, the CPU
# binaries in the package are all it needs
.PHONY: node-consumer
node-consumer: consumers/node/node_modules/.installed

consumers/node/node_modules/.installed: consumers/node/package.json consumers/node/package-lock.json
	cd consumers/node && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# test-spark: the Spark parity tests (installs the spark extra; needs Java 17)
test-spark: .venv/installed
	$(call INSTALL,-e '.[dev,spark]')
	$(PY) -m pytest -q -m spark tests/spark

# lint: ruff (lint + format check) and mypy, configured in pyproject.toml
lint: .venv/installed
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# bench: ingest vs DuckDB COPY and pandas, the report on a 10M-request lake, predictor speed,
# `traces generate` of a 10M-request workload
bench: .venv/installed
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/report.py
	$(PY) benchmarks/predict.py
	$(PY) benchmarks/generate.py

# scale: ingest + full report at 10M/50M/100M generated requests on DuckDB, Spark at 10M (~10 min)
scale: .venv/installed
	$(call INSTALL,-e '.[dev,spark]')
	$(PY) benchmarks/scale.py

# notebooks: execute the paper notebooks (notebooks/*.py) on a lake built from ../shared/traces; fails on a number out of tolerance
notebooks: .venv/installed
	$(PY) notebooks/run.py --samples $(SAMPLES)

# screenshots: PNGs of report.html at 1,400 and 900 px windows in out/screenshots, to look at (run demo first; needs chromium)
.PHONY: screenshots
screenshots: .venv/installed
	$(PY) tools/report_screenshots.py report.html --out out/screenshots

# dashboard: open the Streamlit dashboard over ./lake on http://127.0.0.1:8501 (run demo first)
dashboard: .venv/runtime
	.venv/bin/traces dashboard --lake $(LAKE)

# clean: remove the venv, the demo lake and caches
clean:
	rm -rf .venv $(LAKE) report.html .pytest_cache .mypy_cache .ruff_cache consumers/node/node_modules
