"""Timing for the benchmarks: medians of callables run in interleaved rounds."""

import time

import numpy as np


def interleaved_medians(runs, repeats, warmup=1):
  """{name: median seconds} of the callables `runs` ({name: fn}), after `warmup` calls of
  each, in `repeats` interleaved rounds (a, b, ..., a, b, ...), so that a change of
  machine load hits all of them alike."""
  if repeats < 1:
    raise ValueError(f"repeats must be >= 1, got {repeats}")
  for run in runs.values():
    for _ in range(warmup):
      run()
  times = {name: [] for name in runs}
  for _ in range(repeats):
    for name, run in runs.items():
      start = time.perf_counter()
      run()
      times[name].append(time.perf_counter() - start)
  return {name: float(np.median(t)) for name, t in times.items()}
