# The README's two commands: `make demo` (the main job) and `make test` (the tests).
# Each creates ./.venv on first use and installs the project into it from this tree.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Test worker processes (pytest-xdist); tests of one class share a worker (loadscope).
TEST_WORKERS ?= 2

.PHONY: demo test bench install reproduce

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadscope -m "not slow or ci" $(PYTEST_ARGS)

# The main job: the built-in offline benchmark, a baseline and Two-Gen-BAT trained on one
# method and quality, both evaluated on every method and quality (about 8 minutes on 2
# CPU cores once installed). Outputs under runs/demo/.
demo: $(STAMP)
	$(PY) -m tools.make_demo_data --data_root=demo_data
	$(PY) -m tools.train --flagfile=flags/demo/baseline.flags $(TRAIN_ARGS)
	$(PY) -m tools.train --flagfile=flags/demo/two_gen_bat.flags $(TRAIN_ARGS)
	$(PY) -m tools.evaluate --flagfile=flags/demo/common.flags --output_dir=runs/demo/compare \
	  --detectors="Baseline=runs/demo/baseline/best_detector.keras,+ Two-Gen-BAT=runs/demo/two_gen_bat/best_detector.keras"
	@echo "TensorBoard: $(VENV)/bin/tensorboard --logdir runs/demo"

# Every mode of the paper's tables (baseline, Grad-AAT, Grad-SAT, Grad-BAT, Gen-BAT,
# Two-Gen-BAT, Combined AT) on the built-in benchmark over 3 seeds: Tables I / II as mean
# +- std and each mode's paired difference to the baseline (docs/results.md,
# "Reproduction over seeds"). Resumable: run it again after an interruption. Outputs under runs/reproduce/.
reproduce: $(STAMP)
	$(PY) benchmarks/reproduce.py $(REPRODUCE_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/blur.py
