# The two commands: `make run` and `make test`. Each does all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test setup bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

run: setup
	$(PY) run.py serve

test: setup
	$(PY) -m pytest -q

# Benchmarks (bench/README.md): Node-RED pinned into bench/.node (git-ignored) for the peer baseline.
# BENCH_QUICK=1 make bench: 5-second phases, the whole matrix in about 15 minutes; BENCH_ARGS for more options.
NODE_RED_VERSION := 4.0.9
bench/.node/node_modules/node-red/red.js:
	npm install --prefix bench/.node --no-audit --no-fund node-red@$(NODE_RED_VERSION)

bench: setup bench/.node/node_modules/node-red/red.js
	$(PY) run.py bench $(if $(filter 1,$(BENCH_QUICK)),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
