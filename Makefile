# The two commands a new user needs:
#   make run    set up .venv, install evreview, run the workflow on data/raw + config/
#   make test   set up .venv, install evreview, run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint dry-run clean-results install demo-data unlock

install: $(VENV)/.installed

# torch is pinned to the CPU build on local disk first: a plain "torch" requirement could
# pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[ml,dev]'
	touch $@

# --rerun-incomplete: after a run that was killed, `make run` redoes the jobs it cut short
# (as profiles/local does) instead of stopping on Snakemake's IncompleteFilesException.
# --show-failed-logs: a job that fails prints its log, where evreview's one-line error
# (file, line, what to do) is; without it the terminal says only "check log file(s)".
# The Snakefile names config/config.yaml itself: passing it again made Snakemake print
# "Config file config/config.yaml is extended by additional config" on every run.
run: install
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --show-failed-logs

# after a run killed hard (kill -9, power loss) Snakemake's lock on the folder remains and the
# next run refuses to start: release it (only when no other run is going), then `make run`
unlock: install
	$(BIN)/snakemake --unlock --cores 1

dry-run: install
	$(BIN)/snakemake -n --cores $(CORES)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	# snakemake --lint exits 1 on its advice to add conda envs/containers (not usable on these
	# machines); this test fails on any other lint
	$(BIN)/python -m pytest -q tests/test_workflow_profiles.py -k lint

demo-data: install
	$(BIN)/python scripts/make_demo_review.py

clean-results:
	rm -rf results logs .snakemake
