"""Benchmark of one `fit` step of every training mode, of Two-Gen-BAT's parts, and the peak
memory of a Two-Gen-BAT step, for one or more backbones.

For each backbone (`--backbones`, `name:image_size` each), one fresh process times the
median of `model.train_function` (what `fit` runs per batch, with the model's own
jit_compile setting) for each mode (`--modes`), interleaved, as a ratio to the baseline's step;
the first call of each mode (trace + compile + run) is printed too. For Two-Gen-BAT also
its parts run alone, each its own `tf.function` with the same jit setting: the `g_steps`
generator updates (each generator on its own half), and the detector update on the rows
they made. `step / (sum of parts)` near 1 means the step does no work beyond the game
(no recomputation, no logging passes).

Peak memory (`--memory=1`): another fresh process per backbone builds Two-Gen-BAT alone,
runs two steps (the first traces and compiles), resets the kernel's peak-RSS mark
(`/proc/self/clear_refs`, Linux) and runs one more: the peak resident memory of that warm
step (VmHWM), beside the resident memory before it (weights, optimizer slots, the
runtime) and `ru_maxrss`, the process's whole-life peak (includes tracing and XLA
compilation); and TensorFlow's own allocator peak over that step
(`tf.config.experimental.get_memory_info` after `reset_memory_stats`; on the CPU it has
statistics only with the BFC allocator, which this process turns on with
TF_CPU_ALLOCATOR_USE_BFC=true; on a GPU it is the device's peak). `tracemalloc` does
not see TensorFlow's allocations.

Precision and XLA: every `--precision` (float32, mixed_bfloat16; mixed_float16 on a
GPU) x `--jit_compile` (0, 1) combination runs in its own process; a closing table gives
each mode's step in every combination against float32 without XLA. With `--flops=1`
(default) each mode's step FLOPs are counted once (`dfadv_tf.timing.train_step_flops`:
the convolutions and matrix products of the step's XLA HLO, a generator mode's loop
counted g_steps times) and printed as GFLOP/s beside the machine's measured peak for the
precision (`timing.measured_peak_gflops`: the best of a large matmul and a 3x3
convolution at the same thread settings).

Generators: `--generator_width` / `--n_blocks` if given, else width 16 with 1 block for
small_cnn (a quick figure) and the paper's width 64 with 3 blocks for a real backbone.

  python benchmarks/train_step.py                      # small_cnn at 64 px, a minute
  python benchmarks/train_step.py --repeats=3 \\
      --backbones=small_cnn:64,efficientnetb0:224,xception:299   # CPU: about an hour
  python benchmarks/train_step.py --backbones=efficientnetb0:224 --modes=baseline,two_gen_bat
  python benchmarks/train_step.py --backbones=efficientnetb0:128 --modes=two_gen_bat \\
      --precision=float32,mixed_bfloat16 --jit_compile=0,1 --memory=0
"""

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULT = "RESULT "
# What the benchmark changes from the configuration's defaults (ExperimentConfig fields;
# each mode reads its own): a quicker PGD and SAT than training uses, eps of 2 grey levels (4/255 in [-1, 1]).
SETTINGS = {"pgd_eps_levels": 2.0, "pgd_step_levels": 0.5, "pgd_steps": 3, "bat_steps": 1,
            "sat_steps": 5}


def _modes():
  """The registered training modes (`dfadv_tf.experiment.modes`), in their order."""
  sys.path.insert(0, ROOT)
  from dfadv_tf.experiment import modes  # pylint: disable=g-import-not-at-top
  return modes


def _mode_name(modes, key):
  """The mode of a --modes entry: a mode's name, an old name (warned), or the name of an
  adversary (its mode, the old keys of this script); None if none."""
  from dfadv_tf import attacks  # pylint: disable=g-import-not-at-top
  if key in attacks.ADVERSARIES:
    mode = attacks.get(key).mode
    print(f"train_step: --modes={key} is now called {mode}; the old name goes in the next "
          "release.", file=sys.stderr)
    return mode
  name = modes.MODES.canonical(key)
  return name if name in modes.MODES else None


def _generator_shape(args, backbone):
  small = backbone == "small_cnn"
  width = args.generator_width or (16 if small else 64)
  blocks = args.n_blocks if args.n_blocks >= 0 else (1 if small else 3)
  return width, blocks


