"""The prepared GPU check: one script, a few minutes on one GPU.

  1. step   one Two-Gen-BAT `fit` step (`model.train_function`), EfficientNet-B5 at
            256 px, batch 32 (16 real + 16 fake), generators width 64 with 3 blocks,
            g_steps 3, k 9, RAdam: float32 vs mixed_float16, each without and with XLA
            (`compile(jit_compile=False / True)`); each of the four in a fresh process:
            median step ms, images/s, first call (trace + compile + run) and the GPU's
            peak memory (`tf.config.experimental.get_memory_info`).
  2. blur   `benchmarks/blur.py` at (batch, size): the pixel-wise blur forward + backward
            against a fixed depthwise convolution of the same tensor, in the same run.
  3. input  `benchmarks/input_pipeline.py` at (size, batch): images/s of the input
            pipeline, set beside the fastest Two-Gen-BAT step of part 1 (target: the
            pipeline >= 3x what the step consumes).

  python benchmarks/gpu_check.py [--json=gpu.json]          # on a machine with a GPU

Without a GPU it skips, saying so, and exits 0, unless `--allow_cpu=1` (to check the
script itself at a tiny setting, e.g. `--allow_cpu=1 --backbone=small_cnn --image_size=32
--batch=4 --generator_width=4 --n_blocks=1 --repeats=1`). A configuration that fails
(e.g. out of memory) is reported as failed and the others still run.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
RESULT = "RESULT "
CONFIGS = [("float32", False), ("float32", True), ("mixed_float16", False),
           ("mixed_float16", True)]


def _env():
  path = [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
  # TF_CPU_ALLOCATOR_USE_BFC: allocator statistics (blur.py's peak memory) on a CPU too.
  return dict(os.environ, PYTHONPATH=os.pathsep.join(path),
              TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
              TF_CPU_ALLOCATOR_USE_BFC="true")


def _device(tf):
  gpus = tf.config.list_physical_devices("GPU")
  if not gpus:
    return None
  return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")


def step_one(args, policy, jit):
  """One (policy, XLA) configuration of the Two-Gen-BAT step, in this fresh process."""
  import keras  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, ROOT)
  from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top
  from dfadv_tf.training import GeneratorBATModel  # pylint: disable=g-import-not-at-top
  keras.mixed_precision.set_global_policy(policy)
  keras.utils.set_random_seed(0)
  model = GeneratorBATModel(build_detector(args.backbone, args.image_size), generators=2,
                            g_steps=args.g_steps, kernel_size=args.kernel_size,
                            generator_kwargs={"width": args.generator_width,
                                              "n_blocks": args.n_blocks})
  model.compile(jit_compile=jit)
  model.make_train_function()
  rng = np.random.default_rng(0)
  size = args.image_size
  images = rng.uniform(-1, 1, (args.batch, size, size, 3)).astype(np.float32)
  labels = (np.arange(args.batch) % 2).astype(np.int32)  # real, fake, ... ("halves")
  iterator = iter(tf.data.Dataset.from_tensors((images, labels)).repeat().prefetch(2))
  sync = lambda out: float(np.asarray(tf.nest.flatten(out)[0]).ravel()[0])
  start = time.perf_counter()
  sync(model.train_function(iterator))
  first = time.perf_counter() - start
  sync(model.train_function(iterator))
  gpu = bool(tf.config.list_physical_devices("GPU"))
  if gpu:
    tf.config.experimental.reset_memory_stats("GPU:0")
  times = []
  for _ in range(args.repeats):
    start = time.perf_counter()
    sync(model.train_function(iterator))
    times.append(time.perf_counter() - start)
  step = float(np.median(times))
  result = {"policy": policy, "xla": jit, "device": _device(tf) or "CPU",
            "step_s": step, "images_per_s": args.batch / step, "first_call_s": first,
            "peak_mib": (tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
                         if gpu else None)}
  print(RESULT + json.dumps(result), flush=True)


def _run(command, timeout):
  """(returncode, stdout lines) of a child, or (None, [why]) past `timeout` s."""
  try:
    process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=_env(), cwd=ROOT, timeout=timeout, check=False)
  except subprocess.TimeoutExpired:
    return None, [f"timed out after {timeout} s"]
  return process.returncode, process.stdout.splitlines()


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--backbone", default="efficientnetb5")
  parser.add_argument("--image_size", type=int, default=256)
  parser.add_argument("--batch", type=int, default=32)
  parser.add_argument("--generator_width", type=int, default=64)
  parser.add_argument("--n_blocks", type=int, default=3)
  parser.add_argument("--g_steps", type=int, default=3)
  parser.add_argument("--kernel_size", type=int, default=9)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--parts", default="step,blur,input",
                      help="comma-separated subset of step, blur, input")
  parser.add_argument("--timeout_s", type=int, default=300, help="per child process")
  parser.add_argument("--allow_cpu", type=int, default=0, choices=(0, 1))
  parser.add_argument("--json", default="", help="also write the results to this file")
  parser.add_argument("--step_one", default="", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.step_one:
    policy, jit = args.step_one.split(":")
    return step_one(args, policy, jit == "1")

  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  device = _device(tf)
  if device is None and not args.allow_cpu:
    print("gpu_check: skipped: TensorFlow sees no GPU (--allow_cpu=1 runs it on the CPU, "
          "to check the script at a tiny setting).")
    return None
  parts = set(args.parts.split(","))
  print(f"gpu_check on {device or 'CPU'}; TF {tf.__version__}; {args.backbone} at "
        f"{args.image_size} px, batch {args.batch}; generators width "
        f"{args.generator_width}, {args.n_blocks} blocks; g_steps {args.g_steps}, "
        f"k {args.kernel_size}; median of {args.repeats}", flush=True)
  common = [f"--backbone={args.backbone}", f"--image_size={args.image_size}",
            f"--batch={args.batch}", f"--generator_width={args.generator_width}",
            f"--n_blocks={args.n_blocks}", f"--g_steps={args.g_steps}",
            f"--kernel_size={args.kernel_size}", f"--repeats={args.repeats}"]
  report = {"device": device or "CPU", "steps": [], "blur": [], "input": []}

  if "step" in parts:
    print("\n| policy | XLA | step ms | images/s | first call s | peak GPU MiB |\n"
          "| --- | --- | ---: | ---: | ---: | ---: |", flush=True)
    for policy, jit in CONFIGS:
      code, lines = _run([sys.executable, os.path.abspath(__file__),
                          f"--step_one={policy}:{int(jit)}", *common], args.timeout_s)
      results = [json.loads(l[len(RESULT):]) for l in lines if l.startswith(RESULT)]
      if code != 0 or not results:
        errors = [l for l in lines if "Error" in l or "error:" in l or "unsupported" in l]
        why = ((errors or lines)[-1].strip() if lines else f"exit {code}")[:200]
        print(f"| {policy} | {jit} | failed: {why} | | | |", flush=True)
        report["steps"].append({"policy": policy, "xla": jit, "failed": why})
        continue
      r = results[0]
      peak = "" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}"
      print(f"| {policy} | {jit} | {1e3 * r['step_s']:.1f} | {r['images_per_s']:.1f} | "
            f"{r['first_call_s']:.1f} | {peak} |", flush=True)
      report["steps"].append(r)

  if "blur" in parts:
    print(f"\nblur: benchmarks/blur.py --batch={args.batch} --size={args.image_size}",
          flush=True)
    _, lines = _run([sys.executable, os.path.join(HERE, "blur.py"), f"--batch={args.batch}",
                     f"--size={args.image_size}", f"--kernel_size={args.kernel_size}",
                     f"--repeats={max(args.repeats, 3)}"], args.timeout_s)
    print("\n".join(lines), flush=True)
    report["blur"] = lines

  if "input" in parts:
    print(f"\ninput pipeline: benchmarks/input_pipeline.py --image_size={args.image_size} "
          f"--batch_size={args.batch}", flush=True)
    _, lines = _run([sys.executable, os.path.join(HERE, "input_pipeline.py"),
                     f"--image_size={args.image_size}", f"--batch_size={args.batch}",
                     f"--detector={args.backbone}", "--detector_steps=1"], args.timeout_s)
    print("\n".join(lines), flush=True)
    report["input"] = lines
    rates = [float(l.split()[2]) for l in lines if l.startswith("input pipeline")]
    steps = [r for r in report["steps"] if "images_per_s" in r]
    if rates and steps:
      best = max(steps, key=lambda r: r["images_per_s"])
      print(f"input pipeline / fastest Two-Gen-BAT step ({best['policy']}, XLA "
            f"{best['xla']}): {rates[0]:.1f} / {best['images_per_s']:.1f} images/s = "
            f"{rates[0] / best['images_per_s']:.1f}x (target >= 3x)", flush=True)

  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump(report, f, indent=1)
  return None


if __name__ == "__main__":
  main()
