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


# ---- precisions, FLOP counts and the machine's measured peak ---------------------------

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def parse_precisions(text, gpu):
  """The dtype policies of a comma-separated `--precision` value; ValueError naming a
  policy that is unknown, or mixed_float16 without a GPU (emulated float16 on a CPU)."""
  policies = [p.strip() for p in text.split(",") if p.strip()]
  for policy in policies:
    if policy not in PRECISIONS:
      raise ValueError(f"--precision {policy!r} is not one of {', '.join(PRECISIONS)}")
    if policy == "mixed_float16" and not gpu:
      raise ValueError("--precision mixed_float16 needs a GPU (float16 is emulated on a "
                       "CPU); use float32 or mixed_bfloat16")
  if not policies:
    raise ValueError("--precision names no policy")
  return policies


def parse_jit(text):
  """[bool] of a comma-separated `--jit_compile` value of 0s and 1s."""
  values = [v.strip() for v in text.split(",") if v.strip()]
  if not values or any(v not in ("0", "1") for v in values):
    raise ValueError(f"--jit_compile must be a comma-separated list of 0 and 1, got {text!r}")
  return [v == "1" for v in values]


def _dims(text):
  return [int(d) for d in text.split(",") if d]


def hlo_flops(hlo_text):
  """Matrix FLOPs (2 x multiply-adds) of the convolutions and dot products in an HLO
  module's text (`experimental_get_compiler_ir(...)(stage="optimized_hlo")`, after dead
  code elimination), every instruction counted once: a convolution's multiply-adds are
  prod(output) x prod(kernel) / the kernel's output features (this holds for grouped
  and depthwise convolutions and for the backprop convolutions too), a dot's
  prod(output) x the contracted sizes. The element-wise work (the blur's ring sums,
  BatchNorm, activations) is not counted, so the rate is that of the matrix units.
  Loops must be unrolled (a while body counts once)."""
  import re  # pylint: disable=g-import-not-at-top
  shapes = {name: _dims(dims) for name, dims in re.findall(
      r"(%[\w.-]+) = [a-z0-9]+\[([0-9,]*)\]", hlo_text)}

  def operands(text):
    return [shapes[name] for name in re.findall(r"%[\w.-]+", text)]

  total = 0
  for line in hlo_text.splitlines():
    conv = re.search(r"= [a-z0-9]+\[([0-9,]*)\]\S* convolution\((.*?)\), .*"
                     r"dim_labels=\w+_(\w+)->", line)
    if conv:
      kernel = operands(conv.group(2))[1]
      out_features = kernel[conv.group(3).index("o")]
      total += 2 * int(np.prod(_dims(conv.group(1)))) * int(np.prod(kernel)) // out_features
      continue
    dot = re.search(r"= [a-z0-9]+\[([0-9,]*)\]\S* dot\((.*?)\), .*"
                    r"lhs_contracting_dims=\{([0-9,]*)\}", line)
    if dot:
      lhs = operands(dot.group(2))[0]
      contracted = int(np.prod([lhs[i] for i in _dims(dot.group(3))]))
      total += 2 * int(np.prod(_dims(dot.group(1)))) * contracted
  return total


def function_flops(fn, *args):
  """`hlo_flops` of `fn(*args)` compiled by XLA (fn: a Python function; it is traced, not
  run)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  compiled = tf.function(fn, jit_compile=True, autograph=False)
  return hlo_flops(compiled.experimental_get_compiler_ir(*args)(stage="optimized_hlo"))


def measured_peak_gflops(dtype, repeats=5):
  """{"matmul": GFLOP/s, "conv": GFLOP/s} of a large matrix product (2048^3) and a 3x3
  convolution (8 x 56 x 56, 256 -> 256 channels) in `dtype` ("float32" or "bfloat16")
  with TensorFlow's current thread settings: the best of `repeats` calls after one
  warm-up, i.e. what this machine's kernels reach at this precision, not a data-sheet
  figure."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  n = 2048
  a = tf.cast(tf.random.uniform((n, n)), dtype)
  b = tf.cast(tf.random.uniform((n, n)), dtype)
  x = tf.cast(tf.random.uniform((8, 56, 56, 256)), dtype)
  w = tf.cast(tf.random.uniform((3, 3, 256, 256)) * 0.01, dtype)
  work = {"matmul": (tf.function(lambda: tf.matmul(a, b)), 2 * n ** 3),
          "conv": (tf.function(lambda: tf.nn.conv2d(x, w, 1, "SAME")),
                   2 * 8 * 56 * 56 * 256 * 3 * 3 * 256)}
  rates = {}
  for name, (fn, flops) in work.items():
    fn().numpy()
    best = float("inf")
    for _ in range(repeats):
      start = time.perf_counter()
      fn().numpy()
      best = min(best, time.perf_counter() - start)
    rates[name] = flops / best / 1e9
  return rates


def train_step_flops(model, images, labels):
  """Matrix FLOPs (`hlo_flops`) of one `train_step` of a training mode on (images,
  labels), traced by XLA, not run. A generator mode's step is counted as its parts, so
  that its `tf.while_loop` counts g_steps times: g_steps x one update of the generators
  + one detector update on 2B rows."""
  graph_checks = model.graph_checks
  model.graph_checks = lambda: False  # no string assertions in XLA
  try:
    if hasattr(model, "generators"):
      update = function_flops(model.generator_step, images, labels)
      detector = function_flops(lambda x, y: model.detector_update(x, y, x), images, labels)
      return model.g_steps * update + detector
    return function_flops(model.train_step, (images, labels))
  finally:
    model.graph_checks = graph_checks
