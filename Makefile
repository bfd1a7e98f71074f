# Vigil: every command creates its own virtualenv first (.venv), so a fresh
# clone needs nothing but Python 3.11 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml sdk/pyproject.toml | cksum | cut -d' ' -f1)
# pytest-xdist workers; each has its own broker, store and ports; a test file stays on one
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile
# CPythons for make test-sdk: each python3.N (N = 11..14) of pyenv or on PATH that runs
SDK_PYTHONS ?= $(shell for v in 3.11 3.12 3.13 3.14; do \
  p=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python$$v 2>/dev/null | tail -1); \
  [ -n "$$p" ] || p=$$(command -v python$$v); \
  [ -n "$$p" ] && $$p -c '' 2>/dev/null && echo $$p; done)

.PHONY: help install browser up test test-sdk test-stress test-random stress-ng chaos lint protos protos-check bench clean kubectl checkov-venv

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# vigil depends on vigil-sdk from ./sdk, which pip installs as a copy; the last line makes it
# editable (pip refuses the editable and the direct reference in one command).
$(STAMP): pyproject.toml sdk/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e ./sdk
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## create .venv and install vigil and the SDK (sdk/) with the dev tools

browser:  ## install Debian's headless Chromium + chromedriver for the browser test (if missing)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  echo "chromium and chromedriver are installed"; \
	else \
	  echo "installing chromium and chromium-driver (apt-get; needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; \
	fi

up: $(STAMP)  ## run the whole system on embedded defaults, with demo traffic
	$(BIN)/vigil up

test: $(STAMP) browser kubectl protos-check lint  ## run the whole test suite (what CI runs)
	$(PYTEST)
	@echo "dashboard screenshots: $$(ls test-artifacts/screenshots/*.png 2>/dev/null | wc -l) in test-artifacts/screenshots/"

test-sdk:  ## the SDK alone: pip install ./sdk into a clean virtualenv per CPython, then its unit tests
	@test -n "$(SDK_PYTHONS)" || { echo "no python3.11 or newer found"; exit 1; }
	@for py in $(SDK_PYTHONS); do \
	  env=.venv-sdk-$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== the SDK alone on $$($$py --version) ($$env)"; \
	  rm -rf $$env && $$py -m venv $$env && \
	  $$env/bin/pip install --quiet --disable-pip-version-check ./sdk && \
	  $$env/bin/pip list --disable-pip-version-check --format=freeze | tr '\n' ' ' && echo && \
	  $$env/bin/pip install --quiet --disable-pip-version-check pytest pytest-timeout && \
	  PYTHONPATH=. $$env/bin/python -m pytest -q -p no:cacheprovider -o addopts= \
	    --confcutdir=tests/unit/sdk tests/unit/sdk || exit 1; \
	done

stress-ng:  ## install Debian's stress-ng for make test-stress (if missing)
	@command -v stress-ng >/dev/null 2>&1 || { \
	  echo "installing stress-ng (apt-get; needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null; }

test-stress: stress-ng  ## make test with both cores kept busy by stress-ng: the suite must not care
	@stress-ng --cpu $$(nproc) --timeout 3h >/dev/null 2>&1 & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null' EXIT; \
	  echo "stress-ng --cpu $$(nproc) is keeping every core busy (pid $$pid)"; \
	  $(MAKE) test

test-random: $(STAMP)  ## the pytest suite in a random order (seed printed; rerun with SEED=N)
	@seed=$${SEED:-$$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}; \
	  echo "random order seed $$seed (rerun: make test-random SEED=$$seed)"; \
	  $(PYTEST) --random-order --random-order-seed=$$seed

chaos: $(STAMP)  ## the reliability suite only: faults and fuzzing on real parts (also in make test)
	$(PYTEST) -m chaos
	@echo "fault summary: test-artifacts/chaos.json"

lint: $(STAMP)  ## ruff over the code and tests, then the import contracts (pyproject.toml)
	$(BIN)/ruff check services sdk tests bench dashboards
	$(BIN)/lint-imports

protos: $(STAMP)  ## regenerate sdk/src/vigil_protos from protos/ (commit the result)
	$(BIN)/python sdk/generate_protos.py

protos-check: $(STAMP)  ## fail when the generated code is stale
	@$(BIN)/python sdk/generate_protos.py --check

kubectl:  ## install kubectl (tests/deploy render k8s/ with its kustomize) when it is missing
	@command -v kubectl >/dev/null 2>&1 || { \
	  echo "kubectl not found: installing it with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq kubectl || { \
	    echo "could not install kubectl: add an apt source that has it (the Kubernetes"; \
	    echo "project's pkgs repository), or put a kubectl >= 1.27 on PATH"; exit 1; }; }

checkov-venv: $(STAMP)  ## create .venv-checkov (the checkov tests also do it on first use)
	$(BIN)/python -m tests.deploy.checkov_env

bench: $(STAMP)  ## measure everything and print the table vs the targets (see bench/README.md)
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.scaling
	$(BIN)/python -m bench.otlp
	$(BIN)/python -m bench.sdk_overhead
	$(BIN)/python -m bench.prompts
	$(BIN)/python -m bench.judge_evaluators
	$(BIN)/python -m bench.detectors
	$(BIN)/python -m bench.analyzer
	$(BIN)/python -m bench.backtest
	$(BIN)/python -m bench.dashboard_queries
	$(BIN)/python -m bench.report

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) .venv-checkov .vigil
