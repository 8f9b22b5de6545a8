# Two entry points for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-all lint docs serve-docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,docs,postgres]"
	touch $(STAMP)

setup: $(STAMP)

## Train MMIM on the built-in synthetic dataset (about a minute on 2 CPU cores).
demo: $(STAMP)
	$(BIN)/mifusion train

## The default test suite (what CI runs).
test: $(STAMP)
	$(BIN)/python -m pytest -m "(not slow or ci) and not gpu" -q

## Everything, including slow convergence and real-data checks.
test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

## Build the documentation site strictly into site/ (serve it with `make serve-docs`).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

serve-docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache site
