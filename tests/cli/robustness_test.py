"""Tests for tools/robustness.py: saved detectors -> robustness report."""

import csv
import os
import tempfile

import pytest
import tensorflow as tf

from tests.testing import tools as utils


class RobustnessToolTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp(prefix="robustness-tool-")
    cls.data_root = utils.make_tiny_benchmark(os.path.join(cls.tmp, "data"))
    for name in ("a", "b"):
      utils.save_tiny_detector(os.path.join(cls.tmp, name, "best_detector.keras"))
    cls.common = ["--flagfile=flags/demo/common.flags", f"--image_size={utils.IMAGE_SIZE}",
                  f"--data_root={cls.data_root}", "--batch_size=16",
                  f"--detectors=Model A={cls.tmp}/a/best_detector.keras,"
                  f"{cls.tmp}/b/best_detector.keras"]

  def test_report_on_two_sets(self):
    out = os.path.join(self.tmp, "report")
    result = utils.run_binary("tools.robustness", [
        *self.common, f"--output_dir={out}", "--corruptions=jpeg,resize,fgsm",
        "--severity=jpeg:50,10", "--severity=fgsm:2", "--sets=FS c23,DF c23",
        "--max_images=16", "--kernel_size=3"])
    self.assertIn("### FS c23: jpeg (JPEG quality)", result.stdout)
    self.assertIn("### DF c23: fgsm (eps (grey levels of 255))", result.stdout)
    self.assertIn("| Detector | clean | 50 | 10 |", result.stdout)
    self.assertIn("| Model A |", result.stdout)
    self.assertIn("| b |", result.stdout)
    with open(os.path.join(out, "robustness.csv"), encoding="utf-8") as f:
      rows = list(csv.DictReader(f))
    # 2 sets x 2 detectors x (clean + 2 jpeg + 4 resize + 1 fgsm), each on all its images.
    self.assertLen(rows, 2 * 2 * 8)
    self.assertLen({(r["set"], r["n"]) for r in rows}, 2)
    for name in ("robustness.md", "robustness.png"):
      self.assertTrue(os.path.exists(os.path.join(out, name)), name)
    self.assertNotEmpty(tf.io.gfile.glob(os.path.join(out, "logs", "events.*")))

  @pytest.mark.slow
  def test_bad_flags_are_one_line_errors(self):  # ~20 s: a binary per flag
    for flag, message in (("--sets=NT c99", "'NT c99'] are not test sets of this experiment"),
                          ("--severity=jpeg", "expected NAME:V1,V2")):
      result = utils.run_binary("tools.robustness", [*self.common, flag], check=False)
      self.assertEqual(result.returncode, 1, flag)
      self.assertIn(message, result.stderr, flag)
      self.assertIn("robustness.py: error:", result.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
  tf.test.main()
