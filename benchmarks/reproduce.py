"""Every mode of the paper over N seeds: Tables I / II as mean +- std, and each mode's
paired difference to the baseline, on the built-in benchmark (--suite=demo, `make
reproduce`) or on real FF++ face crops (--suite=real_faces).

  python benchmarks/reproduce.py                 # make reproduce: 7 modes x 3 seeds
  python benchmarks/reproduce.py --seeds=5 --modes=baseline,two_gen_bat
  python benchmarks/reproduce.py --train_args="--epochs=2"   # overrides for every run
  python benchmarks/reproduce.py --suite=real_faces          # 7 modes x 5 seeds x NT, FS
  python benchmarks/reproduce.py --suite=real_faces --modes=baseline,two_gen_bat \\
      --clamp=reference,paper,low                             # the clamp study
  python benchmarks/reproduce.py --suite=real_faces --estimate_only

For every run (seed by seed, so that finished seeds are complete) it runs `dfadv-train`
as a subprocess writing `<run folder>/` (its output in train.log), and prints one
progress line per run. Resumable: a run whose results.json exists is read, not
retrained (a run that was killed resumes from its own backup); a run folder made with
other arguments, or on another version of the built-in benchmark (its renderer version
and config, `dfadv_tf.data.synthetic.builder_record`), is an error rather than a silent
mix. Every mode draws the same batches
for a seed (--balance, default halves: B/2 real and B/2 fake, what Two-Gen-BAT needs),
so that the paired differences compare modes on the same data order and initial
weights. Exit code 1 if a run failed (the others still run).

demo: `--flagfile=<flags_dir>/<mode>.flags` per run, folders `<output_dir>/<mode>/seed_<s>/`;
the benchmark (`dfadv-make-demo-data`) is written first when `<data_root>/ffpp_demo` has
no index; one written by another renderer version is refused (rebuild it with
`dfadv-make-demo-data --restart`). Tables: `<output_dir>/tables/{cross_method,cross_quality}{,_video}{,_vs_baseline}`.

real_faces: the shared FF++ face sample (--faces_root, default
`../shared/data/ffpp_faces_sample` beside the checkout; when that is absent the suite
says so and exits 0) is preprocessed once (`dfadv-preprocess --layout=folder
--face_detector=none`, into `<output_dir>/records`), then every mode is trained with
`flags/real_faces/suite.flags` (every setting fixed there, before any run) and --weights
(default `../shared/weights/mobilenet_2_5_224_tf_no_top.h5`) on each of --train_methods
(NeuralTextures, the paper's Table I protocol, and FaceSwap), and tested on all four
methods: folders `<output_dir>/<method>/<mode>/seed_<s>/`, frame-level tables (AUC, ACC,
ACC@val) in `<output_dir>/<method>/tables/`. Up front: a total time estimate: a mode with
finished runs counts their mean wall time, the others one step timed here at the suite's
settings times each pending run's steps, plus its evaluation (the step alone misses the
input pipeline; --estimate_only stops there; --tables_only writes the tables of the runs
finished so far and trains nothing). --clamp=reference,paper,low (or numbers)
trains each generator mode once per largest sigma of its generators' maps (reference:
`auto`, image_size / 256 px, the reference's sigma <= 1 px scaled to the image size;
paper: 1 px; low: 10 px, App. D's floor 0.01 of the inverse variance), as rows
"<mode> (max sigma ...)", folders `<mode>_floor_<name>`. Every
generator run's clamped fractions (g_clamped, or g_real_clamped and g_fake_clamped: the
share of its map's pixels on the clamp, last epoch, from train.log) are tabled in
`tables/clamped.{md,csv}`.
"""

