# The two commands of README.md: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: setup demo test lint typecheck unit

setup:
	@bash scripts/bootstrap.sh

demo: setup
	@bash scripts/demo.sh

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: setup
	$(VENV)/mypy

unit: setup
	$(VENV)/pytest tests/unit

# Lint, types, then the whole suite; the integration tests start (and always stop) their own
# throwaway cluster.
test: lint typecheck
	$(VENV)/pytest
