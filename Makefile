# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench conformance soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

conformance: $(STAMP)
	$(BIN)/python -m tests.conformance.runner --full --write-docs

soak: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow --timeout 3600

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