import argparse
import contextlib
import functools
import json
import os
import re
import shlex
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# The shared real-face sample and weights live beside the checkout (`../shared`);
# DFADV_SHARED names another folder.
SHARED = os.environ.get("DFADV_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
DEFAULT_FACES = os.path.join(SHARED, "data", "ffpp_faces_sample")
DEFAULT_WEIGHTS = os.path.join(SHARED, "weights", "mobilenet_2_5_224_tf_no_top.h5")
FACES_DATASET = "ffpp_faces"
REAL_FACES_FLAGS = os.path.join("flags", "real_faces", "suite.flags")
# --clamp names: the generators' largest blur sigma in px (generator_max_sigma; the
# inverse-variance floor is 1 / sigma^2): the reference's bound scaled to the image size,
# the paper's 1 px, and App. D's low floor (10 px, inverse variance 0.01).
CLAMPS = {"reference": "auto", "paper": "1", "low": "10"}
ARGS_FILE = "reproduce_args.json"
CLAMPED = re.compile(r"(?<![\w])(g(?:_real|_fake)?_clamped): ([-+0-9.eE]+|nan)")


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--suite", default="demo", choices=("demo", "real_faces"),
                      help="demo: the built-in benchmark; real_faces: the FF++ face sample.")
  parser.add_argument("--modes", default="",
                      help="Comma-separated training modes (the baseline among them); "
                      "default: the modes of the paper's tables (modes.Mode.in_paper).")
  parser.add_argument("--seeds", type=int, default=None,
                      help="Seeds 0 .. N-1 per mode (default: demo 3, real_faces 5).")
  parser.add_argument("--output_dir", default=None,
                      help="Default: runs/reproduce (demo), runs/real_faces (real_faces).")
  parser.add_argument("--data_root", default=None,
                      help="Root of the records: demo: the benchmark's (default demo_data, "
                      "written when missing); real_faces: where the sample is "
                      "preprocessed (default <output_dir>/records).")
  parser.add_argument("--flags_dir", default="flags/demo",
                      help="demo: folder with one <mode>.flags per mode.")
  parser.add_argument("--faces_root", default=None,
                      help="real_faces: the labelled face folder (default "
                      f"{DEFAULT_FACES} when it exists).")
  parser.add_argument("--weights", default=None,
                      help="real_faces: backbone weights (default "
                      f"{DEFAULT_WEIGHTS} when it exists, else none).")
  parser.add_argument("--train_methods", default="NeuralTextures,FaceSwap",
                      help="real_faces: the methods trained on, one suite each.")
  parser.add_argument("--clamp", default="",
                      help="Comma-separated largest generator sigmas (reference, paper, "
                      "low or numbers in px): each generator mode runs once per value. "
                      "Default: the flag files' value.")
  parser.add_argument("--balance", default="halves", choices=("halves", "auto"),
                      help="dfadv-train --balance of every run (halves: every mode the "
                      "same batches; auto: each mode its own, as before).")
  parser.add_argument("--train_args", default="",
                      help="Extra dfadv-train flags for every run (shell syntax).")
  parser.add_argument("--baseline", default="",
                      help="The mode that the paired differences subtract (default: the "
                      "baseline).")
  parser.add_argument("--estimate_only", action="store_true",
                      help="Print the time estimate of the pending runs and stop.")
  parser.add_argument("--tables_only", action="store_true",
                      help="Write the tables of the runs finished so far (each mode over "
                      "the seeds it has) and train nothing.")
  args = parser.parse_args(argv)
  from dfadv_tf.experiment import modes  # pylint: disable=g-import-not-at-top
  args.modes = ([m for m in args.modes.split(",") if m]
                or [mode.name for mode in modes.MODES.values() if mode.in_paper])
  args.baseline = args.baseline or modes.BASELINE
  args.seeds = args.seeds if args.seeds is not None else (
      5 if args.suite == "real_faces" else 3)
  if args.seeds < 1:
    parser.error(f"--seeds must be >= 1, got {args.seeds}.")
  for mode in args.modes:
    if args.suite == "demo" and not os.path.exists(
        os.path.join(args.flags_dir, f"{mode}.flags")):
      parser.error(f"--modes: no flag file {args.flags_dir}/{mode}.flags for mode {mode!r}.")
    if args.suite == "real_faces" and mode not in modes.MODES:
      parser.error(f"--modes: unknown mode {mode!r}; expected some of "
                   f"{list(modes.MODES.names())}.")
  if args.baseline not in args.modes:
    parser.error(f"--modes must include the baseline {args.baseline!r} (the paired "
                 "differences subtract it).")
  try:
    args.clamp = [_clamp(c) for c in args.clamp.split(",") if c]
  except ValueError as error:
    parser.error(str(error))
  args.train_methods = [m for m in args.train_methods.split(",") if m]
  if args.suite == "real_faces":
    args.output_dir = args.output_dir or os.path.join("runs", "real_faces")
    args.data_root = args.data_root or os.path.join(args.output_dir, "records")
    if args.faces_root is not None and not os.path.isdir(args.faces_root):
      parser.error(f"--faces_root {args.faces_root} is not a folder (expected train/ and "
                   "test/ holding real/ and fake/<method>/).")
    if args.weights is None:
      args.weights = DEFAULT_WEIGHTS if os.path.isfile(DEFAULT_WEIGHTS) else "none"
    elif args.weights not in ("none", "imagenet") and not os.path.isfile(args.weights):
      parser.error(f"--weights {args.weights} does not exist.")
    if not args.train_methods:
      parser.error("--train_methods must name at least one method.")
  else:
    args.output_dir = args.output_dir or os.path.join("runs", "reproduce")
    args.data_root = args.data_root or "demo_data"
  return args


