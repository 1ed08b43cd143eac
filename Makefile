# The two commands of README.md: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: setup setup-cluster demo test test-cluster test-releases record-module-answers lint typecheck unit openapi docs bench bench-scale soak

setup:
	@bash scripts/bootstrap.sh

# What the other releases' chroots need: no browser, no Node.js.
setup-cluster:
	@bash scripts/bootstrap.sh --cluster-only

demo: setup
	@bash scripts/demo.sh

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/hadolint Dockerfile

typecheck: setup
	$(VENV)/mypy

unit: setup
	$(VENV)/pytest tests/unit

# docs/openapi.json, the committed copy of the spec served on /openapi.json (a test fails
# when it is stale).
openapi: setup
	$(VENV)/python -m cli.main openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json

# The generated tables of docs/configuration.md (settings, deny-list); a test fails when stale.
docs: setup
	$(VENV)/python docs/gen_configuration.py

# Lint, types, then the whole suite; the integration tests start (and always stop) their own
# throwaway cluster.
test: lint typecheck
	$(VENV)/pytest

# Everything that touches a cluster, without the host-only checks (browser, TypeScript) or
# lint and types (the same on every release): what each other release's chroot runs.
test-cluster: setup-cluster
	$(VENV)/pytest -m "not host_only"

# The suite on Pacific (Debian 12), Reef (Debian 13) and Tentacle (Debian sid): the host's
# release natively, the others in Debian chroots (scripts/releases.sh).
test-releases:
	@bash scripts/releases.sh test-all

# The restful module's answers on Reef (its last release with the module), which the tests on
# Tentacle compare the gateway with: tests/integration/recorded/reef/ (committed).
record-module-answers:
	@bash scripts/releases.sh record

# cephgw beside the restful module under wrk (and the GET /osd ceiling under uvicorn and
# granian), then GET times on an OSD map grown to 10,000 OSDs: bench/bench_all.py, on
# throwaway clusters. BENCH_ARGS passes options on: BENCH_ARGS=--quick for a smoke test.
bench: setup
	$(VENV)/python bench/bench_all.py --scale $(BENCH_ARGS)

# Ten minutes of mixed reads and writes at 16 connections, and the gateway's memory through
# it (bench/soak.py; not part of `make test`). SOAK_ARGS: e.g. --minutes 2 --server uvicorn.
soak: setup
	$(VENV)/python bench/soak.py $(SOAK_ARGS)

# The second part alone.
bench-scale: setup
	$(VENV)/python bench/bench_all.py --scale-only $(BENCH_ARGS)
