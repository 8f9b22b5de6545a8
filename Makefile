# Two entry points for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# MMSA 2.2.1, the differential oracle of tests/models/test_mmim_vs_mmsa.py: outside the environment (its
# pinned dependencies are not ours), imported by that test alone. pandas is the one import it needs that
# the environment lacks.
MMSA   := .mmsa
MMSA_STAMP := $(MMSA)/.installed

.PHONY: setup demo test test-all lint docs serve-docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,docs,postgres,media]"
	touch $(STAMP)

setup: $(STAMP)

$(MMSA_STAMP): constraints.txt | $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target $(MMSA) -c constraints.txt \
		mmsa==2.2.1 easydict==1.14 nvidia-ml-py3==7.352.0 pandas
	touch $(MMSA_STAMP)

## Train MMIM on the built-in synthetic dataset (about a minute on 2 CPU cores).
demo: $(STAMP)
	$(BIN)/mifusion train

## The default test suite (what CI runs), with MMSA installed as the MMIM parity oracle.
test: $(STAMP) $(MMSA_STAMP)
	$(BIN)/python -m pytest -m "(not slow or ci) and not gpu" -q

## Everything, including slow convergence and real-data checks.
test-all: $(STAMP) $(MMSA_STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

## Build the documentation site strictly into site/ (serve it with `make serve-docs`).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

serve-docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) $(MMSA) .mypy_cache .ruff_cache .pytest_cache site
