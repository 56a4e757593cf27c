# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# What `make test` installs: the `dev` extra, pinned by this lock (made by `make lock`).
LOCK   := constraints-dev.txt
UV     := uv==0.13.9

.PHONY: demo test lint bench bench-import bench-async bench-batch bench-batch-ray bench-ops conformance soak clean \
	lock matrix wheel-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ortsession demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy --strict src/ortsession

# pytest exits 5 when it collects nothing; any non-zero status fails the target.
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The other benchmarks of bench/ (ratios printed, recorded in docs/performance.md).
bench-import: $(STAMP)
	$(BIN)/python bench/import_time.py

bench-async: $(STAMP)
	$(BIN)/python bench/async_bench.py

bench-batch: $(STAMP)
	$(BIN)/python bench/batch_bench.py

bench-batch-ray: $(STAMP)
	$(BIN)/python bench/batch_bench.py --ray

bench-ops: $(STAMP)
	$(BIN)/python bench/ops_bench.py

conformance: $(STAMP)
	$(BIN)/python -m tests.conformance.runner --full --write-docs

soak: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow --timeout 3600

# Refresh the lock: every package of the `dev` extra, resolved once for Python 3.10 to 3.13 on
# every platform (uv's universal resolution), from pyproject.toml's ranges.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet '$(UV)'
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 \
		--quiet -o $(LOCK)

# The suite against several ONNX Runtimes, each in its own venv (.venv-matrix/<name>); writes
# the table of docs/compatibility.md. MATRIX="oldest newest" runs some entries only.
matrix:
	$(PYTHON) tools/matrix.py $(if $(MATRIX),--only $(MATRIX)) --write-docs

# A wheel built from the checkout, installed in a clean venv, runs `ortsession demo` (~30 s;
# also part of `make test`).
wheel-test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_wheel.py

clean:
	rm -rf $(VENV) .venv-lock .venv-matrix build dist .mypy_cache .ruff_cache .pytest_cache
