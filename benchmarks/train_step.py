"""Benchmark of one `fit` step of every training mode, and of Two-Gen-BAT's parts.

For one backbone and batch, the median time of `model.train_function` (what `fit` runs
per batch, with the model's own jit_compile setting) for each mode, as a ratio to the
plain step. For Two-Gen-BAT also its parts run alone, each as its own `tf.function`
with the same jit setting: the `g_steps` generator updates, and the detector update
(generators' forward + blur + one detector step). `step / (sum of parts)` near 1 means
the step does no work beyond the game itself (no recomputation, no logging passes).

  python benchmarks/train_step.py [--backbone small_cnn --image_size 64 --batch 8
      --generator_width 16 --n_blocks 1 --g_steps 3 --repeats 10]
"""

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top
from dfadv_tf.training import DetectorModel  # pylint: disable=g-import-not-at-top
from dfadv_tf.training import GeneratorBATModel  # pylint: disable=g-import-not-at-top
from dfadv_tf.training import GradientATModel  # pylint: disable=g-import-not-at-top


def _modes(args):
  gen = dict(g_steps=args.g_steps, kernel_size=args.kernel_size,
             generator_kwargs=dict(width=args.generator_width, n_blocks=args.n_blocks))
  return {
      "plain": lambda d: DetectorModel(d),
      "Grad-AAT (FGSM)": lambda d: GradientATModel(d, "fgsm", {"eps": 1 / 255}),
      "Grad-AAT (PGD, 3 steps)": lambda d: GradientATModel(
          d, "pgd", {"eps": 4 / 255, "step_size": 1 / 255, "steps": 3}),
      "Grad-BAT (1 step)": lambda d: GradientATModel(
          d, "blur", {"steps": 1, "kernel_size": args.kernel_size}),
      "Grad-SAT (5 steps)": lambda d: GradientATModel(d, "spatial", {"steps": 5}),
      "Gen-BAT": lambda d: GeneratorBATModel(d, generators=1, **gen),
      "Two-Gen-BAT": lambda d: GeneratorBATModel(d, generators=2, **gen),
      "Combined AT": lambda d: GeneratorBATModel(d, generators=2, combined_fgsm_eps=1 / 255,
                                                 **gen),
  }


def _interleaved_medians(runs, repeats):
  """{name: median seconds} of the callables `runs`, run in interleaved rounds after two
  warm-up calls each, so that a change of machine load hits all of them alike."""
  for run in runs.values():
    run()
    run()
  times = {name: [] for name in runs}
  for _ in range(repeats):
    for name, run in runs.items():
      start = time.perf_counter()
      run()
      times[name].append(time.perf_counter() - start)
  return {name: float(np.median(t)) for name, t in times.items()}


def _sync(outputs):
  """Waits for the step: fetches one scalar of its outputs."""
  return float(np.asarray(tf.nest.flatten(outputs)[0]))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--backbone", default="small_cnn")
  parser.add_argument("--image_size", type=int, default=64)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--generator_width", type=int, default=16)
  parser.add_argument("--n_blocks", type=int, default=1)
  parser.add_argument("--g_steps", type=int, default=3)
  parser.add_argument("--kernel_size", type=int, default=9)
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--modes", default="", help="comma-separated subset of the modes")
  args = parser.parse_args()

  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (args.batch, args.image_size, args.image_size, 3))
  labels = np.arange(args.batch) % 2
  dataset = tf.data.Dataset.from_tensors(
      (images.astype(np.float32), labels.astype(np.int32))).repeat().prefetch(2)
  gpus = tf.config.list_physical_devices("GPU")
  device = (tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
            if gpus else f"CPU ({platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores)")
  print(f"device: {device}; TF {tf.__version__}; backbone {args.backbone} at "
        f"{args.image_size}px, batch {args.batch}; generators width "
        f"{args.generator_width}, {args.n_blocks} blocks; g_steps {args.g_steps}, "
        f"k {args.kernel_size}; median of {args.repeats}")

  modes = _modes(args)
  if args.modes:
    modes = {name: modes[name] for name in args.modes.split(",")}
  runs, models = {}, {}
  for name, make in modes.items():
    model = make(build_detector(args.backbone, args.image_size))
    model.compile()
    model.make_train_function()
    iterator = iter(dataset)
    models[name] = model
    runs[name] = (lambda f, it: lambda: _sync(f(it)))(model.train_function, iterator)
  timings = _interleaved_medians(runs, args.repeats)
  two_gen = models.get("Two-Gen-BAT")
  plain = timings.get("plain")
  print(f"{'mode':28s} {'step ms':>9s} {'/ plain':>8s}")
  for name, seconds in timings.items():
    ratio = f"{seconds / plain:8.2f}" if plain else ""
    print(f"{name:28s} {1e3 * seconds:9.1f} {ratio}")

  if two_gen is not None:
    x, y = tf.constant(images, tf.float32), tf.constant(labels, tf.int32)
    jit = two_gen.jit_compile

    @tf.function(jit_compile=jit)
    def generator_updates(x, y):
      for _ in range(two_gen.g_steps):
        two_gen.generator_step(x, y)
      return two_gen.optimizer.iterations

    @tf.function(jit_compile=jit)
    def detector_update(x, y):
      two_gen.detector_update(x, y, two_gen.detector_rows(x, y))
      return two_gen.optimizer.iterations

    iterator = iter(dataset)
    runs = {"step": lambda: _sync(two_gen.train_function(iterator)),
            f"{two_gen.g_steps} generator updates": lambda: _sync(generator_updates(x, y)),
            "detector update": lambda: _sync(detector_update(x, y))}
    medians = _interleaved_medians(runs, args.repeats)
    for name, seconds in medians.items():
      print(f"  Two-Gen-BAT {name:24s} {1e3 * seconds:9.1f} ms")
    parts = sum(seconds for name, seconds in medians.items() if name != "step")
    print(f"  Two-Gen-BAT step / sum of parts: {medians['step'] / parts:.3f} "
          "(target <= 1.05)")


if __name__ == "__main__":
  main()
