"""Side by side with the paper's PyTorch reference code: the blur and one Two-Gen-BAT step.

The reference (GitHub ah651/deepfake_adv, which this project never copies) is imported
from a checkout the user gives, `--reference_repo`; torch comes from the optional extra
(`pip install -e ".[reference]"`). Without either the benchmark says so and exits 0.

For each thread count, one process times both sides, interleaved (rounds of reference,
ours, ...), with the same thread count (torch intra-op threads = TensorFlow intra-op
threads = n, one inter-op thread each); the medians are compared as ratios, measured in
the same run:

  blur   the pixel-wise Gaussian blur, forward + backward to the map, (8, H, W, 3), k = 9,
         a 1-channel map: the reference's `kernels.PixelGaussian` against
         `pixel_gaussian_blur`;
  step   one Two-Gen-BAT step, batch 8 = 4 real + 4 fake, EfficientNet-B0 with a 2-logit
         head, two generators of width 64 with 3 ResNet blocks, g_steps 3, k 9, RAdam
         (lr 5e-4 / 2e-3, weight decay 5e-4). Reference: its own modules
         (`efficientnet.EfficientNet`, `kernels.pixelKernelGenerator`,
         `kernels.PixelGaussian`, `radam.RAdam`) run in the order of its training loop
         (`detect_gen.py`: per generator iteration G_r on the real half, then G_f on the
         fake half, each zero_grad / forward / blur / frozen detector in eval mode / -CE /
         backward / step; then one detector step on [real, fake, blurred real, blurred
         fake] from the last iteration). Its published script does not run as shipped
         (apex, a string norm layer, pretrained files), so the step is assembled here from
         its modules; the four no-grad detector passes that its loop makes for its logs
         are left out (the reference is timed doing less than its loop). Ours:
         `GeneratorBATModel(...).train_function`, what `fit` runs per batch.
Our step runs under every `--precision` (float32, mixed_bfloat16; mixed_float16 on a
GPU) x `--jit_compile` (0, 1) combination, each against the reference's float32 step (the
reference runs float32 only on a CPU), with the achieved GFLOP/s of each side: the step's
FLOPs are counted once from our step's XLA HLO (`dfadv_tf.timing.train_step_flops`: its
convolutions and matrix products; the reference does the same arithmetic) and divided
by each side's median, beside the machine's measured peak for that precision at the
same thread count (`timing.measured_peak_gflops`: a 2048^3 matmul and a 3x3
convolution, best of 5).
The parameter counts of both sides are printed (they are equal). Also printed: the first
step of each side (ours: trace + compile + run), and our step against its parts run
alone (the g_steps generator updates; the detector update on their rows).

  python benchmarks/reference_compare.py --reference_repo=/path/to/deepfake_adv \
      [--threads=1,2 --sizes=128,224 --repeats=3 --onednn=1 --json=results.json]
      [--precision=float32,mixed_bfloat16 --jit_compile=0,1]
  python benchmarks/reference_compare.py --reference_repo=... --parity [--sizes=64]
      # numerical differences instead of timings (benchmarks/reference_parity.py)

The defaults take about 20-30 minutes on a 2-core x86_64 machine (each size and thread
count: both first steps, one warm-up and `--repeats` interleaved rounds of every timing;
our first step alone is about a minute or more). `--sizes=64 --threads=1 --repeats=1`
checks that everything runs (a few minutes).

`--onednn=1` (default) sets TF_ENABLE_ONEDNN_OPTS=1 for TensorFlow: its oneDNN CPU
kernels, which TensorFlow turns on by default only on CPUs with AVX-512 VNNI / AMX (not on
an AVX2 machine); PyTorch always uses oneDNN. `--onednn=0` leaves TensorFlow's default.
"""

import argparse
import contextlib
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks import reference_parity  # pylint: disable=g-import-not-at-top,wrong-import-position

MODULES = ("kernels.py", "efficientnet.py", "cyclegan.py", "radam/radam.py")
RESULT = "RESULT "


