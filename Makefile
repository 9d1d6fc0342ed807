# hsp_eval: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCK := constraints.txt
STAMP := $(VENV)/.installed
DEMO := data/demo
DEMO_ARGS := --schools 24 --years 2022-2025 --seed 20240601 --format csv

.PHONY: demo test nbval venv lock lab clean-venv demo-data

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[all]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hsp_eval)" >/dev/null
	@touch $(STAMP)

## Generate the bundled demo dataset when it is missing (it is committed; regenerating gives identical files).
demo-data: $(STAMP)
	@test -f $(DEMO)/schools.csv || $(BIN)/hsp-eval generate $(DEMO) $(DEMO_ARGS)

## The whole demo: validate the data, then every school's reports and the national overview into reports/.
demo: demo-data
	$(BIN)/hsp-eval validate $(DEMO)
	$(BIN)/hsp-eval batch --data $(DEMO) --params params/demo --out reports --workers 2 --engine warm
	$(BIN)/hsp-eval audit reports --data $(DEMO)
	@echo "Open reports/index.html ($(CURDIR)/reports/index.html) for every report."

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4

## For notebook authors: nbval runs every cell of every notebook on the demo (make test checks them too, once each).
nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax notebooks

## Re-resolve every dependency from pyproject.toml and pin the exact versions in constraints.txt.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lockenv/bin/python -m pip install --quiet -e ".[all]"
	{ echo "# Exact versions hsp_eval is tested with; regenerate with 'make lock'."; \
	  .lockenv/bin/python -m pip freeze --exclude-editable | grep -v '^hsp[-_]eval' ; } > $(LOCK)
	rm -rf .lockenv

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
