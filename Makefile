# labforensics: `make demo` runs the main job on the bundled demo evidence
# (5 labs at a real lab's density, August-October 2020), `make demo-full` on the
# full-size case (30 labs, 2015-2020: about 10 min and 10 GiB of memory),
# `make test` runs the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= demo

.PHONY: demo demo-full demo-real test lint bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m labforensics.demo --out $(DEMO)

demo-full: $(STAMP)
	$(PY) -m labforensics.demo --full --out $(DEMO)-full

demo-real: $(STAMP)
	$(PY) -m labforensics.demo --real --out $(DEMO)-real

# every core (pytest-xdist), a test file per worker so that its module fixtures are built
# once: about 15 min on 2 cores here, about 50 in one process (`$(PY) -m pytest -q`)
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/sessions.py
	$(PY) benchmarks/detection.py
	$(PY) benchmarks/attribution.py

clean:
	rm -rf $(VENV) $(DEMO) $(DEMO)-full $(DEMO)-real .pytest_cache .hypothesis
