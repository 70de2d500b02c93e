# The two commands of the README, and the checks CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test check install dev bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'

dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

# install and run the main job
demo: install
	$(BIN)/v2g demo

# install and run the tests
test: dev
	$(BIN)/python -m pytest

# lint, format and types
check: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: dev
	$(BIN)/python benchmarks/dispatch_core.py