def _make(name, detector, args, backbone):
  """Mode `name` around `detector`, built by its registered factory, compiled."""
  from dfadv_tf.experiment import ExperimentConfig  # pylint: disable=g-import-not-at-top
  modes = _modes()
  width, blocks = _generator_shape(args, backbone)
  config = ExperimentConfig(backbone=backbone, g_steps=args.g_steps,
                            kernel_size=args.kernel_size, generator_width=width,
                            generator_blocks=blocks, **SETTINGS)
  model = modes.get(name).build(config, detector)
  model.compile(jit_compile=args.jit_one)
  model.make_train_function()
  return model


def _interleaved_medians(runs, repeats, warmup):
  """{name: median seconds} of the callables `runs`, interleaved (`timing`)."""
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  return timing.interleaved_medians(runs, repeats, warmup)


def _setup(args, spec):
  """(tf, backbone, size, dataset, images, labels, device) in this process."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, ROOT)
  backbone, size = spec.rsplit(":", 1)
  size = int(size)
  keras.utils.set_random_seed(0)
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (args.batch, size, size, 3)).astype(np.float32)
  labels = (np.arange(args.batch) % 2).astype(np.int32)  # real, fake, ... ("halves")
  dataset = tf.data.Dataset.from_tensors((images, labels)).repeat().prefetch(2)
  gpus = tf.config.list_physical_devices("GPU")
  device = (tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
            if gpus else f"CPU ({platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores)")
  return tf, backbone, size, dataset, images, labels, device


def _sync(outputs):
  """Waits for the step: fetches one scalar of its outputs."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return float(np.asarray(tf.nest.flatten(outputs)[0]).ravel()[0])


def time_backbone(args, spec):
  """Every mode's step (and Two-Gen-BAT's parts) for one backbone, in this process."""
  tf, backbone, size, dataset, images, labels, device = _setup(args, spec)
  from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top
  width, blocks = _generator_shape(args, backbone)
  print(f"\ndevice: {device}; TF {tf.__version__}; backbone {backbone} at {size}px, batch "
        f"{args.batch}; generators width {width}, {blocks} blocks; g_steps {args.g_steps}, "
        f"k {args.kernel_size}; median of {args.repeats} after {args.warmup} warm-up "
        "call(s)", flush=True)
  import keras  # pylint: disable=g-import-not-at-top
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  keras.config.set_dtype_policy(args.precision_one)
  print(f"precision {args.precision_one}, jit_compile {int(args.jit_one)}", flush=True)
  modes = _modes()
  runs, models, first, flops = {}, {}, {}, {}
  for key in args.modes:
    name = modes.get(key).display_name
    model = _make(key, build_detector(backbone, size), args, backbone)
    if args.flops:
      flops[name] = timing.train_step_flops(model, tf.constant(images), tf.constant(labels))
    iterator = iter(dataset)
    models[name] = model
    runs[name] = (lambda f, it: lambda: _sync(f(it)))(model.train_function, iterator)
    start = time.perf_counter()
    runs[name]()
    first[name] = time.perf_counter() - start
  timings = _interleaved_medians(runs, args.repeats, max(args.warmup - 1, 0))
  baseline = timings.get(modes.get(modes.BASELINE).display_name)
  peak = None
  if args.flops:
    dtype = keras.dtype_policies.get(args.precision_one).compute_dtype
    peak = timing.measured_peak_gflops(dtype)
    print(f"measured peak {dtype} (best of 5: a 2048^3 matmul / a 3x3 conv "
          f"8x56x56x256->256): {peak['matmul']:.0f} / {peak['conv']:.0f} GFLOP/s")
  print(f"{'mode':28s} {'step ms':>10s} {'/ base':>8s} {'first call s':>13s}"
        + (f" {'GFLOP':>8s} {'GFLOP/s':>8s} {'% peak':>7s}" if args.flops else ""))
  for name, seconds in timings.items():
    ratio = f"{seconds / baseline:8.2f}" if baseline else f"{'':8s}"
    rate = (f" {flops[name] / 1e9:8.1f} {flops[name] / seconds / 1e9:8.1f} "
            f"{100 * flops[name] / seconds / 1e9 / max(peak.values()):7.1f}"
            if args.flops else "")
    print(f"{name:28s} {1e3 * seconds:10.1f} {ratio} {first[name]:13.1f}{rate}")
  result = {"backbone": backbone, "image_size": size, "device": device,
            "precision": args.precision_one, "jit_compile": args.jit_one,
            "step_s": timings, "first_call_s": first, "step_flops": flops,
            "measured_peak_gflops": peak}

  two_gen = models.get(modes.get("two_gen_bat").display_name)
  if two_gen is not None:
    x, y = tf.constant(images), tf.constant(labels)
    jit = two_gen.jit_compile

    @tf.function(jit_compile=jit, autograph=False)
    def generator_updates(x, y):
      return two_gen.adversary_step(x, y)

    rows = generator_updates(x, y)

    @tf.function(jit_compile=jit, autograph=False)
    def detector_update(x, y, rows):
      two_gen.detector_update(x, y, rows)
      return two_gen.optimizer.iterations

    iterator = iter(dataset)
    parts = {"step": lambda: _sync(two_gen.train_function(iterator)),
             f"{two_gen.g_steps} generator updates": lambda: _sync(generator_updates(x, y)),
             "detector update": lambda: _sync(detector_update(x, y, rows))}
    medians = _interleaved_medians(parts, args.repeats, args.warmup)
    for name, seconds in medians.items():
      print(f"  Two-Gen-BAT {name:24s} {1e3 * seconds:10.1f} ms")
    total = sum(seconds for name, seconds in medians.items() if name != "step")
    ratio = medians["step"] / total
    print(f"  Two-Gen-BAT step / sum of parts: {ratio:.3f} (target <= 1.05)", flush=True)
    result.update(two_gen_parts_s=medians, step_over_parts=ratio)
  print(RESULT + json.dumps(result), flush=True)


