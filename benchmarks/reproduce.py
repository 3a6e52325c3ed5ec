"""Every mode of the paper on the built-in benchmark over N seeds: Tables I / II as
mean +- std, and each mode's paired difference to the baseline.

  python benchmarks/reproduce.py                 # make reproduce: 7 modes x 3 seeds
  python benchmarks/reproduce.py --seeds=5 --modes=baseline,two_gen_bat
  python benchmarks/reproduce.py --train_args="--epochs=2"   # overrides for every run

For every seed and mode (seed by seed, so that finished seeds are complete) it runs
`dfadv-train --flagfile=<flags_dir>/<mode>.flags --seed=<s>` as a subprocess writing
`<output_dir>/<mode>/seed_<s>/` (its output in train.log), and prints one progress line
per run. Resumable: a run whose results.json exists is read, not retrained (a run that
was killed resumes from its own backup); a run folder made with other arguments or on
another benchmark version (`<data_root>/ffpp_demo/builder.json`) is an error rather than
a silent mix. The benchmark (`dfadv-make-demo-data`) is written first when
`<data_root>/ffpp_demo` has no index; one written by another renderer version is refused
(delete it to rebuild). Then `dfadv_tf.evaluation.seeds` writes
`<output_dir>/tables/{cross_method,cross_quality}{,_video}{,_vs_baseline}.{md,csv}` and
the frame-level tables are printed. Exit code 1 if a run failed (the others still run).
"""

import argparse
import functools
import json
import os
import shlex
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# The modes of the paper's tables (grad_pgd, App. C's multi-step variant, is not a row).
PAPER_MODES = ("baseline", "grad_aat", "grad_sat", "grad_bat", "gen_bat", "two_gen_bat",
               "combined")
ARGS_FILE = "reproduce_args.json"


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--modes", default=",".join(PAPER_MODES),
                      help="Comma-separated training modes (the baseline first).")
  parser.add_argument("--seeds", type=int, default=3, help="Seeds 0 .. N-1 per mode.")
  parser.add_argument("--output_dir", default="runs/reproduce")
  parser.add_argument("--data_root", default="demo_data",
                      help="Root of the benchmark's records (written when missing).")
  parser.add_argument("--flags_dir", default="flags/demo",
                      help="Folder with one <mode>.flags per mode.")
  parser.add_argument("--train_args", default="",
                      help="Extra dfadv-train flags for every run (shell syntax).")
  parser.add_argument("--baseline", default="baseline",
                      help="The mode that the paired differences subtract.")
  args = parser.parse_args(argv)
  args.modes = [m for m in args.modes.split(",") if m]
  if args.seeds < 1:
    parser.error(f"--seeds must be >= 1, got {args.seeds}.")
  for mode in args.modes:
    if not os.path.exists(os.path.join(args.flags_dir, f"{mode}.flags")):
      parser.error(f"--modes: no flag file {args.flags_dir}/{mode}.flags for mode {mode!r}.")
  if args.baseline not in args.modes:
    parser.error(f"--modes must include the baseline {args.baseline!r} (the paired "
                 "differences subtract it).")
  return args


def _python_env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
              PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))


def ensure_benchmark(data_root, log=print):
  """Writes the built-in benchmark under `data_root` unless its index exists; returns its
  builder record (renderer version and config). ValueError when the benchmark there was
  written by another renderer version."""
  from dfadv_tf.data import synthetic  # pylint: disable=g-import-not-at-top
  if not os.path.exists(os.path.join(data_root, synthetic.DEFAULT_DATASET, "index.json")):
    log(f"writing the built-in benchmark to {data_root} (dfadv-make-demo-data)")
    subprocess.run([sys.executable, "-m", "tools.make_demo_data",
                    f"--data_root={data_root}"],
                   cwd=ROOT, env=_python_env(), check=True, stdout=subprocess.DEVNULL)
  return synthetic.check_builder(data_root, synthetic.DEFAULT_DATASET)


def run_arguments(args, mode, seed, output):
  """The dfadv-train flags of one run."""
  return [f"--flagfile={os.path.join(args.flags_dir, mode + '.flags')}",
          f"--data_root={args.data_root}", f"--seed={seed}", f"--output_dir={output}",
          *shlex.split(args.train_args)]


def _recorded(flags, benchmark):
  return {"flags": flags, "benchmark": benchmark}