def _clamp(text):
  """(name, dfadv-train value) of one --clamp entry."""
  if text in CLAMPS:
    return text, CLAMPS[text]
  try:
    value = float(text)
  except ValueError:
    raise ValueError(f"--clamp: {text!r} is neither one of {sorted(CLAMPS)} nor a "
                     "number.") from None
  if not value > 0:
    raise ValueError(f"--clamp: sigma bounds are > 0 px, got {text}.")
  return text, text


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


def ensure_faces(args, image_size, log=print):
  """Preprocesses the face folder once (resumable) into `<data_root>/ffpp_faces`;
  ValueError when the records there were made at another image size."""
  folder = os.path.join(args.data_root, FACES_DATASET)
  if os.path.exists(os.path.join(folder, "index.json")):
    sources = os.path.join(folder, "sources.json")
    made = None
    if os.path.exists(sources):
      with open(sources, encoding="utf-8") as f:
        made = json.load(f).get("options", {}).get("size")
    if made is not None and made != image_size:
      raise ValueError(f"--data_root {args.data_root}: its records are {made} px, the "
                       f"flag file trains at {image_size} px; pass another --data_root "
                       "(or --output_dir).")
    return
  command = [sys.executable, "-m", "tools.preprocess", f"--dataset={FACES_DATASET}",
             "--layout=folder", f"--input={os.path.abspath(args.faces_root)}",
             f"--data_root={os.path.abspath(args.data_root)}", "--face_detector=none",
             f"--image_size={image_size}"]
  log(f"preprocessing {args.faces_root} once: {' '.join(command[2:])}")
  start = time.perf_counter()
  result = subprocess.run(command, cwd=ROOT, env=_python_env(), capture_output=True,
                          text=True, check=False)
  if result.returncode:
    raise OSError(f"dfadv-preprocess of {args.faces_root} failed (exit code "
                  f"{result.returncode}): {result.stderr.strip().splitlines()[-1:]}")
  log(f"preprocessed in {time.perf_counter() - start:.0f} s: "
      f"{result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ''}")


class Run:
  """One training run: (train method or None, mode, clamp (name, value) or None, seed)."""

  def __init__(self, args, method, mode, clamp, seed):
    self.method, self.mode, self.clamp, self.seed = method, mode, clamp, seed
    self.key = mode if clamp is None else f"{mode}@{clamp[0]}"
    folder = mode if clamp is None else f"{mode}_floor_{clamp[0]}"
    self.group = os.path.join(args.output_dir, method) if method else args.output_dir
    self.output = os.path.join(self.group, folder, f"seed_{seed}")
    self.flags = run_arguments(args, self)

  def label(self):
    parts = [self.method, self.mode] if self.method else [self.mode]
    if self.clamp:
      parts.append(f"max sigma {self.clamp[0]}")
    return " ".join(parts) + f" seed {self.seed}"


def run_arguments(args, run):
  """The dfadv-train flags of one run."""
  if args.suite == "real_faces":
    flags = [f"--flagfile={REAL_FACES_FLAGS}", f"--mode={run.mode}",
             f"--dataset={FACES_DATASET}", f"--train_methods={run.method}",
             f"--weights={args.weights}"]
  else:
    flags = [f"--flagfile={os.path.join(args.flags_dir, run.mode + '.flags')}"]
  flags += [f"--data_root={args.data_root}", f"--seed={run.seed}",
            f"--output_dir={run.output}", f"--balance={args.balance}"]
  if run.clamp is not None:
    flags.append(f"--generator_max_sigma={run.clamp[1]}")
  return flags + shlex.split(args.train_args)


def plan(args):
  """Every Run, seed by seed."""
  from dfadv_tf.experiment import modes  # pylint: disable=g-import-not-at-top
  methods = args.train_methods if args.suite == "real_faces" else [None]
  runs = []
  for seed in range(args.seeds):
    for method in methods:
      for mode in args.modes:
        clamps = args.clamp if (args.clamp and modes.get(mode).generators) else [None]
        runs += [Run(args, method, mode, clamp, seed) for clamp in clamps]
  return runs


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


