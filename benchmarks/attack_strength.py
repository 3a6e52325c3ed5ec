"""How much each training adversary raises a trained detector's loss, at its defaults.

Trains a `small_cnn` detector for a few epochs on the built-in benchmark (frames
rendered in memory by `dfadv_tf.data.synthetic`, raw quality, real against the fakes of
`--methods`, default all four, real frames repeated to balance the classes; trained on
NeuralTextures alone, a small_cnn is still at chance after a few epochs), then attacks
its test frames (every real frame and as many fakes) with every adversary of the
registry at its training defaults (the values `dfadv-train` uses: FGSM Grad-AAT, PGD,
Grad-BAT, Grad-SAT) and with SAT at tau = 0, 0.05 and 100. Each image is attacked with
its own loss (`registry.crafters`: sum reduction), so the numbers do not depend on
`--batch`. Prints, per adversary: the clean and adversarial cross-entropy (mean over
the test frames), the rise, and mean |x_adv - x| in [-1, 1] units; then the largest
difference between SAT's outputs at the tau values (0 would mean tau has no effect).

  python benchmarks/attack_strength.py [--identities 120 --frames 4 --image_size 64
                                        --epochs 4 --train_batch 16 --methods ...]
"""

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dfadv_tf.attacks import registry  # pylint: disable=g-import-not-at-top
from dfadv_tf.data import synthetic  # pylint: disable=g-import-not-at-top
from dfadv_tf.data.datasets import FFPP_REAL  # pylint: disable=g-import-not-at-top
from dfadv_tf.models.backbones import build_detector  # pylint: disable=g-import-not-at-top

# (row, adversary, {flag: value} over its training defaults)
ROWS = (
    ("FGSM (Grad-AAT)", "fgsm", {}),
    ("PGD", "pgd", {}),
    ("Grad-BAT", "bat", {}),
    ("Grad-SAT tau=0", "sat", {"sat_tau": 0.0}),
    ("Grad-SAT tau=0.05 (default)", "sat", {}),
    ("Grad-SAT tau=100", "sat", {"sat_tau": 100.0}),
)


def benchmark_frames(split, methods, identities=120, frames=4, image_size=64, seed=0,
                     repeat_real=True):
  """Frames of `split` of the built-in benchmark (raw): (images (N, S, S, 3) float32 in
  [-1, 1], labels (N,) int32, fake = 1), the classes balanced: the real videos repeated
  to as many frames as the fakes of `methods` (as the reference trains), or with
  `repeat_real=False` every real frame once and as many fakes, taken evenly."""
  config = synthetic.DemoConfig(identities=identities, frames=frames,
                                image_size=image_size, seed=seed)
  videos = synthetic.render_split(config, synthetic.split_identities(config)[split])
  real = [f for _, fs, _ in videos[FFPP_REAL] for f in fs]
  fake = [f for m in methods for _, fs, _ in videos[m] for f in fs]
  if repeat_real:
    real = real * len(methods)
  else:
    fake = fake[::len(methods)][:len(real)]
  images = np.stack(real + fake).astype(np.float32) / 127.5 - 1.0
  labels = np.array([0] * len(real) + [1] * len(fake), np.int32)
  return images, labels


def train_detector(images, labels, image_size=64, epochs=4, batch_size=16, seed=0):
  """A `small_cnn` detector trained with Adam (lr 1e-3) on shuffled (images, labels)."""
  keras.utils.set_random_seed(seed)
  detector = build_detector("small_cnn", image_size, width=32)
  detector.compile(optimizer=keras.optimizers.Adam(1e-3),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  detector.fit(images, labels, batch_size=batch_size, epochs=epochs, shuffle=True,
               verbose=0)
  return detector


def cross_entropy(detector, images, labels, batch_size=64):
  """Per-image softmax cross-entropy of the true labels, (N,) float64."""
  logits = detector.predict(images, batch_size=batch_size, verbose=0)
  return keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(
      labels, logits, from_logits=True)).astype(np.float64)


