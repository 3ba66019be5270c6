# One-command set-up: `make run` (main job on the embedded default) and `make test` (the tests).
# Both create .venv with the pinned requirements on first use.

PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: setup system-deps run smoke test lint format bench

# Debian packages the workflow calls: espeak-ng renders the audio chapter's spoken digits.
# Installed with apt-get when missing and we are root; otherwise the command to run is printed.
system-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing espeak-ng (apt-get)"; \
	    (apt-get install -y -qq espeak-ng >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq espeak-ng >/dev/null)); \
	  else \
	    echo "espeak-ng is missing: run 'sudo apt-get install espeak-ng' (Debian/Ubuntu) or" \
	         "'brew install espeak-ng' (macOS), then rerun make" >&2; exit 1; \
	  fi; }

$(BIN)/.ganinv-installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

setup: system-deps $(BIN)/.ganinv-installed

run: setup
	$(BIN)/snakemake --cores $(CORES)

smoke: setup
	$(BIN)/snakemake --cores $(CORES) --configfile presets/smoke.yaml --directory results/smoke-run

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests workflow/scripts benchmarks
	$(BIN)/ruff format --check src tests workflow/scripts benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1

format: setup
	$(BIN)/ruff check --fix src tests workflow/scripts benchmarks
	$(BIN)/ruff format src tests workflow/scripts benchmarks
	$(BIN)/snakefmt Snakefile workflow/rules

bench: setup
	$(BIN)/python benchmarks/bench_sampling.py