def clamped_fractions(output):
  """{tracker: value} of the last epoch line of `<output>/train.log` (g_clamped,
  g_real_clamped, g_fake_clamped), {} without them."""
  path = os.path.join(output, "train.log")
  if not os.path.exists(path):
    return {}
  found = {}
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      found.update({name: float(value) for name, value in CLAMPED.findall(line)})
  return found


def _averages(results):
  """'cross-method Avg AUC 80.12, ...' of one run's results."""
  parts = []
  for grid, by_set in results.items():
    auc = 100.0 * sum(m["auc"] for m in by_set.values()) / len(by_set)
    parts.append(f"{grid.replace('_', '-')} Avg AUC {auc:.2f}")
  return ", ".join(parts)


@contextlib.contextmanager
def _in_root():
  """The flag files name each other relative to the repository root."""
  before = os.getcwd()
  os.chdir(ROOT)
  try:
    yield
  finally:
    os.chdir(before)


def config_of(flags):
  """The `ExperimentConfig` that dfadv-train would build from `flags`."""
  from absl import flags as absl_flags  # pylint: disable=g-import-not-at-top
  from dfadv_tf.cli import flags as config_flags  # pylint: disable=g-import-not-at-top
  values = absl_flags.FlagValues()
  config_flags.define_config_flags(values)
  absolute = [f"--data_root={os.path.abspath(f.split('=', 1)[1])}"
              if f.startswith("--data_root=") else f for f in flags]
  with _in_root():
    values(["reproduce", *absolute])
  return config_flags.config_from_flags(flag_values=values)


