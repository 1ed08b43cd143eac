# The two commands of README.md: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: setup demo test lint typecheck unit openapi docs

setup:
	@bash scripts/bootstrap.sh

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
