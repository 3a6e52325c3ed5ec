"""Tests for benchmarks/attack_strength.py: balanced frames, one row per adversary with
the loss it reaches, and tau changing SAT's output."""

import keras
import numpy as np
import tensorflow as tf

from benchmarks import attack_strength
from dfadv_tf.attacks import registry
from dfadv_tf.models.backbones import build_detector


class AttackStrengthTest(tf.test.TestCase):

  def test_frames_are_balanced_either_way(self):
    for repeat_real in (True, False):
      images, labels = attack_strength.benchmark_frames(
          "test", ("Deepfakes", "FaceSwap"), identities=10, frames=2, image_size=32,
          repeat_real=repeat_real)
      self.assertEqual(images.shape[1:], (32, 32, 3))
      self.assertBetween(images.min(), -1.0, 1.0)
      self.assertBetween(images.max(), -1.0, 1.0)
      self.assertEqual((labels == 0).sum(), (labels == 1).sum())
      self.assertGreater(len(labels), 0)

  def test_rows_cover_every_adversary_and_three_taus(self):
    self.assertEqual({adversary for _, adversary, _ in attack_strength.ROWS},
                     set(registry.ADVERSARIES))
    taus = sorted(values.get("sat_tau", registry.get("sat").defaults()["tau"])
                  for _, adversary, values in attack_strength.ROWS if adversary == "sat")
    self.assertEqual(taus, [0.0, 0.05, 100.0])

  def test_rows_report_the_loss_of_the_adversarial_images(self):
    images, labels = attack_strength.benchmark_frames(
        "test", ("Deepfakes",), identities=10, frames=2, image_size=32)
    keras.utils.set_random_seed(0)
    detector = build_detector("small_cnn", 32, width=4)
    rows = (("FGSM", "fgsm", {}), ("Grad-SAT tau=0", "sat", {"sat_tau": 0.0}),
            ("Grad-SAT tau=100", "sat", {"sat_tau": 100.0}))
    results = attack_strength.attack_strength(detector, images, labels, rows, batch_size=3)
    self.assertEqual([r["row"] for r in results], [r[0] for r in rows])
    clean = attack_strength.cross_entropy(detector, images, labels).mean()
    for r in results:
      self.assertAllClose(r["clean_ce"], clean)
      self.assertAllClose(r["adv_ce"], attack_strength.cross_entropy(
          detector, r["adversarial"], labels).mean(), atol=1e-6)
      self.assertAllClose(r["rise"], r["adv_ce"] - r["clean_ce"])
      self.assertAllClose(r["mean_abs"], np.abs(r["adversarial"] - images).mean())
    for r in results[1:]:  # SAT keeps each image's best iterate
      self.assertGreaterEqual(r["rise"], -1e-6)
    self.assertGreater(results[0]["rise"], 0.0)
    self.assertAllClose(results[0]["mean_abs"], 1 / 255, rtol=0.05)  # 0.5 grey levels
    [diff] = attack_strength.tau_differences(results).values()
    self.assertGreater(diff, 0.0)  # tau changes SAT's output
    self.assertLen(attack_strength.format_table(results).splitlines(), 2 + len(rows))

if __name__ == "__main__":
  tf.test.main()