def _skip_reason(repo):
  if not repo:
    return "no --reference_repo given (a checkout of the reference code, never vendored)"
  missing = [m for m in MODULES if not os.path.exists(os.path.join(repo, m))]
  if missing:
    return f"--reference_repo={repo} lacks {missing}: not a checkout of the reference code"
  try:
    importlib.import_module("torch")
  except ImportError:
    return "torch is not installed (pip install -e \".[reference]\")"
  return None


# --------------------------------------------------------------------------------------
# The reference side (torch), from the reference's own modules.


def _reference(repo, size, torch):
  """{name: callable} timing the reference's blur and Two-Gen-BAT step at `size`."""
  nn = torch.nn
  sys.path.insert(0, repo)
  try:
    kernels = importlib.import_module("kernels")
    effnet = importlib.import_module("efficientnet")
    radam = importlib.import_module("radam")
  finally:
    sys.path.remove(repo)

  def cpu_for_cuda():  # PixelGaussian builds its constant weights with `.cuda()`
    return reference_parity.cpu_for_cuda(torch)

  class Detector(nn.Module):
    """EfficientNet-B0 features, global average pooling, Linear(1280, 2)."""

    def __init__(self):
      super().__init__()
      self.features = effnet.EfficientNet.from_name(
          "efficientnet-b0", override_params={"num_classes": 2, "image_size": size})
      self.fc = nn.Linear(1280, 2)

    def forward(self, x):
      return self.fc(self.features(x).mean((2, 3)))

  torch.manual_seed(0)
  detector = Detector()
  with contextlib.redirect_stdout(None):  # init_weights prints
    g_real, g_fake = [kernels.pixelKernelGenerator(n_blocks=3, radius=9, ngf=64,
                                                   norm_layer=nn.BatchNorm2d, output_nc=1)
                      for _ in range(2)]
    with cpu_for_cuda():
      gaussian = kernels.PixelGaussian(radius=9, image_size=size)
  optimizer = radam.RAdam(detector.parameters(), lr=5e-4, weight_decay=5e-4)
  optimizers = [radam.RAdam(g.parameters(), lr=2e-3, weight_decay=5e-4)
                for g in (g_real, g_fake)]
  criterion = nn.CrossEntropyLoss(reduction="none")
  gen = torch.Generator().manual_seed(0)
  x_real, x_fake = [torch.rand(4, 3, size, size, generator=gen) * 2 - 1 for _ in range(2)]
  y_real, y_fake = torch.ones(4, dtype=torch.long), torch.zeros(4, dtype=torch.long)  # real = 1

  def step():
    g_real.train()
    g_fake.train()
    detector.eval()
    for p in detector.parameters():
      p.requires_grad = False
    for _ in range(3):
      blurred = []
      for g, opt, x, y in ((g_real, optimizers[0], x_real, y_real),
                           (g_fake, optimizers[1], x_fake, y_fake)):
        opt.zero_grad()
        generation = gaussian(x, g(x))
        loss = -criterion(detector(generation), y).mean()
        loss.backward()
        opt.step()
        blurred.append(generation)
    detector.train()
    for p in detector.parameters():
      p.requires_grad = True
    optimizer.zero_grad()
    rows = torch.cat([x_real, x_fake, blurred[0].detach(), blurred[1].detach()])
    loss = criterion(detector(rows), torch.cat([y_real, y_fake, y_real, y_fake])).mean()
    loss.backward()
    optimizer.step()
    return float(loss.detach())

  images = torch.rand(8, 3, size, size, generator=gen) * 2 - 1
  with cpu_for_cuda():
    blur8 = kernels.PixelGaussian(radius=9, image_size=size)

  def blur():
    sigma = (torch.rand(8, 1, size, size, generator=gen) * 3.95 + 0.05).requires_grad_(True)
    loss = blur8(images, sigma).square().sum()
    loss.backward()
    return float(sigma.grad[0, 0, 0, 0])

  count = lambda m: sum(p.numel() for p in m.parameters())
  return {"blur": blur, "step": step}, {"detector": count(detector),
                                        "generator": count(g_real)}


