"""Forward + backward of convolutions and of a backbone with and without XLA, on this
machine: why `--jit_compile` is off on a CPU.

Each row is a `tf.function` computing the gradients of sum(f(x)^2) with respect to the
layer's weights and its input, traced once without XLA and once with `jit_compile=True`,
timed in interleaved rounds (median) after one warm-up call; the first call (tracing +
compilation + run) is printed too. The ratio is XLA's time over TensorFlow's.

  python benchmarks/xla_cpu.py                                 # 1 thread, 64 px layers
  python benchmarks/xla_cpu.py --threads=2 --backbones=efficientnetb0:128,mobilenet025:128
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LAYERS = ("depthwise3x3", "conv3x3", "conv1x1")


def _layer(name, keras, channels):
  if name == "depthwise3x3":
    return keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)
  if name == "conv3x3":
    return keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)
  return keras.layers.Conv2D(channels, 1, use_bias=False)


def _gradients(model, tf):
  def fn(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      out = tf.cast(model(x, training=True), tf.float32)
      loss = tf.reduce_sum(tf.square(out))
    return tape.gradient(loss, model.trainable_variables + [x])
  return fn


def _backbone(spec):
  name, _, size = spec.partition(":")
  if not size.isdigit():
    raise ValueError(f"--backbones: {spec!r} is not NAME:SIZE (e.g. efficientnetb0:128)")
  return name, int(size)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--threads", type=int, default=1)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--size", type=int, default=64, help="the layers' image size")
  parser.add_argument("--channels", type=int, default=32, help="the layers' channels")
  parser.add_argument("--backbones", default="efficientnetb0:128",
                      help="comma-separated NAME:SIZE detectors (build_detector), or ''")
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  try:
    backbones = [_backbone(s) for s in args.backbones.split(",") if s]
  except ValueError as e:
    parser.error(str(e))
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import keras  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  from dfadv_tf.models import backbones as backbones_lib  # pylint: disable=g-import-not-at-top
  unknown = [name for name, _ in backbones if name not in backbones_lib.BACKBONES]
  if unknown:
    parser.error(f"--backbones: unknown backbone {unknown[0]!r}; expected one of "
                 f"{', '.join(sorted(backbones_lib.BACKBONES))}")
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  tf.get_logger().setLevel("ERROR")  # each case traces its own functions, by design
  keras.utils.set_random_seed(0)
  rng = np.random.default_rng(0)

  cases = []
  for name in LAYERS:
    x = tf.constant(rng.uniform(-1, 1, (args.batch, args.size, args.size, args.channels)),
                    tf.float32)
    layer = _layer(name, keras, args.channels)
    layer(x)
    cases.append((f"{name}, {args.channels} ch, {args.size} px", layer, x))
  for name, size in backbones:
    x = tf.constant(rng.uniform(-1, 1, (args.batch, size, size, 3)), tf.float32)
    cases.append((f"{name} detector, {size} px", backbones_lib.build_detector(name, size), x))

  devices = sorted({d.device_type for d in tf.config.list_physical_devices()})
  print(f"batch {args.batch}, {args.threads} thread(s), devices {devices}; forward + "
        f"backward (weights and input), median of {args.repeats} interleaved rounds")
  print("| case | first call ms (TF / XLA) | step ms TF | step ms XLA | XLA / TF |")
  print("| --- | --- | ---: | ---: | ---: |")
  for label, model, x in cases:
    fn = _gradients(model, tf)
    calls = {jit: tf.function(fn, jit_compile=jit, autograph=False) for jit in (False, True)}
    sync = lambda out: float(np.asarray(out[0]).ravel()[0])
    first = {}
    for jit, call in calls.items():
      start = time.perf_counter()
      sync(call(x))
      first[jit] = time.perf_counter() - start
    medians = timing.interleaved_medians(
        {jit: (lambda c=call: sync(c(x))) for jit, call in calls.items()}, args.repeats,
        warmup=0)
    print(f"| {label} | {first[False] * 1e3:.0f} / {first[True] * 1e3:.0f} | "
          f"{medians[False] * 1e3:.1f} | {medians[True] * 1e3:.1f} | "
          f"{medians[True] / medians[False]:.1f}x |", flush=True)


if __name__ == "__main__":
  main()
