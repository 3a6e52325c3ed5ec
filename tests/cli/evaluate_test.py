"""Tests for tools/evaluate.py: saved detectors -> frame and video tables."""

import json
import os
import tempfile

import tensorflow as tf

from tests.testing import tools as utils


class EvaluateToolTest(tf.test.TestCase):

  def test_two_detectors_on_the_demo_grids(self):
    tmp = tempfile.mkdtemp(prefix="evaluate-tool-")
    data_root = utils.make_tiny_benchmark(os.path.join(tmp, "data"))
    for name in ("a", "b"):
      utils.save_tiny_detector(os.path.join(tmp, name, "best_detector.keras"))
    out = os.path.join(tmp, "compare")
    result = utils.run_binary("tools.evaluate", [
        "--flagfile=flags/demo/common.flags", f"--image_size={utils.IMAGE_SIZE}",
        f"--data_root={data_root}", f"--output_dir={out}", "--batch_size=16",
        f"--detectors=Model A={tmp}/a/best_detector.keras,{tmp}/b/best_detector.keras"])
    self.assertIn("| Model A |", result.stdout)
    self.assertIn("| b |", result.stdout)  # a bare path is named after its folder
    for table in ("cross_method", "cross_quality"):
      for suffix in ("", "_video"):
        self.assertTrue(os.path.exists(os.path.join(out, "tables", f"{table}{suffix}.md")))
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
      results = json.load(f)
    self.assertEqual(sorted(results), ["Model A", "b"])
    self.assertEqual(sorted(results["b"]["cross_quality"]), ["FS c23", "FS c40", "FS raw"])
    self.assertIn("video_auc", results["b"]["cross_method"]["DF c23"])
    for key in ("acc", "acc_val", "val_threshold", "video_acc_val", "video_val_threshold"):
      self.assertIn(key, results["b"]["cross_method"]["DF c23"])
    self.assertIn("ACC@val (%)", result.stdout)
    self.assertIn("*ACC: at threshold 0.5 (the paper's). ACC@val: at the frame-level "
                  "threshold", result.stdout)
    self.assertIn("ACC@val: at the video-level threshold", result.stdout)

  def test_missing_detector_file_is_named(self):
    result = utils.run_binary("tools.evaluate", ["--detectors=/nonexistent/x.keras"],
                              check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("/nonexistent/x.keras", result.stderr)


if __name__ == "__main__":
  tf.test.main()