def craft(fn, detector, images, labels, batch_size=64):
  """`fn(detector, x, y)` over `images` in batches of `batch_size`, (N, S, S, 3)."""
  fn = tf.function(fn)
  out = [fn(detector, tf.constant(images[i:i + batch_size]),
            tf.constant(labels[i:i + batch_size]))
         for i in range(0, len(images), batch_size)]
  return np.concatenate([x.numpy() for x in out])


def attack_strength(detector, images, labels, rows=ROWS, batch_size=64):
  """[{row, clean_ce, adv_ce, rise, mean_abs, adversarial}] of every row of `rows`:
  (name, adversary, {flag: value}), the adversary at its defaults but for those flags."""
  clean = cross_entropy(detector, images, labels).mean()
  results = []
  for name, adversary, values in rows:
    [(_, _, fn)] = registry.crafters([adversary], values)
    adv = craft(lambda m, x, y, fn=fn: fn(m, x, y), detector, images, labels, batch_size)
    adv_ce = cross_entropy(detector, adv, labels).mean()
    results.append(dict(row=name, clean_ce=clean, adv_ce=adv_ce, rise=adv_ce - clean,
                        mean_abs=float(np.abs(adv - images).mean()), adversarial=adv))
  return results


def format_table(results):
  """The results as a Markdown table (CE in nats, |x_adv - x| in [-1, 1] units)."""
  lines = ["| adversary (training defaults) | clean CE | adversarial CE | rise | "
           "mean abs(x_adv - x) |", "| --- | ---: | ---: | ---: | ---: |"]
  lines += [f"| {r['row']} | {r['clean_ce']:.4f} | {r['adv_ce']:.4f} | {r['rise']:+.4f} | "
            f"{r['mean_abs']:.2e} |" for r in results]
  return "\n".join(lines)


def tau_differences(results):
  """{(row a, row b): max |x_a - x_b|} over the pairs of SAT rows."""
  sat = [r for r in results if r["row"].startswith("Grad-SAT")]
  return {(a["row"], b["row"]): float(np.abs(a["adversarial"] - b["adversarial"]).max())
          for i, a in enumerate(sat) for b in sat[i + 1:]}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--identities", type=int, default=120)
  parser.add_argument("--frames", type=int, default=4)
  parser.add_argument("--image_size", type=int, default=64)
  parser.add_argument("--epochs", type=int, default=4)
  parser.add_argument("--train_batch", type=int, default=16)
  parser.add_argument("--methods", default=",".join(synthetic.FAKE_METHODS),
                      help="Comma-separated fake methods to train and test on.")
  parser.add_argument("--batch", type=int, default=64, help="Attack batch size.")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  methods = args.methods.split(",")
  start = time.time()
  train = benchmark_frames("train", methods, args.identities, args.frames,
                           args.image_size, args.seed)
  test = benchmark_frames("test", methods, args.identities, args.frames,
                          args.image_size, args.seed, repeat_real=False)
  detector = train_detector(*train, image_size=args.image_size, epochs=args.epochs,
                            batch_size=args.train_batch, seed=args.seed)
  accuracy = float((np.argmax(detector.predict(test[0], verbose=0), -1) == test[1]).mean())
  results = attack_strength(detector, *test, batch_size=args.batch)
  print(f"small_cnn (width 32) trained {args.epochs} epochs on {len(train[1])} frames "
        f"({'+'.join(methods)} vs real, raw, {args.image_size} px); {len(test[1])} test "
        f"frames, clean accuracy {accuracy:.3f}")
  print(format_table(results))
  for (a, b), diff in tau_differences(results).items():
    print(f"max |x_sat({a[9:]}) - x_sat({b[9:]})| = {diff:.2e}")
  print(f"{platform.machine()}, {os.cpu_count()} CPU cores, TF {tf.__version__}, "
        f"{time.time() - start:.0f} s")


if __name__ == "__main__":
  main()