def _median_seconds(fn, repeats=3):
  fn()  # traces and compiles
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return sorted(times)[len(times) // 2]


def time_steps(configs, log=print):
  """({mode: seconds of one training step}, seconds of one forward batch) at each
  config's settings: a random batch, the first call (tracing) left out, median of 3."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dfadv_tf.experiment import modes as modes_lib  # pylint: disable=g-import-not-at-top
  steps, forward = {}, None
  for mode, config in configs.items():
    size, batch = config.image_size, config.batch_size
    images = np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 3)).astype(
        np.float32)
    labels = (np.arange(batch) % 2).astype(np.int32)  # real, fake, ... (halves)
    model = modes_lib.build_training_model(config, steps=100)
    steps[mode] = _median_seconds(lambda: model.train_on_batch(images, labels))
    log(f"  one {mode} step: {steps[mode]:.2f} s")
    if forward is None:
      forward = _median_seconds(lambda: model.detector.predict_on_batch(images))
  return steps, forward


def _evaluation_batches(config):
  """Forward batches of one run: validation every epoch, then every test set."""
  from dfadv_tf.experiment import data  # pylint: disable=g-import-not-at-top
  test = sum(sum(s["records"] for s in selection.shards("test"))
             for sets in data.test_grids(config).values() for selection in sets.values())
  val = sum(s["records"] for s in data.training_selection(config).shards("val"))
  return (data.validation_steps(config) * config.epochs
          + -(-(test + val) // config.batch_size))


def run_seconds(output):
  """Wall seconds of the last training of a finished run: from the start record
  (ARGS_FILE, rewritten whenever the run is started) to its train.log (written when
  dfadv-train exits); a run resumed from its backup counts only its last part. None
  when either file is missing."""
  try:
    seconds = (os.path.getmtime(os.path.join(output, "train.log"))
               - os.path.getmtime(os.path.join(output, ARGS_FILE)))
  except OSError:
    return None
  return seconds if seconds > 0 else None


def measured_seconds(runs):
  """{run key: [seconds of each finished run]} of the `runs` that have them."""
  measured = {}
  for run in runs:
    seconds = run_seconds(run.output)
    if seconds is not None and os.path.exists(os.path.join(run.output, "results.json")):
      measured.setdefault(run.key, []).append(seconds)
  return measured


def _mean(values):
  return sum(values) / len(values)


def time_left(runs, measured, per_run, fallback):
  """Seconds the `runs` should take: each run the mean time of the finished runs of its
  mode (`measured`), else its estimate (`per_run`), else `fallback`."""
  return sum(_mean(measured[run.key]) if run.key in measured
             else per_run.get(run.key, fallback) for run in runs)


def estimate(runs, measured=None, log=print):
  """Logs the time the pending `runs` should take; returns {run key: seconds a run}.
  A mode with finished runs (`measured`, from `measured_seconds`) counts their mean
  wall time, which includes start-up and the input pipeline (on a quiet 2-core machine
  the real-face suite's runs stepped 1.07-1.25x slower than the step timed alone). The
  other modes get one step timed here times each run's steps, plus its evaluation
  batches."""
  from dfadv_tf.experiment import data  # pylint: disable=g-import-not-at-top
  measured = measured or {}
  if not runs:
    return {}
  per_run, parts = {}, []
  for key, seconds in measured.items():
    if any(run.key == key for run in runs):
      per_run[key] = _mean(seconds)
      parts.append(f"{key} {per_run[key] / 60:.1f} min a run, mean of {len(seconds)} "
                   "finished")
  configs = {}  # one step timed per mode (a clamp does not change its cost)
  for run in runs:
    if run.key not in per_run and run.mode not in configs:
      configs[run.mode] = config_of(run.flags)
  if configs:
    log(f"timing one step of {len(configs)} modes at the runs' settings "
        "(for the estimate) ...")
    step, forward = time_steps(configs, log)
    for run in runs:
      if run.key not in per_run:
        config = configs[run.mode]
        per_run[run.key] = (data.steps_per_epoch(config) * config.epochs * step[run.mode]
                            + _evaluation_batches(config) * forward)
    first = next(iter(configs.values()))
    parts.append(f"{', '.join(f'{m} {s:.2f} s' for m, s in step.items())} a step of "
                 f"batch {first.batch_size} at {first.image_size} px, "
                 f"{data.steps_per_epoch(first)} steps x {first.epochs} epochs a run, "
                 f"+ evaluation at {forward:.2f} s a batch; timed on {os.cpu_count()} "
                 "cores under the current load, the input pipeline left out")
  total = sum(per_run[run.key] for run in runs)
  log(f"estimate: {len(runs)} runs to train, about {total / 3600:.1f} h "
      f"({'; '.join(parts)})")
  return per_run


def _names(keys, floors):
  from dfadv_tf.experiment import PAPER_NAMES  # pylint: disable=g-import-not-at-top
  names = {}
  for key in keys:
    mode, _, clamp = key.partition("@")
    names[key] = PAPER_NAMES[mode] + (f" (max sigma {clamp} = {floors[key]:g} px)" if clamp
                                      else "")
  return names


def write_clamp_table(group, runs_done, log=print):
  """`<group>/tables/clamped.{md,csv}`: the clamped fractions of every generator run,
  mean +- std over seeds; returns the Markdown (None without generator runs)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dfadv_tf.evaluation import seeds as seeds_lib  # pylint: disable=g-import-not-at-top
  from dfadv_tf.files import atomic_write_text  # pylint: disable=g-import-not-at-top
  rows = {}
  for run in runs_done:
    fractions = clamped_fractions(run.output)
    if fractions:
      floor = _floor_of(run)
      rows.setdefault((run.key, floor), []).append(fractions)
  if not rows:
    return None
  trackers = sorted({t for values in rows.values() for v in values for t in v})
  names = _names([key for key, _ in rows], {key: floor for key, floor in rows})
  lines = []
  for (key, floor), values in rows.items():
    cells = []
    for tracker in trackers:
      seen = [100.0 * v[tracker] for v in values if tracker in v]
      cells.append(f"{np.mean(seen):.1f} ± {np.std(seen, ddof=1) if len(seen) > 1 else 0:.1f}"
                   if seen else "")
    lines.append([names[key], f"{floor:g}", str(len(values))] + cells)
  header = ["Method", "Max sigma (px)", "Seeds"] + [f"{t} (%)" for t in trackers]
  text = ("### Share of the generators' map pixels on the clamp (last epoch), mean ± std "
          "over seeds\n\n" + seeds_lib.markdown_table(header, lines))
  atomic_write_text(os.path.join(group, "tables", "clamped.md"), text)
  atomic_write_text(os.path.join(group, "tables", "clamped.csv"),
                    seeds_lib.csv_table(header, lines))
  log("\n" + text)
  return text


def _floor_of(run):
  """The generators' largest sigma (px) a finished run used (its config.json)."""
  path = os.path.join(run.output, "config.json")
  with open(path, encoding="utf-8") as f:
    return float(json.load(f)["generator_max_sigma"])


def tabulate(args, group, runs, runs_done, log=print):
  """Writes the seed tables (and the clamp table) of one group of runs."""
  from dfadv_tf.evaluation import seeds as seeds_lib  # pylint: disable=g-import-not-at-top
  floors = {r.key: _floor_of(r) for r in runs_done if r.clamp is not None}
  names = _names(runs, floors)
  levels = ("frame",) if args.suite == "real_faces" else ("frame", "video")
  for level in levels:  # real_faces: one crop per video, no video level
    texts = seeds_lib.write_seed_tables(runs, group, names, args.baseline, level)
    if level == "frame":
      for text in texts.values():
        log("\n" + text)
  write_clamp_table(group, runs_done, log)
  log(f"Tables in {group}/tables")


def reproduce(args, log=print):
  """Trains (or reads) every run, writes the tables; returns (runs, failures) with runs
  = {group folder: {mode key: {seed: results}}}."""
  todo = plan(args)
  benchmark = None  # real_faces: the face folder's own provenance guards its records
  if args.suite == "real_faces":
    ensure_faces(args, config_of(todo[0].flags).image_size, log)
  else:
    benchmark = ensure_benchmark(args.data_root, log)
  pending = [run for run in todo if read_run(run.output, run.flags, benchmark) is None]
  log(f"{len(todo)} runs ({len(args.modes)} modes x {args.seeds} seeds"
      + (f" x {len(args.train_methods)} training methods" if args.suite == "real_faces"
         else "")
      + (f", generator modes x {len(args.clamp)} sigma bounds" if args.clamp else "")
      + f") under {args.output_dir}, {len(pending)} to train")
  measured = measured_seconds([run for run in todo if run not in pending])
  per_run = {}
  if args.tables_only:
    todo = [run for run in todo if run not in pending]
    log(f"--tables_only: tables of the {len(todo)} finished runs")
  elif args.suite == "real_faces" or args.estimate_only:
    per_run = estimate(pending, measured, log)
  if args.estimate_only:
    return {}, []
  runs, done, failures = {}, {}, []
  start = time.perf_counter()
  trained = 0
  for i, run in enumerate(todo, start=1):
    head = f"[{i:2d}/{len(todo)}] {run.label()}:"
    results = read_run(run.output, run.flags, benchmark)
    if results is not None:
      log(f"{head} done before, read {run.output}/results.json ({_averages(results)})")
    else:
      code, seconds = train(run.output, run.flags, benchmark)
      results = read_run(run.output, run.flags, benchmark) if code == 0 else None
      trained += 1
      if results is None:
        failures.append(run.label())
        log(f"{head} FAILED after {seconds:.0f} s (exit code {code}); see "
            f"{run.output}/train.log")
        continue
      elapsed = time.perf_counter() - start
      measured.setdefault(run.key, []).append(seconds)
      left = [later for later in todo[i:] if later in pending]
      clamped = ", ".join(f"{k} {100 * v:.0f}%" for k, v in
                          clamped_fractions(run.output).items())
      log(f"{head} trained in {seconds:.0f} s ({_averages(results)}"
          + (f"; clamped: {clamped}" if clamped else "")
          + f"); {trained} trained in {elapsed / 60:.0f} min, {len(left)} left, about "
          f"{time_left(left, measured, per_run, elapsed / trained) / 60:.0f} min more")
    runs.setdefault(run.group, {}).setdefault(run.key, {})[run.seed] = results
    done.setdefault(run.group, []).append(run)
  for group, by_key in runs.items():
    if args.baseline in by_key:
      tabulate(args, group, by_key, done[group], log)
  return runs, failures


def main(argv=None):
  args = parse_args(argv)
  if args.suite == "real_faces" and args.faces_root is None:
    if not os.path.isdir(DEFAULT_FACES):
      print(f"skipping the real_faces suite: no face sample at {DEFAULT_FACES} (the "
            "shared FF++ sample lives beside the checkout, ../shared/data/"
            "ffpp_faces_sample); pass --faces_root=<folder> to run it.", flush=True)
      return
    args.faces_root = DEFAULT_FACES
  try:
    _, failures = reproduce(args, log=functools.partial(print, flush=True))
  except (ValueError, OSError) as error:
    print(f"reproduce.py: error: {error}", file=sys.stderr)
    sys.exit(1)
  if failures:
    print(f"{len(failures)} runs failed: {failures}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  main()
