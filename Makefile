# Two commands do all set-up on a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean bench-fer-env

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip setuptools wheel

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[qnn,dev]'
	touch $@ $(VENV)/.installed-base

# DEMO_ARGS: e.g. `--epochs 1 --faces-per-class 4` for a quick check (.ci/run).
DEMO_ARGS ?=

demo: $(VENV)/.installed-base
	$(BIN)/edge-fer demo $(DEMO_ARGS)

test: $(VENV)/.installed-all
	$(BIN)/python -m pytest

# The PyPI fer package for bench/vs_fer.py only: beside edge-fer's environment, never in it;
# --no-deps keeps out its PyTorch (for an MTCNN detector the benchmark does not use).
bench-fer-env: $(VENV)/.installed-base
	$(BIN)/pip install --no-deps --target runs/fer-site fer==25.10.3 'setuptools<81'

lint: $(VENV)/.installed-all
	$(BIN)/ruff check edge_fer convert runners data scripts bench tests

clean:
	rm -rf $(VENV) runs build *.egg-info
