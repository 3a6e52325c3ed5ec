"""Tests for tools/evaluate.py: saved detectors -> frame and video tables."""

import json
import os
import tempfile

import cv2
import numpy as np
import tensorflow as tf

from tests.testing import tools as utils


def write_labelled_images(folder, count=4, size=40):
  """`count` real (smooth) and `count` fake (noisy) PNGs under folder/real and
  folder/fake."""
  rng = np.random.default_rng(0)
  for top in ("real", "fake"):
    os.makedirs(os.path.join(folder, top))
    for n in range(count):
      image = np.full((size, size, 3), 60 + 20 * n, np.uint8)
      if top == "fake":
        image = np.clip(image + rng.integers(0, 80, image.shape), 0, 255).astype(np.uint8)
      cv2.imwrite(os.path.join(folder, top, f"{top}{n}.png"), image)


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

  def test_evaluation_only_folders(self):
    # A labelled folder with only test/ (or only real/ and fake/ with --whole_split=test)
    # -> records with no train or val split -> dfadv-evaluate; ACC@val from the training
    # run's results.json beside the detector, or left out with a note without one.
    tmp = tempfile.mkdtemp(prefix="evaluate-only-")
    write_labelled_images(os.path.join(tmp, "test_only", "test"))
    write_labelled_images(os.path.join(tmp, "whole"))
    data_root = os.path.join(tmp, "records")
    for name, extra in (("test_only", []), ("whole", ["--whole_split=test"])):
      result = utils.run_binary("tools.preprocess", [
          "--layout=folder", f"--input={tmp}/{name}", f"--data_root={data_root}",
          f"--dataset={name}", "--face_detector=none", "--image_size=32", *extra])
      self.assertIn("evaluation-only", result.stderr)
      with open(os.path.join(data_root, name, "index.json"), encoding="utf-8") as f:
        self.assertEqual({s["split"] for s in json.load(f)["shards"]}, {"test"})
    trained = os.path.join(tmp, "run")
    utils.save_tiny_detector(os.path.join(trained, "best_detector.keras"))
    with open(os.path.join(trained, "results.json"), "w", encoding="utf-8") as f:
      json.dump({"small_cnn": {"cross_method": {"NT c23": {
          "auc": 0.5, "val_threshold": 0.25, "video_val_threshold": 0.75}}}}, f)
    bare = os.path.join(tmp, "bare")
    utils.save_tiny_detector(os.path.join(bare, "best_detector.keras"))
    for name in ("test_only", "whole"):
      out = os.path.join(tmp, f"scores_{name}")
      result = utils.run_binary("tools.evaluate", [
          f"--data_root={data_root}", f"--dataset={name}", "--image_size=32",
          "--batch_size=4", f"--output_dir={out}",
          f"--detectors=trained={trained}/best_detector.keras,bare={bare}/best_detector.keras"])
      self.assertIn("ACC@val uses the thresholds recorded by the training run", result.stderr)
      self.assertIn("ACC@val is left out", result.stderr)
      with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
      (metrics,) = results["trained"][next(iter(results["trained"]))].values()
      self.assertEqual((metrics["val_threshold"], metrics["video_val_threshold"]),
                       (0.25, 0.75))
      self.assertEqual(metrics["n"], 8)
      (bare_metrics,) = results["bare"][next(iter(results["bare"]))].values()
      self.assertNotIn("acc_val", bare_metrics)
      self.assertIn("as recorded by the training run (this data has no validation split",
                    result.stdout)

  def test_missing_detector_file_is_named(self):
    result = utils.run_binary("tools.evaluate", ["--detectors=/nonexistent/x.keras"],
                              check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("/nonexistent/x.keras", result.stderr)


if __name__ == "__main__":
  tf.test.main()
