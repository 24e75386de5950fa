# Pravah — `make help` lists the targets.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CARGO_TARGET_DIR ?= $(HOME)/.cache/pravah/target
export UV_CACHE_DIR ?= $(HOME)/.cache/pravah/uv
# uv installs without bytecode, and with PYTHONDONTWRITEBYTECODE set none is ever cached: every
# `pravah serve` then compiled its dependencies again, ~2 s of CPU per (re)start. Compiled once here.
export UV_COMPILE_BYTECODE ?= 1
STAMP := $(VENV)/.deps-stamp

.DEFAULT_GOAL := help
.PHONY: help setup build browser run test lint test-rust test-py k8s-check crds kube k8s-dryrun stack stack-down stack-status chaos fuzz bench bench-stack bench-faults bench-frontdoor bench-dashboard bench-dirty bench-scan bench-headers bench-images bench-backfill screenshots clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r pyproject.toml --extra dev
	touch $(STAMP)

setup: $(STAMP) build ## Create .venv with every dependency and build the engine

build: $(STAMP) ## Build the Rust engine (release) into the package
	$(BIN)/maturin develop --release --uv -q 2>&1 | grep -vE '^\s*(Compiling|Downloaded|Downloading)' || true
	@$(BIN)/python -c "import pravah._engine" || { echo "engine build failed"; exit 1; }

browser: ## Install Debian's Chromium for the browser tests (tests/web) if it is missing
	@$(PY) scripts/browser.py >/dev/null

run: setup ## Embedded mode on the example pipelines and generated sample data
	$(BIN)/python scripts/demo.py

test: setup browser lint crds kube test-rust test-py ## The whole suite: lint, cargo tests for the core, then pytest (browser tests and the API server's dry run too)

lint: $(STAMP) ## ruff: unused and undefined names, syntax errors
	$(BIN)/ruff check services tests bench scripts

test-rust: ## cargo test for engine/core
	cargo test --release -p pravah-core -q 2>&1 | grep -vE '^\s*(Compiling|Downloaded|Downloading)'; exit $${PIPESTATUS[0]}

crds: $(STAMP) ## Fetch or generate the pinned operators' CRDs into ~/.cache/pravah/crds (what k8s-check validates against)
	$(BIN)/python scripts/crds.py >/dev/null

k8s-check: crds ## Offline checks of k8s/, the Dockerfile and the Tiltfile (tests/k8s but the API server's; also part of test-py)
	$(BIN)/python -m pytest -q -m "not kube" tests/k8s

kube: $(STAMP) ## Build kube-apiserver and etcd at the pinned versions into ~/.cache/pravah/kube (once: ~12 min on one core)
	$(BIN)/python scripts/kube.py build >/dev/null

k8s-dryrun: crds kube ## Server-side dry run of every overlay on a real kube-apiserver with the operators' CRDs (CEL rules included)
	$(BIN)/python scripts/k8s_dryrun.py

test-py: ## pytest: unit, embedded end to end, the real-services suite (starts the stack itself) and the browser tests
	$(BIN)/python -m pytest -q

stack: ## Start PostgreSQL, Kafka (KRaft) and MinIO on 127.0.0.1 (installs what is missing); settings in .stack/stack.env
	$(PY) scripts/stack.py up

stack-down: ## Stop the services started by `make stack`
	$(PY) scripts/stack.py down

stack-status: ## Where each service listens, and whether it is up
	$(PY) scripts/stack.py status

chaos: setup ## Chaos run on the real stack: 2,000 uploads while processes are killed and Kafka/PostgreSQL restart
	$(BIN)/python tests/services/chaos.py --files 2000

FUZZ_SECONDS ?= 600
fuzz: setup ## Fuzz the CSV reader, expressions, decompressors (cargo-fuzz) and the event/YAML parsers (hypothesis), FUZZ_SECONDS each
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	$(BIN)/python scripts/fuzz.py --seconds $(FUZZ_SECONDS)

bench: setup ## B1–B5, B7, B8, B11, B12 side by side with peers, outputs checked (one table; B12 when the stack's MinIO runs, pigz from Debian if missing)
	$(BIN)/uv pip install -q --python $(BIN)/python -r pyproject.toml --extra bench
	$(BIN)/python bench/run.py

bench-stack: setup ## End-to-end benchmarks on the real services: upload→event latency, ingest replay, API load
	$(BIN)/python bench/stack.py

bench-faults: setup ## Latency under faults on a private stack (.stack-faults/, ports from 28300): fault → next job created per kind, next to the no-fault floor
	$(BIN)/python bench/faults.py

bench-frontdoor: setup ## Front-door benchmarks on the real services: status API on 1 M jobs, 1,000 SSE clients, 10 GiB upload vs boto3
	$(BIN)/python bench/frontdoor.py

bench-dirty: setup ## Dirty CSV → Parquet (1 % bad rows) next to duckdb and polars; what the sniffer and decoder cost
	$(BIN)/uv pip install -q --python $(BIN)/python -r pyproject.toml --extra bench
	$(BIN)/python bench/dirty.py

bench-scan: setup ## B9: pravah scan next to fd, find and os.scandir on a cached 200 k-file tree, and next to aws s3 ls on 100 k MinIO objects
	$(BIN)/uv pip install -q --python $(BIN)/python -r pyproject.toml --extra bench
	$(BIN)/python bench/scan.py --write bench/results-scan.md

bench-headers: setup ## B10: the header row of every CSV in a cached 200 k-file tree (pravah scan --headers) next to a Python loop, polars and duckdb
	$(BIN)/python bench/headers.py --write bench/results-headers.md

bench-images: setup ## Thumbnails/s next to Pillow and pyvips, unzip next to the unzip CLI and Python's zipfile
	$(BIN)/uv pip install -q --python $(BIN)/python -r pyproject.toml --extra bench
	$(BIN)/python bench/images.py --write bench/results-images.md

bench-backfill: setup ## A MinIO prefix of 100 k objects into jobs in PostgreSQL (the backfill runner) next to boto3's listing alone
	$(BIN)/python bench/backfill.py --objects 100000

bench-dashboard: setup browser ## Dashboard benchmarks on the real services: jobs page time on 1 M jobs, status change → browser, page weight
	$(BIN)/python bench/dashboard.py

screenshots: setup browser ## Regenerate docs/screenshots/ (every dashboard screen, embedded mode, real browser)
	$(BIN)/python scripts/screenshots.py

clean: ## Remove the venv, local state and build outputs in the tree
	rm -rf $(VENV) .pravah out services/pravah/_engine*.so
