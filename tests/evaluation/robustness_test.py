"""Tests for dfadv_tf.evaluation.robustness: the sweep, its tables, plot and TensorBoard."""

import csv
import glob
import io
import os

import numpy as np
import tensorflow as tf

from dfadv_tf.evaluation import corruptions
from dfadv_tf.evaluation import grid
from dfadv_tf.evaluation import metrics
from dfadv_tf.evaluation import robustness
from tests.testing.data import tiny_arrays
from tests.testing.models import tiny_detector

SWEEP = [(corruptions.get("jpeg"), (50, 10)), (corruptions.get("noise"), (8.0,)),
         (corruptions.get("fgsm"), (1.0, 4.0))]


def dataset():
  images, labels = tiny_arrays(24)
  return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels}).batch(10)


class RobustnessTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.detectors = {"A": tiny_detector(seed=0), "B + x": tiny_detector(seed=1)}
    cls.rows = robustness.robustness_sweep(cls.detectors, dataset(), SWEEP, seed=3,
                                           set_name="FS c23")

  def row(self, corruption, severity, detector):
    (row,) = [r for r in self.rows if (r["corruption"], r["severity"], r["detector"]) ==
              (corruption, severity, detector)]
    return row

  def test_rows_are_the_metrics_of_the_corrupted_images(self):
    self.assertLen(self.rows, 2 * (1 + 2 + 1 + 2))
    images, labels = tiny_arrays(24)
    detector = self.detectors["A"]
    clean = metrics.frame_metrics(labels, grid.fake_probability(detector, images))
    self.assertAllClose(self.row("clean", "", "A")["auc"], clean["auc"])
    self.assertEqual(self.row("clean", "", "A")["n"], 24)
    jpeg = corruptions.get("jpeg").apply(tf.constant(images), 10, seed=None)
    expected = metrics.frame_metrics(labels, grid.fake_probability(detector, jpeg))
    got = self.row("jpeg", 10, "A")
    self.assertAllClose([got["auc"], got["acc"]], [expected["auc"], expected["acc"]],
                        atol=1e-6)
    self.assertEqual((got["level"], got["unit"], got["set"]), (2, "JPEG quality", "FS c23"))
    # White box: each detector is attacked itself, and FGSM lowers the true-class scores.
    for name in self.detectors:
      self.assertLess(self.row("fgsm", 4.0, name)["auc"], self.row("clean", "", name)["auc"])

  def test_same_seed_same_rows_other_seed_other_noise(self):
    again = robustness.robustness_sweep(self.detectors, dataset(), SWEEP, seed=3,
                                        set_name="FS c23")
    self.assertEqual(again, self.rows)
    other = robustness.robustness_sweep(self.detectors, dataset(), SWEEP[1:2], seed=4)
    noise = [r for r in other if r["corruption"] == "noise"]
    self.assertNotEqual([r["auc"] for r in noise],
                        [self.row("noise", 8.0, n)["auc"] for n in self.detectors])

  def test_report_files_and_tensorboard(self):
    out = self.get_temp_dir()
    logdir = os.path.join(out, "logs")
    markdown = robustness.write_report(self.rows, out, logdir=logdir)
    self.assertIn("### FS c23: jpeg (JPEG quality)", markdown)
    self.assertIn("| Detector | clean | 50 | 10 |", markdown)
    a = self.row("jpeg", 50, "A")
    self.assertIn(f"| {100 * a['auc']:.1f} / {100 * a['acc']:.1f} |", markdown)
    with open(os.path.join(out, "robustness.csv"), encoding="utf-8") as f:
      rows = list(csv.DictReader(f))
    self.assertLen(rows, len(self.rows))
    self.assertEqual(rows[0].keys(), set(robustness.FIELDS))
    with open(os.path.join(out, "robustness.png"), "rb") as f:
      image = tf.io.decode_png(f.read()).numpy()
    self.assertGreater(image.shape[1], 800)  # three panels side by side
    self.assertGreater(np.std(image), 10)  # something is drawn
    tags = {}
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
      for event in tf.compat.v1.train.summary_iterator(path):
        for value in event.summary.value:
          tags.setdefault(value.tag, []).append(event.step)
    self.assertEqual(sorted(tags["robustness/FS_c23/jpeg/B_x/auc"]), [0, 1, 2])
    self.assertIn("robustness/FS_c23/fgsm/A/acc", tags)
    self.assertIn("robustness_tables", tags)
    self.assertIn("robustness_plot", tags)
    self.assertEmpty(glob.glob(os.path.join(out, ".tmp-*")))

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "at least one detector"):
      robustness.robustness_sweep({}, dataset(), SWEEP)
    with self.assertRaisesRegex(ValueError, "'empty' is empty"):
      robustness.robustness_sweep(self.detectors, dataset().take(0), SWEEP, set_name="empty")
    with self.assertRaisesRegex(ValueError, "nothing to plot"):
      robustness.plot_png([r for r in self.rows if r["corruption"] == "clean"])


if __name__ == "__main__":
  tf.test.main()
