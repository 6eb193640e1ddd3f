# kolit: two commands on a fresh machine — `make test` and `make reproduce` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kolit-installed
# torch is pinned and installed first: the CPU wheel lies on disk; an unpinned torch would pull a CUDA build.
TORCH := torch==2.13.0
PIP := $(BIN)/pip --disable-pip-version-check -q
JOBS ?= 2


.PHONY: readme install test export-check nbtest pytest reproduce docs lab chromium bench clean

install: $(STAMP)

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install --upgrade pip wheel "setuptools>=68" 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install $(TORCH) 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import torch, kolit, nbdev; print('installed: torch', torch.__version__, '| nbdev', nbdev.__version__)"
	touch $(STAMP)

# Chromium is needed only by the docs-in-a-browser test; install it with apt when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will say so"; \
	  else echo "warning: chromium missing and apt-get unavailable; the browser test will say so"; fi; }

# The notebooks are the source: the exported package must equal what is committed.
export-check: install
	$(BIN)/nbdev_export
	@git diff --exit-code --stat -- kolit || { echo "kolit/ differs from the notebooks: run nbdev_export and commit kolit/"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- kolit | grep -v __pycache__)" || { echo "nbdev_export created files that are not committed:"; git status --porcelain -- kolit; exit 1; }
	$(BIN)/python scripts/make_readme.py --check

# One torch/BLAS thread per process: nbdev_test runs $(JOBS) notebooks at once on a 2-core machine, and
# oversubscribed threads made the suite several times slower here.
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

nbtest: install
	$(THREADS) $(BIN)/nbdev_test --n_workers $(JOBS) --do_print --timing

pytest: install chromium
	$(THREADS) $(BIN)/python -m pytest -q --durations=10 tests

test: install export-check nbtest pytest

readme: install
	$(BIN)/python scripts/make_readme.py

reproduce: install
	$(BIN)/kolit reproduce --out reports

docs: install
	$(BIN)/python scripts/build_docs.py --out _docs

lab: install
	$(BIN)/jupyter lab --notebook-dir=nbs $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf _docs _proc build *.egg-info .pytest_cache
