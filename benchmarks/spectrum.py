"""Fakes' fine detail relative to reals, per method, quality and frequency band.

  python benchmarks/spectrum.py                      # the built-in benchmark (written to a
                                                     # temp folder, --identities identities)
  python benchmarks/spectrum.py --data_root=/tmp/records --dataset=ffpp_sample \\
      --sizes=64,128                                 # records on disk, e.g. the real sample

The measure is `dfadv_tf.evaluation.spectrum` (grey level, resized to each --sizes, the
central half of each crop; difference-of-Gaussians bands at sigma 0.5 / 1 / 2 / 4 px and
the high-pass g - G_1 g): the printed numbers are mean band energy of a method's fakes /
that of the reals of the same split and quality (1: as much detail as reals). With the
built-in benchmark, the deviation from the real FF++ sample's ratios
(`spectrum.REAL_SAMPLE_RATIOS`, docs/benchmark.md) at the benchmark's own image size
(64 px) is printed too and --tolerance says whether every c23 band is within it.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dfadv_tf.data import synthetic  # pylint: disable=g-import-not-at-top,wrong-import-position
from dfadv_tf.evaluation import spectrum  # pylint: disable=g-import-not-at-top,wrong-import-position


def table(results, size, reference=None):
  """Markdown lines: one row per (quality, method), the band ratios at `size` (and their
  deviation from `reference` {method: ratios}, when given)."""
  head = "| quality | method | " + " | ".join(spectrum.BANDS) + " |"
  if reference:
    head += " largest deviation from the real sample |"
  lines = [head, "| --- | --- |" + " ---: |" * (len(spectrum.BANDS) + bool(reference))]
  for quality, by_method in sorted(results.items()):
    for method, by_size in sorted(by_method.items()):
      values = by_size[size]
      row = f"| {quality} | {method} | " + " | ".join(f"{v:.2f}" for v in values) + " |"
      if reference and method in reference:
        row += f" {max(abs(a - b) for a, b in zip(values, reference[method])):.2f} |"
      lines.append(row)
  return lines


def deviations(results, size, quality="c23"):
  """{method: largest |ratio - real sample's ratio|} over the bands, at `quality`."""
  reference = spectrum.REAL_SAMPLE_RATIOS.get(size, {})
  return {m: max(abs(a - b) for a, b in zip(by_size[size], reference[m]))
          for m, by_size in results.get(quality, {}).items() if m in reference}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data_root", default="", help="records root (default: write the "
                      "built-in benchmark to a temp folder)")
  parser.add_argument("--dataset", default="ffpp_demo")
  parser.add_argument("--split", default="train")
  parser.add_argument("--sizes", default="64", help="comma-separated image sizes")
  parser.add_argument("--limit", type=int, default=400,
                      help="at most this many images per method and quality (0: all)")
  parser.add_argument("--identities", type=int, default=80,
                      help="built-in benchmark: identities (70%% in train)")
  parser.add_argument("--frames", type=int, default=6, help="built-in benchmark: frames")
  parser.add_argument("--tolerance", type=float, default=0.1,
                      help="built-in benchmark: allowed deviation from the real sample")
  args = parser.parse_args(argv)
  sizes = [int(s) for s in args.sizes.split(",")]
  with tempfile.TemporaryDirectory() as temp:
    root, built_in = args.data_root, not args.data_root
    if built_in:
      root, args.dataset = temp, synthetic.DEFAULT_DATASET
      start = time.perf_counter()
      synthetic.make_demo_data(root, args.dataset, synthetic.DemoConfig(
          identities=args.identities, frames=args.frames), log=lambda _: None)
      print(f"built-in benchmark ({args.identities} identities x {args.frames} frames, "
            f"version {synthetic.VERSION}) written in {time.perf_counter() - start:.1f} s")
    results = spectrum.records_ratios(root, args.dataset, args.split, sizes,
                                      args.limit or None, log=print)
  print("\nfakes / reals, mean band energy (grey level, central half of each crop; "
        "bands: difference of Gaussian blurs at sigma 0.5 / 1 / 2 / 4 px; hp1 = image "
        f"minus its blur at sigma 1 px); split {args.split}")
  failed = []
  for size in sizes:
    # The built-in benchmark is compared at its own image size only (resampled, its bands
    # move).
    native = built_in and size == synthetic.DemoConfig().image_size
    reference = spectrum.REAL_SAMPLE_RATIOS.get(size) if native else None
    print(f"\n{size} px:")
    print("\n".join(table(results, size, reference)))
    if reference:
      worst = deviations(results, size)
      failed += [f"{m} at {size} px ({d:.2f})" for m, d in worst.items() if d > args.tolerance]
  if built_in:
    print("\nc23 within", args.tolerance, "of the real sample in every band:",
          "yes" if not failed else "NO: " + ", ".join(failed))


if __name__ == "__main__":
  main()
