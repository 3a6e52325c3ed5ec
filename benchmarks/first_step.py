"""Where a training mode's first step goes: tracing, the first call (graph optimisation,
XLA compilation of the blur kernels, first run) and the steady step.

`tf.function(model.train_step)`: `get_concrete_function` is the tracing; the first call
is Grappler's optimisation + XLA compilation + the first run; the steady step is the
best of two more calls. `--grappler=0` turns Grappler off (`disable_meta_optimizer`),
`--blur_jit=0` runs the blur kernels without XLA, to measure their shares.

  python benchmarks/first_step.py                          # small_cnn, 32 px, seconds
  python benchmarks/first_step.py --backbone=efficientnetb0 --size=64 --width=64 \\
      --blocks=3 --g_steps=3                               # the paper's setting at 64 px
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from dfadv_tf.experiment import modes  # pylint: disable=g-import-not-at-top,wrong-import-position


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--mode", default="two_gen_bat", choices=modes.MODES.names(),
                      help="a training mode (dfadv-train --mode), built by its registered "
                      "factory")
  parser.add_argument("--backbone", default="small_cnn")
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--width", type=int, default=4, help="generator width")
  parser.add_argument("--blocks", type=int, default=1, help="generator ResNet blocks")
  parser.add_argument("--g_steps", type=int, default=2)
  parser.add_argument("--threads", type=int, default=1)
  parser.add_argument("--precision", default="float32",
                      choices=("float32", "mixed_bfloat16", "mixed_float16"))
  parser.add_argument("--grappler", type=int, default=1, choices=(0, 1))
  parser.add_argument("--blur_jit", type=int, default=1, choices=(0, 1))
  args = parser.parse_args()
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  if not args.grappler:
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
  from dfadv_tf.ops import blur  # pylint: disable=g-import-not-at-top
  if not args.blur_jit:
    kernels = blur._rings_kernels  # pylint: disable=protected-access
    blur._rings_kernels = lambda k, jit: kernels(k, False)  # pylint: disable=protected-access
  from dfadv_tf.experiment import ExperimentConfig  # pylint: disable=g-import-not-at-top
  from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top

  keras.utils.set_random_seed(0)
  keras.config.set_dtype_policy(args.precision)
  detector = build_detector(args.backbone, args.size)
  config = ExperimentConfig(backbone=args.backbone, image_size=args.size,
                            g_steps=args.g_steps, kernel_size=9,
                            generator_width=args.width, generator_blocks=args.blocks,
                            generator_max_sigma=10.0)  # App. D's low floor: no clamp-bound
  model = modes.get(args.mode).build(config, detector)
  start = time.perf_counter()
  model.compile()
  built = time.perf_counter() - start
  images = tf.random.uniform((args.batch, args.size, args.size, 3), -1, 1)
  labels = tf.constant([0, 1] * (args.batch // 2))
  step = tf.function(model.train_step)
  start = time.perf_counter()
  graph = step.get_concrete_function((images, labels)).graph
  traced = time.perf_counter() - start
  start = time.perf_counter()
  step((images, labels))
  first = time.perf_counter() - start
  steady = float("inf")
  for _ in range(2):
    start = time.perf_counter()
    step((images, labels))
    steady = min(steady, time.perf_counter() - start)
  print(f"{args.mode}, {args.backbone} {args.size} px, batch {args.batch}, {args.precision}, "
        f"{args.threads} thread(s), grappler {args.grappler}, blur XLA {args.blur_jit}: "
        f"compile (optimizer slots) {built:.2f} s; tracing {traced:.2f} s "
        f"({len(graph.as_graph_def().node)} nodes); first call {first:.2f} s; steady "
        f"{steady:.2f} s; first step {traced + first:.2f} s (target <= 15 at 128 px)")


if __name__ == "__main__":
  main()
