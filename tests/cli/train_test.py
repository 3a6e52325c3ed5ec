"""Tests for tools/train.py: every demo flag file trains a few steps end to end."""

import glob
import json
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tests.testing import tools as utils

DEMO_FLAGS = sorted(f for f in glob.glob(os.path.join(utils.ROOT, "flags", "demo", "*.flags"))
                    if not f.endswith("common.flags"))


class TrainToolTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    import tempfile  # pylint: disable=g-import-not-at-top
    cls.tmp = tempfile.mkdtemp(prefix="train-tool-")
    cls.data_root = utils.make_tiny_benchmark(os.path.join(cls.tmp, "data"))

  def test_demo_flag_files_exist_for_every_mode(self):
    from dfadv_tf import experiment  # pylint: disable=g-import-not-at-top
    names = {os.path.basename(f)[:-len(".flags")] for f in DEMO_FLAGS}
    self.assertEqual(names, set(experiment.MODES))

  @pytest.mark.slow
  @pytest.mark.ci
  def test_every_demo_flag_file_trains_and_writes_outputs(self):
    for flagfile in DEMO_FLAGS:
      name = os.path.basename(flagfile)[:-len(".flags")]
      out = os.path.join(self.tmp, "runs", name)
      result = utils.run_binary("tools.train", [
          f"--flagfile={flagfile}", *utils.TINY_FLAGS, f"--data_root={self.data_root}",
          f"--output_dir={out}"])
      self.assertIn("Cross-method", result.stdout, name)
      self.assertIn(f"TensorBoard: tensorboard --logdir {out}/logs", result.stdout)
      for path in ("best_detector.keras", "checkpoints/epoch_001.keras",
                   "tables/cross_method.md", "tables/cross_quality.csv", "results.json",
                   "config.json"):
        self.assertTrue(os.path.exists(os.path.join(out, path)), f"{name}: {path}")
      self.assertNotEmpty(glob.glob(os.path.join(out, "logs", "train", "events.*")), name)
    # The other binaries on what training produced.
    detector = os.path.join(self.tmp, "runs", "two_gen_bat", "best_detector.keras")
    compare = os.path.join(self.tmp, "runs", "compare")
    evaluated = utils.run_binary("tools.evaluate", [
        "--flagfile=flags/demo/common.flags", *utils.TINY_FLAGS,
        f"--data_root={self.data_root}", f"--output_dir={compare}",
        f"--detectors=+ Two-Gen-BAT={detector}"])
    self.assertIn("| + Two-Gen-BAT |", evaluated.stdout)
    face = os.path.join(self.tmp, "face.png")
    cv2.imwrite(face, np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8))
    scored = json.loads(utils.run_binary("tools.detect", [f"--detector={detector}",
                                                          f"--input={face}"]).stdout)
    self.assertBetween(scored["images"][0]["fake_probability"], 0.0, 1.0)
    exported = os.path.join(self.tmp, "runs", "exported")
    utils.run_binary("tools.export", [f"--detector={detector}", f"--export_dir={exported}"])
    self.assertTrue(os.path.exists(os.path.join(exported, "saved_model.pb")))

  def test_typo_in_a_flag_is_a_clear_error(self):
    result = utils.run_binary("tools.train", ["--mode=two_gen_bat", "--g_step=2"],
                              check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("g_step", result.stderr)
    result = utils.run_binary("tools.train", ["--mode=two_gen_bats"], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("two_gen_bats", result.stderr)


if __name__ == "__main__":
  tf.test.main()
