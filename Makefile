# Speckle2Void for QGIS. `make demo` and `make test` install what is missing first.
PYTHON := .venv/bin/python
export PYTHONNOUSERSITE := 1
export QT_QPA_PLATFORM := offscreen

.PHONY: setup setup-tests test lint format zip demo bench clean

setup:
	scripts/bootstrap.sh

# The test set-up: setup plus what only the tests use (the Orfeo ToolBox, otb-bin).
setup-tests:
	scripts/bootstrap.sh --tests

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

test: setup-tests lint
	$(PYTHON) -m pytest

zip: setup
	$(PYTHON) -m scripts.build_zip dist

demo: setup
	$(PYTHON) -m scripts.demo demo_output

bench: setup
	$(PYTHON) -m bench.bench_despeckle

clean:
	rm -rf dist demo_output .pytest_cache
