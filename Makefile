# Two commands a new user needs:  make demo   and   make test
# (ARGS passes options to the demo, e.g.  make demo ARGS="--speed 10 --protocol qigong")
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

FAKEBLUEZ := ../shared/tools/fakebluez

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# the fake BlueZ for the Bluetooth tests, where ../shared is beside the checkout
	if [ -f $(FAKEBLUEZ)/pyproject.toml ]; then $(BIN)/python -m pip install --quiet $(FAKEBLUEZ); fi
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/hrvcoach demo $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