# --------------------------------------------------------------------------------------
# Our side (TensorFlow).


def _ours(size, tf, policy="float32", jit_compile=False):
  """({name: callable}, parameter counts, model) of our side under the dtype `policy`,
  the step XLA-compiled or not (`jit_compile`)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top
  from dfadv_tf.ops.blur import pixel_gaussian_blur  # pylint: disable=g-import-not-at-top
  from dfadv_tf.training import GeneratorBATModel  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top

  keras.utils.set_random_seed(0)
  keras.config.set_dtype_policy(policy)
  try:
    model = GeneratorBATModel(build_detector("efficientnetb0", size), generators=2,
                              g_steps=3, kernel_size=9,
                              generator_kwargs={"width": 64, "n_blocks": 3})
  finally:
    keras.config.set_dtype_policy("float32")
  model.compile(jit_compile=jit_compile)
  model.make_train_function()
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (8, size, size, 3)).astype(np.float32)
  labels = (np.arange(8) % 2).astype(np.int32)  # real, fake, ... (balance="halves")
  iterator = iter(tf.data.Dataset.from_tensors((images, labels)).repeat())
  x, y = tf.constant(images), tf.constant(labels)
  jit = model.jit_compile

  @tf.function(jit_compile=jit, autograph=False)
  def generator_updates(x, y):
    return model.adversary_step(x, y)

  @tf.function(jit_compile=jit, autograph=False)
  def detector_update(x, y, rows):
    model.detector_update(x, y, rows)
    return model.optimizer.iterations

  rows = []  # made at the parts' first call: the step's first call traces nothing before

  def detector_part():
    if not rows:
      rows.append(generator_updates(x, y))
    return detector_update(x, y, rows[0])

  inv_var = tf.constant(rng.uniform(0.05, 4.0, (8, size, size, 1)).astype(np.float32))

  @tf.function(autograph=False)
  def blur(x, s):
    with tf.GradientTape() as tape:
      tape.watch(s)
      loss = tf.reduce_sum(tf.square(pixel_gaussian_blur(x, s, 9)))
    return tape.gradient(loss, s)

  sync = lambda out: float(np.asarray(tf.nest.flatten(out)[0]).ravel()[0])
  runs = {"blur": lambda: sync(blur(x, inv_var)),
          "step": lambda: sync(model.train_function(iterator)),
          "generator updates": lambda: sync(generator_updates(x, y)),
          "detector update": lambda: sync(detector_part())}
  count = lambda m: int(sum(np.prod(v.shape) for v in m.trainable_variables))
  return runs, {"detector": count(model.detector),
                "generator": count(model.generators[0])}, model


# --------------------------------------------------------------------------------------


def _first_call_seconds(run):
  start = time.perf_counter()
  run()
  return time.perf_counter() - start


def _interleaved(runs, repeats):
  """{name: median seconds} of `runs` in interleaved rounds (after one warm-up call)."""
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  return timing.interleaved_medians(runs, repeats, warmup=1)


def _combination(policy, jit):
  return f"{policy}{' + XLA' if jit else ''}"


def child(args):
  """One thread count, both sides in this process."""
  threads = args.threads_one
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
  if args.onednn:
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  # The reference's RAdam uses a deprecated addcmul_ overload (a warning per step).
  warnings.filterwarnings("ignore", category=UserWarning, module="radam")
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  torch.set_num_threads(threads)
  torch.set_num_interop_threads(1)
  sys.path.insert(0, ROOT)
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  combos = [(p, j) for p in args.precision for j in args.jit_compile]
  peaks = {dtype: timing.measured_peak_gflops(dtype)
           for dtype in sorted({_compute_dtype(p) for p, _ in combos} | {"float32"})}
  results = {"threads": threads, "tensorflow": tf.__version__, "torch": torch.__version__,
             "measured_peak_gflops": peaks}
  print(f"\n{threads} thread(s): measured peak (best of 5: a 2048^3 matmul / a 3x3 conv "
        "8x56x56x256->256) " + "; ".join(
            f"{dtype} {rates['matmul']:.0f} / {rates['conv']:.0f} GFLOP/s"
            for dtype, rates in peaks.items()), flush=True)
  for size in args.sizes:
    reference, ref_params = _reference(args.reference_repo, size, torch)
    first = {"reference": _first_call_seconds(reference["step"])}
    runs = {f"reference {k}": v for k, v in reference.items()}
    our_params, flops = None, None
    for policy, jit in combos:
      name = _combination(policy, jit)
      ours, our_params, model = _ours(size, tf, policy, jit)
      first[name] = _first_call_seconds(ours["step"])
      if flops is None:  # the same arithmetic under every policy: counted once
        images = tf.random.uniform((8, size, size, 3), -1, 1)
        flops = timing.train_step_flops(model, images, tf.constant([0, 1] * 4))
      if runs.get("ours blur") is None:
        runs["ours blur"] = ours["blur"]
      runs.update({f"ours {name} {k}": v for k, v in ours.items() if k != "blur"})
    medians = _interleaved(runs, args.repeats)
    ref_step = medians["reference step"]
    row = {"size": size, "params_reference": ref_params, "params_ours": our_params,
           "first_step_s": first, "median_s": medians, "step_flops": flops,
           "blur_speedup": medians["reference blur"] / medians["ours blur"],
           "combinations": {}}
    print(f"\n{threads} thread(s), {size} px: parameters reference {ref_params}, ours "
          f"{our_params}" + ("" if ref_params == our_params else "  (DIFFERENT)"))
    for name, seconds in medians.items():
      print(f"  {name:44s} {seconds * 1e3:10.1f} ms")
    print(f"  step FLOPs (XLA cost of our step's convolutions and matrix products, counted "
          f"once): {flops / 1e9:.1f} GFLOP")
    rate = lambda seconds: flops / seconds / 1e9
    f32_peak = max(peaks["float32"].values())
    print(f"  reference float32 step: {ref_step:.2f} s, {rate(ref_step):.0f} GFLOP/s "
          f"({100 * rate(ref_step) / f32_peak:.0f}% of the measured float32 peak "
          f"{f32_peak:.0f}); first step {first['reference']:.1f} s")
    for policy, jit in combos:
      name = _combination(policy, jit)
      step = medians[f"ours {name} step"]
      parts = (medians[f"ours {name} generator updates"]
               + medians[f"ours {name} detector update"])
      peak = max(peaks[_compute_dtype(policy)].values())
      combo = {"step_s": step, "speedup": ref_step / step, "gflops": rate(step),
               "peak_gflops": peak, "step_over_parts": step / parts,
               "first_step_s": first[name]}
      row["combinations"][name] = combo
      print(f"  ours {name:24s} step {step:.2f} s: {combo['speedup']:.2f}x the reference's "
            f"float32 step (target >= 2.5 best policy, >= 1.3 float32), "
            f"{combo['gflops']:.0f} GFLOP/s ({100 * combo['gflops'] / peak:.0f}% of the "
            f"measured {_compute_dtype(policy)} peak {peak:.0f}); step / parts "
            f"{combo['step_over_parts']:.3f} (<= 1.05); first step {first[name]:.1f} s "
            "(<= 15)")
    print(f"  blur fwd+bwd (map): ours {row['blur_speedup']:.1f}x faster than the "
          "reference's PixelGaussian (target >= 40)", flush=True)
    results[str(size)] = row
  print(RESULT + json.dumps(results), flush=True)


def _compute_dtype(policy):
  return {"float32": "float32", "mixed_bfloat16": "bfloat16",
          "mixed_float16": "float16"}[policy]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--reference_repo", default="",
                      help="a checkout of the reference code (ah651/deepfake_adv)")
  parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
  parser.add_argument("--sizes", default="128,224", help="comma-separated image sizes")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--onednn", type=int, default=1, choices=(0, 1),
                      help="TF_ENABLE_ONEDNN_OPTS for TensorFlow (1: oneDNN kernels)")
  parser.add_argument("--precision", default="float32,mixed_bfloat16",
                      help="comma-separated dtype policies of our side: float32, "
                           "mixed_bfloat16, mixed_float16 (GPU only)")
  parser.add_argument("--jit_compile", default="0",
                      help="comma-separated 0/1: our step XLA-compiled (1) or not (0)")
  parser.add_argument("--json", default="", help="also write the results to this file")
  parser.add_argument("--parity", action="store_true",
                      help="print the numerical differences to the reference (generator "
                      "map, blur, one detector update; benchmarks/reference_parity.py) "
                      "instead of the timings")
  parser.add_argument("--threads_one", type=int, default=0, help=argparse.SUPPRESS)
  args = parser.parse_args()
  args.sizes = [int(s) for s in args.sizes.split(",")]
  sys.path.insert(0, ROOT)
  from dfadv_tf import timing  # pylint: disable=g-import-not-at-top
  try:
    args.jit_compile = timing.parse_jit(args.jit_compile)
    args.precision = timing.parse_precisions(args.precision, gpu=_has_gpu(args.precision))
  except ValueError as error:
    parser.error(str(error))
  reason = _skip_reason(args.reference_repo)
  if reason:
    print(f"reference_compare: skipped: {reason}.")
    return
  if args.parity:
    reference_parity.run(args.reference_repo, size=args.sizes[0])
    return
  if args.threads_one:
    child(args)
    return
  print(f"Machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} "
        f"CPUs; TF_ENABLE_ONEDNN_OPTS={args.onednn}; reference at {args.reference_repo}; "
        f"median of {args.repeats} interleaved rounds.", flush=True)
  summary = []
  for threads in [int(t) for t in args.threads.split(",")]:
    command = [sys.executable, os.path.abspath(__file__), f"--threads_one={threads}",
               f"--reference_repo={args.reference_repo}", f"--repeats={args.repeats}",
               f"--sizes={','.join(map(str, args.sizes))}", f"--onednn={args.onednn}",
               f"--precision={','.join(args.precision)}",
               "--jit_compile=" + ",".join(str(int(j)) for j in args.jit_compile)]
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    for line in process.stdout.splitlines():
      if line.startswith(RESULT):
        summary.append(json.loads(line[len(RESULT):]))
      else:
        print(line)
  if summary:
    print(f"TensorFlow {summary[0]['tensorflow']}, torch {summary[0]['torch']}")
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump({"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                 "cpus": os.cpu_count(), "onednn": args.onednn, "repeats": args.repeats,
                 "results": summary}, f, indent=1)
  print("\n| threads | px | ours | reference step s | ours step s | speed-up | GFLOP/s ref "
        "/ ours | % of measured peak | step / parts | first step ref / ours s | blur "
        "speed-up | parameters equal |")
  print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
  for result in summary:
    for size in args.sizes:
      row = result[str(size)]
      ref = row["median_s"]["reference step"]
      for name, combo in row["combinations"].items():
        print(f"| {result['threads']} | {size} | {name} | {ref:.2f} | {combo['step_s']:.2f} | "
              f"{combo['speedup']:.2f} | {row['step_flops'] / ref / 1e9:.0f} / "
              f"{combo['gflops']:.0f} | {100 * combo['gflops'] / combo['peak_gflops']:.0f} | "
              f"{combo['step_over_parts']:.3f} | {row['first_step_s']['reference']:.1f} / "
              f"{combo['first_step_s']:.1f} | {row['blur_speedup']:.1f} | "
              f"{row['params_reference'] == row['params_ours']} |")


def _has_gpu(precision):
  """Whether TensorFlow sees a GPU (asked only when mixed_float16 is requested: importing
  TensorFlow takes seconds)."""
  if "mixed_float16" not in precision:
    return False
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return bool(tf.config.list_physical_devices("GPU"))


if __name__ == "__main__":
  main()
