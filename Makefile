# MI virtual populations and cardiac digital twins: one command per stage.
# Every target bootstraps the virtual environment .venv on first use.

PYTHON  ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PROFILE ?= standard
JOBS    ?= auto

export VTK_DEFAULT_OPENGL_WINDOW ?= vtkEGLRenderWindow
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.DEFAULT_GOAL := help
.PHONY: help setup reports test bench lab clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  options: PROFILE=smoke|standard|paper (reports), JOBS=N (test workers)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install the project (torch 2.13.0 CPU build pinned)

reports: $(STAMP) ## execute every notebook into reports/<profile>/ as HTML + index.html
	$(PY) -m mi_lib.core.reports --profile $(PROFILE)

test: $(STAMP) ## unit tests + every notebook at the smoke profile (nbval-lax), in parallel
	MI_PROFILE=smoke OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadscope \
		--nbval-lax --nbval-current-env -p no:cacheprovider tests notebooks

bench: $(STAMP) ## run the benchmarks into reports/bench/benchmarks.json
	$(PY) -m mi_lib.core.bench

lab: $(STAMP) ## JupyterLab on the project's kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

clean: ## remove derived data, reports and caches (keeps .venv)
	rm -rf data/derived reports/smoke reports/standard reports/paper reports/bench
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache *.egg-info