def _status_kib():
  with open("/proc/self/status", encoding="utf-8") as f:
    status = f.read()
  return {key: int(re.search(key + r":\s+(\d+)", status).group(1))
          for key in ("VmRSS", "VmHWM")}


def memory_backbone(args, spec):
  """Peak memory of a warm Two-Gen-BAT step for one backbone, in this fresh process."""
  tf, backbone, size, dataset, _, _, device = _setup(args, spec)
  from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top
  model = _make("two_gen_bat", build_detector(backbone, size), args, backbone)
  iterator = iter(dataset)
  for _ in range(2):
    _sync(model.train_function(iterator))
  gpu = bool(tf.config.list_physical_devices("GPU"))
  allocator = "GPU:0" if gpu else "CPU:0"
  try:
    tf.config.experimental.reset_memory_stats(allocator)
  except ValueError:  # no allocator statistics (CPU without the BFC allocator)
    allocator = None
  before = _status_kib()["VmRSS"]
  resettable = True
  try:
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
      f.write("5")  # resets VmHWM to the current RSS
  except OSError:
    resettable = False
  _sync(model.train_function(iterator))
  status = _status_kib()
  result = {"backbone": backbone, "image_size": size, "device": device,
            "rss_before_step_mib": before / 1024,
            "step_peak_rss_mib": status["VmHWM"] / 1024 if resettable else None,
            "process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
  if allocator:
    info = tf.config.experimental.get_memory_info(allocator)
    result.update(allocator=allocator, allocator_step_peak_mib=info["peak"] / 2**20,
                  allocator_before_step_mib=info["current"] / 2**20)
  step_peak = (f"{result['step_peak_rss_mib']:.0f} MiB (+"
               f"{result['step_peak_rss_mib'] - result['rss_before_step_mib']:.0f})"
               if resettable else "n/a (no /proc/self/clear_refs)")
  print(f"  Two-Gen-BAT memory ({backbone} {size}px, batch {args.batch}): host RSS before a "
        f"warm step {result['rss_before_step_mib']:.0f} MiB, peak during it {step_peak}; "
        f"process peak (ru_maxrss, incl. tracing + compilation) "
        f"{result['process_peak_rss_mib']:.0f} MiB"
        + (f"; TF allocator ({allocator}) peak during the step "
           f"{result['allocator_step_peak_mib']:.0f} MiB" if allocator else ""), flush=True)
  print(RESULT + json.dumps(result), flush=True)


def _child(args, flag, spec, precision="float32", jit=False):
  command = [sys.executable, os.path.abspath(__file__), f"{flag}={spec}",
             f"--precision_one={precision}", f"--jit_one={int(jit)}", f"--flops={args.flops}",
             f"--modes={','.join(args.modes)}", f"--batch={args.batch}",
             f"--generator_width={args.generator_width}", f"--n_blocks={args.n_blocks}",
             f"--g_steps={args.g_steps}", f"--kernel_size={args.kernel_size}",
             f"--repeats={args.repeats}", f"--warmup={args.warmup}"]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
  if flag == "--memory_one":  # allocator statistics on the CPU (timings run without)
    env["TF_CPU_ALLOCATOR_USE_BFC"] = "true"
  process = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)
  result = None
  for line in process.stdout.splitlines():
    if line.startswith(RESULT):
      result = json.loads(line[len(RESULT):])
    else:
      print(line, flush=True)
  if process.returncode != 0:
    raise SystemExit(f"train_step: {flag}={spec} exited {process.returncode}")
  return result