def read_run(output, flags, benchmark=None):
  """The results of a finished run ({grid: {set: metrics}}), or None if unfinished.
  ValueError when the run folder was made with other flags or on another benchmark
  (`benchmark`: the builder record of `ensure_benchmark`)."""
  recorded = os.path.join(output, ARGS_FILE)
  if os.path.exists(recorded):
    with open(recorded, encoding="utf-8") as f:
      before = json.load(f)
    if isinstance(before, list):  # written before the benchmark was recorded
      before = _recorded(before, None)
    if before["flags"] != flags:
      raise ValueError(f"{output} was trained with other arguments "
                       f"({' '.join(before['flags'])}), not {' '.join(flags)}; delete it or "
                       "pass another --output_dir.")
    if before["benchmark"] != benchmark:
      raise ValueError(f"{output} was trained on another benchmark ({before['benchmark']}), "
                       f"not {benchmark}; delete it or pass another --output_dir.")
  path = os.path.join(output, "results.json")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    results = json.load(f)
  return next(iter(results.values()))


def train(output, flags, benchmark=None):
  """Runs dfadv-train; returns (exit code, seconds). Its output goes to train.log."""
  from dfadv_tf.files import atomic_write_text  # pylint: disable=g-import-not-at-top
  os.makedirs(output, exist_ok=True)
  atomic_write_text(os.path.join(output, ARGS_FILE), json.dumps(_recorded(flags, benchmark)))
  start = time.perf_counter()
  result = subprocess.run([sys.executable, "-m", "tools.train", *flags], cwd=ROOT,
                          env=_python_env(), capture_output=True, text=True, check=False)
  atomic_write_text(os.path.join(output, "train.log"), result.stdout + result.stderr)
  return result.returncode, time.perf_counter() - start


def _averages(results):
  """'cross-method Avg AUC 80.12, ...' of one run's results."""
  parts = []
  for grid, by_set in results.items():
    auc = 100.0 * sum(m["auc"] for m in by_set.values()) / len(by_set)
    parts.append(f"{grid.replace('_', '-')} Avg AUC {auc:.2f}")
  return ", ".join(parts)


def reproduce(args, log=print):
  """Trains (or reads) every (mode, seed), writes the tables; returns (runs, failures)
  with runs = {mode: {seed: results}}."""
  from dfadv_tf.evaluation import seeds as seeds_lib  # pylint: disable=g-import-not-at-top
  from dfadv_tf.experiment import PAPER_NAMES  # pylint: disable=g-import-not-at-top
  benchmark = ensure_benchmark(args.data_root, log)
  todo = [(seed, mode) for seed in range(args.seeds) for mode in args.modes]
  log(f"{len(todo)} runs ({len(args.modes)} modes x {args.seeds} seeds) under "
      f"{args.output_dir}")
  runs, failures = {}, []
  for i, (seed, mode) in enumerate(todo, start=1):
    output = os.path.join(args.output_dir, mode, f"seed_{seed}")
    flags = run_arguments(args, mode, seed, output)
    head = f"[{i:2d}/{len(todo)}] {mode} seed {seed}:"
    results = read_run(output, flags, benchmark)
    if results is not None:
      log(f"{head} done before, read {output}/results.json ({_averages(results)})")
    else:
      code, seconds = train(output, flags, benchmark)
      results = read_run(output, flags, benchmark) if code == 0 else None
      if results is None:
        failures.append((mode, seed))
        log(f"{head} FAILED after {seconds:.0f} s (exit code {code}); see {output}/train.log")
        continue
      log(f"{head} trained in {seconds:.0f} s ({_averages(results)})")
    runs.setdefault(mode, {})[seed] = results
  if args.baseline in runs:
    names = {mode: PAPER_NAMES[mode] for mode in runs}
    for level in ("frame", "video"):
      texts = seeds_lib.write_seed_tables(runs, args.output_dir, names, args.baseline,
                                          level)
      if level == "frame":
        for text in texts.values():
          log("\n" + text)
    log(f"Tables in {args.output_dir}/tables")
  return runs, failures


def main(argv=None):
  args = parse_args(argv)
  try:
    _, failures = reproduce(args, log=functools.partial(print, flush=True))
  except ValueError as error:
    print(f"reproduce.py: error: {error}", file=sys.stderr)
    sys.exit(1)
  if failures:
    print(f"{len(failures)} runs failed: {failures}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  main()
