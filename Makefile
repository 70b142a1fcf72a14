# argo-fanout developer commands. Every target creates/updates the virtualenv it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?= dev
# Arguments passed through to pytest, e.g. make test PYTEST_ARGS="-k chart -x".
PYTEST_ARGS ?=
# Arguments passed through to the job benchmark, e.g. make bench BENCH_ARGS="--size 1GiB".
BENCH_ARGS ?=
# Arguments passed through to the scale bench, e.g. make bench-scale BENCH_SCALE_ARGS="--small".
BENCH_SCALE_ARGS ?=

.PHONY: help venv dev destroy test e2e cluster cluster-down pulumi-local e2e-local lint demo bench bench-scale bench-argo-scale golden lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

venv: $(STAMP) ## Create/update the virtualenv with the pinned dependencies

dev: $(STAMP) ## Bring up the local kind stack (needs docker, kind, pulumi)
	STACK=$(STACK) bash scripts/dev.sh up

destroy: $(STAMP) ## Tear the local kind stack down (pulumi destroy)
	STACK=$(STACK) bash scripts/dev.sh destroy

test: $(STAMP) lint ## Run the whole test suite (no cluster, docker or Pulumi CLI needed)
	$(PY) -m pytest -n auto -m "not localcluster" $(PYTEST_ARGS)

e2e: $(STAMP) ## Run only the kind end-to-end test; fails (not skips) when a tool is missing
	ARGO_FANOUT_E2E_REQUIRED=1 $(PY) -m pytest -m e2e -rs -p no:xdist tests/e2e

# make cluster PERSISTENCE=1 (and make e2e-local PERSISTENCE=1): Argo also offloads node status
# to and archives in a host PostgreSQL (e2e/localcluster/persistence.py).
PERSISTENCE ?=
CLUSTER_UP_ARGS := $(if $(filter 1,$(PERSISTENCE)),--persistence,)
# make e2e-local E2E_TESTS="tests/localcluster/test_x.py ...": only those files (default: all).
E2E_TESTS ?=

cluster: ## Start the local real cluster (Kubernetes + Argo built from Go modules; needs root)
	bash e2e/localcluster/install-deps.sh $(CLUSTER_UP_ARGS)
	python3 e2e/localcluster/cluster.py up $(CLUSTER_UP_ARGS)

cluster-down: ## Stop the local real cluster and undo every host change it made
	python3 e2e/localcluster/cluster.py down

pulumi-local: ## Build the Pulumi CLI, Python host and Kubernetes provider from Go modules (local stack)
	bash e2e/localcluster/pulumi/build.sh

e2e-local: $(STAMP) ## From a clean state: cluster up, log-count (and Pulumi) on it for real, down
	bash e2e/localcluster/e2e.sh $(CLUSTER_UP_ARGS) $(E2E_TESTS)

lint: $(STAMP) ## Lint and format-check the Python code
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: $(STAMP) ## Run log-count locally on generated data through the rendered template
	$(PY) charts/log-count/files/log-count/generate.py --output .demo/input/log-count-data.txt --size 32MiB --seed 7
	$(PY) -m workflows run-local --input .demo/input/log-count-data.txt --volume-dir .demo/volume -p numParts=8

bench: $(STAMP) ## Benchmark the job and the local runner (prints ratios)
	$(PY) bench/job.py $(BENCH_ARGS)
	$(PY) bench/runner.py

bench-scale: $(STAMP) ## split/count/merge at 1k-10k shards over a 5 ms-per-call FUSE mount (needs fuse3)
	$(PY) bench/scale.py $(BENCH_SCALE_ARGS)

bench-argo-scale: $(STAMP) ## On the local real cluster (up): pods/minute and Workflow size, 100/300/1,000 shards
	$(PY) bench/argo_scale.py

golden: $(STAMP) ## Regenerate the chart's golden renders under tests/chart/golden
	$(PY) -m tests.chart.golden

lock: ## Re-pin every transitive dependency into constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	{ echo '# Every installed version, transitive ones included (pip freeze). Regenerate with: make lock'; \
	  $(PY) -m pip freeze --exclude pip; } > constraints.txt

clean: ## Remove the virtualenv and local scratch data
	rm -rf $(VENV) .demo .bench .charts .pytest_cache .ruff_cache
