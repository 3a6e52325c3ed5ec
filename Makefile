# The README's two commands: `make demo` (the main job) and `make test` (the tests).
# Each creates ./.venv on first use and installs the project into it from this tree.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench install

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow or ci" $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) benchmarks/blur.py

bench: $(STAMP)
	$(PY) benchmarks/blur.py
