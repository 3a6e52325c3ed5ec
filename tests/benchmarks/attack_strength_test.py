"""Tests for benchmarks/attack_strength.py: balanced frames, one row per adversary with
the loss it reaches, and tau changing SAT's output."""

import keras
import numpy as np
import tensorflow as tf

from benchmarks import attack_strength
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

  def test_rows_report_the_loss_of_the_adversarial_images(self):
    images, labels = attack_strength.benchmark_frames(
        "test", ("Deepfakes",), identities=10, frames=2, image_size=32)
    keras.utils.set_random_seed(0)
    detector = build_detector("small_cnn", 32, width=4)
    results = attack_strength.attack_strength(detector, images, labels, batch_size=3)
    self.assertEqual([r["row"] for r in results], [r[0] for r in attack_strength.ROWS])
    clean = attack_strength.cross_entropy(detector, images, labels).mean()
    for r in results:
      self.assertAllClose(r["clean_ce"], clean)
      self.assertAllClose(r["adv_ce"], attack_strength.cross_entropy(
          detector, r["adversarial"], labels).mean(), atol=1e-6)
      self.assertAllClose(r["rise"], r["adv_ce"] - r["clean_ce"])
      self.assertAllClose(r["mean_abs"], np.abs(r["adversarial"] - images).mean())
    fgsm = results[0]
    self.assertGreater(fgsm["rise"], 0.0)
    self.assertAllClose(fgsm["mean_abs"], 1 / 255, rtol=0.05)  # eps in [-1, 1] units
    diffs = attack_strength.tau_differences(results)
    self.assertLen(diffs, 3)
    self.assertGreater(min(diffs.values()), 0.0)  # tau 0, 0.05 and 100 differ
    table = attack_strength.format_table(results)
    self.assertLen(table.splitlines(), 2 + len(results))


if __name__ == "__main__":
  tf.test.main()
