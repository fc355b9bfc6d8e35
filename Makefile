# The README's two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
# The interpreter .venv is made from (CPython >= 3.10). Its build matters to a cold start: on the
# project's machine Debian's /usr/bin/python3.11 compiles numbarl's kernels with 10% less work
# than pyenv's default build (docs/cold_compile.md): `make PYTHON=/usr/bin/python3.11 test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_TEST := $(VENV)/.installed-test
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_COMPARE := $(VENV)/.installed-compare
RUNS ?=

.PHONY: demo test lint format bench test-extras clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,ray]"
	touch $@ $(STAMP_DEMO)

# torch is pinned to the CPU build held on these machines; never part of `make test`.
$(STAMP_COMPARE): pyproject.toml $(STAMP_TEST)
	$(PY) -m pip install --quiet -e ".[test,compare]"
	touch $@

demo: $(STAMP_DEMO)
	$(PY) experiments/demo.py $(if $(RUNS),--runs $(RUNS),)

lint: $(STAMP_TEST)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP_TEST)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Tests that need the comparison extras (torch, SB3) run under `make test-extras` / `make bench`.
test: lint
	$(PY) -m pytest -q -m "not extras"

bench: $(STAMP_COMPARE)
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-only \
		--benchmark-autosave --benchmark-compare --benchmark-columns=min,median,mean,stddev,rounds -q

test-extras: $(STAMP_COMPARE)
	$(PY) -m pytest -q -m extras

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
