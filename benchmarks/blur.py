"""Benchmark of the pixel-wise Gaussian blur (paper Eq. 4-5) as a train_step calls it.

At (8, 224, 224, 3), k = 9, a 1-channel inverse-variance map, each variant runs inside a
plain (non-XLA) `tf.function`, as in a `train_step`:
  forward                 the blur alone
  fwd+bwd (map)           + the gradient w.r.t. the map only (BAT / generator path)
  fwd+bwd (both)          + the gradients w.r.t. the map and the images
and, as the yardstick measured in the same run, a fixed-weight 9 x 9 depthwise
convolution of the same tensor (forward + backward w.r.t. the images). Every time is
printed as a ratio to that convolution. The peak memory of each forward is read from
TensorFlow's allocator (`tf.config.experimental.get_memory_info`).

  python benchmarks/blur.py [--batch 8 --size 224 --kernel_size 9 --repeats 15]
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
from dfadv_tf.ops.blur import pixel_gaussian_blur  # pylint: disable=g-import-not-at-top

VARIANTS = {
    "rings (XLA kernels)": dict(method="rings", jit_compile=True),
    "rings (no XLA)": dict(method="rings", jit_compile=False),
    "patches": dict(method="patches"),
}


def _inputs(batch, size):
  rng = np.random.default_rng(0)
  images = tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32))
  inv_var = tf.constant(rng.uniform(0.05, 4.0, (batch, size, size, 1)).astype(np.float32))
  return images, inv_var


def _functions(kwargs, kernel_size):
  blur = lambda x, s: pixel_gaussian_blur(x, s, kernel_size, **kwargs)

  @tf.function
  def forward(x, s):
    return blur(x, s)

  @tf.function
  def map_grad(x, s):
    with tf.GradientTape() as tape:
      tape.watch(s)
      loss = tf.reduce_sum(tf.square(blur(x, s)))
    return tape.gradient(loss, s)

  @tf.function
  def both_grad(x, s):
    with tf.GradientTape() as tape:
      tape.watch([x, s])
      loss = tf.reduce_sum(tf.square(blur(x, s)))
    return tape.gradient(loss, [x, s])

  return {"forward": forward, "fwd+bwd (map)": map_grad, "fwd+bwd (both)": both_grad}


def _depthwise(kernel_size):
  kernel = tf.constant(np.full((kernel_size, kernel_size, 3, 1), 1.0 / kernel_size ** 2,
                               np.float32))

  @tf.function
  def conv_grad(x, s):
    del s
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")
      loss = tf.reduce_sum(tf.square(y))
    return tape.gradient(loss, x)

  return conv_grad


def _median_seconds(fn, args, repeats):
  fn(*args)  # trace / compile
  fn(*args)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    out = fn(*args)
    tf.nest.map_structure(lambda t: t.numpy(), out)
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def _peak_forward_mib(forward, images, inv_var):
  """Peak allocator memory (MiB) of one forward above what was live before it."""
  device = (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0]
  forward(images, inv_var).numpy()  # trace / compile first
  tf.config.experimental.reset_memory_stats(device.name)
  before = tf.config.experimental.get_memory_info(device.name)["current"]
  forward(images, inv_var).numpy()
  return (tf.config.experimental.get_memory_info(device.name)["peak"] - before) / 2 ** 20


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--size", type=int, default=224)
  parser.add_argument("--kernel_size", type=int, default=9)
  parser.add_argument("--repeats", type=int, default=15)
  args = parser.parse_args()

  images, inv_var = _inputs(args.batch, args.size)
  device = tf.config.list_logical_devices("GPU") or ["CPU"]
  print(f"Pixel-wise Gaussian blur at ({args.batch},{args.size},{args.size},3), "
        f"k={args.kernel_size}, 1-channel map; plain tf.function; median of "
        f"{args.repeats}. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, device {device[0] if isinstance(device[0], str) else device[0].name}; "
        f"TF {tf.__version__}.")
  baseline = _median_seconds(_depthwise(args.kernel_size), (images, inv_var), args.repeats)
  print(f"\n{'':28s} {'ms':>9s} {'x depthwise conv':>17s}")
  print(f"{'9x9 depthwise conv fwd+bwd':28s} {baseline * 1e3:9.1f} {1.0:17.2f}")
  rows = []
  for name, kwargs in VARIANTS.items():
    for part, fn in _functions(kwargs, args.kernel_size).items():
      seconds = _median_seconds(fn, (images, inv_var), args.repeats)
      rows.append((name, part, seconds))
      print(f"{name + ': ' + part:28s} {seconds * 1e3:9.1f} {seconds / baseline:17.2f}")

  print("\nPeak memory of one forward above its inputs (MiB, TF allocator):")
  kernel = tf.constant(np.ones((args.kernel_size, args.kernel_size, 3, 1), np.float32))
  conv = tf.function(lambda x, s: tf.nn.depthwise_conv2d(x, kernel, [1] * 4, "SAME"))
  print(f"  {'depthwise conv':24s} {_peak_forward_mib(conv, images, inv_var):8.1f}")
  for name, kwargs in VARIANTS.items():
    forward = _functions(kwargs, args.kernel_size)["forward"]
    print(f"  {name:24s} {_peak_forward_mib(forward, images, inv_var):8.1f}")
  print(f"  (one image batch: {images.numpy().nbytes / 2 ** 20:.1f} MiB)")

if __name__ == "__main__":
  main()