def _print_combinations(timings):
  """Each mode's step under every precision x jit combination, against float32 without
  XLA (the first combination when that one was not run)."""
  base = next((t for t in timings if t["precision"] == "float32" and not t["jit_compile"]),
              timings[0])
  label = lambda t: f"{t['precision']}{' + XLA' if t['jit_compile'] else ''}"
  print(f"\n{'mode':28s} {'combination':24s} {'step ms':>10s} {'speed-up':>9s} "
        f"{'GFLOP/s':>8s} {'first call s':>13s}   (speed-up against {label(base)})")
  for name in base["step_s"]:
    for t in timings:
      seconds = t["step_s"][name]
      flops = t["step_flops"].get(name)
      rate = f"{flops / seconds / 1e9:8.1f}" if flops else f"{'':8s}"
      print(f"{name:28s} {label(t):24s} {1e3 * seconds:10.1f} "
            f"{base['step_s'][name] / seconds:9.2f} {rate} {t['first_call_s'][name]:13.1f}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--backbones", default="small_cnn:64",
                      help="comma-separated name:image_size, e.g. "
                           "small_cnn:64,efficientnetb0:224,xception:299")
  parser.add_argument("--modes", default="", help="comma-separated training modes "
                      "(dfadv-train --mode values; default all), each with the "
                      f"benchmark's settings {SETTINGS}")
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--generator_width", type=int, default=0,
                      help="0: 16 for small_cnn, 64 (the paper's) otherwise")
  parser.add_argument("--n_blocks", type=int, default=-1,
                      help="-1: 1 for small_cnn, 3 (the paper's) otherwise")
  parser.add_argument("--g_steps", type=int, default=3)
  parser.add_argument("--kernel_size", type=int, default=9)
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--warmup", type=int, default=2,
                      help="calls before timing (the first traces and compiles)")
  parser.add_argument("--memory", type=int, default=1, choices=(0, 1),
                      help="1: the peak memory of a Two-Gen-BAT step, in its own process")
  parser.add_argument("--precision", default="float32,mixed_bfloat16",
                      help="comma-separated dtype policies: float32, mixed_bfloat16, "
                           "mixed_float16 (GPU only); each its own process")
  parser.add_argument("--jit_compile", default="0",
                      help="comma-separated 0/1: the step XLA-compiled (1) or not (0)")
  parser.add_argument("--flops", type=int, default=1, choices=(0, 1),
                      help="1: count each step's FLOPs (XLA cost, traced once per mode) "
                           "and print GFLOP/s against the measured peak")
  parser.add_argument("--json", default="", help="also write the results to this file")
  parser.add_argument("--precision_one", default="float32", help=argparse.SUPPRESS)
  parser.add_argument("--jit_one", type=int, default=0, help=argparse.SUPPRESS)
  parser.add_argument("--time_one", default="", help=argparse.SUPPRESS)
  parser.add_argument("--memory_one", default="", help=argparse.SUPPRESS)
  args = parser.parse_args()
  modes = _modes()
  keys = [m.strip() for m in args.modes.split(",") if m.strip()]
  resolved = {key: _mode_name(modes, key) for key in keys}
  unknown = [key for key, name in resolved.items() if name is None]
  if unknown:
    parser.error(f"unknown --modes {unknown}; choose from {', '.join(modes.names())}")
  args.modes = list(resolved.values()) or list(modes.names())
  sys.path.insert(0, ROOT)
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  try:
    jits = timing.parse_jit(args.jit_compile)
    gpu = False
    if "mixed_float16" in args.precision:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      gpu = bool(tf.config.list_physical_devices("GPU"))
    precisions = timing.parse_precisions(args.precision, gpu)
  except ValueError as error:
    parser.error(str(error))
  args.jit_one = bool(args.jit_one)
  if args.time_one:
    return time_backbone(args, args.time_one)
  if args.memory_one:
    return memory_backbone(args, args.memory_one)
  results = []
  for spec in [s.strip() for s in args.backbones.split(",") if s.strip()]:
    if not re.fullmatch(r"[\w-]+:\d+", spec):
      parser.error(f"--backbones entry {spec!r} is not name:image_size")
    entry = {"timing": [_child(args, "--time_one", spec, precision, jit)
                        for precision in precisions for jit in jits]}
    if args.memory:
      entry["memory"] = _child(args, "--memory_one", spec)
    results.append(entry)
    _print_combinations(entry["timing"])
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump({"batch": args.batch, "repeats": args.repeats, "results": results}, f,
                indent=1)
  return None


if __name__ == "__main__":
  main()
