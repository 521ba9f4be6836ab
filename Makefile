# A fresh clone needs only Python 3.11+ and make: every target creates .venv on first use.
# `make run` installs the runtime only; `make test`, `make lint` and `make bench` add the test
# and bench extras (each set has its own marker file, so one never stands in for the other).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BIN)/.runtime-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

run: $(BIN)/.runtime-installed
	@echo "the console script is $(abspath $(BIN))/ecr-emulator (to run it by name: export PATH=\"$(abspath $(BIN)):\$$PATH\")"
	$(BIN)/ecr-emulator serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check ecr_emulator tests scripts

bench: $(BIN)/.installed
	$(BIN)/python scripts/bench_control.py

clean:
	rm -rf $(VENV) build *.egg-info
