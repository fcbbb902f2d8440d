# The two set-up commands of the README: `make serve` and `make test`.
# Both create the project's virtualenv from setup.cfg on first use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: serve test lint venv

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/placement-pci serve

# Lint first: a style, dead-code or type finding fails the run before the tests.
lint: $(STAMP)
	$(VENV)/bin/ruff check placement_pci tests bench
	$(VENV)/bin/vulture placement_pci --min-confidence 80
	$(VENV)/bin/mypy placement_pci

test: lint
	$(VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
