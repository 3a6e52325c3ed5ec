"""Tests for tools/preprocess.py: a tiny FF++ tree (re-encoded to c40, with masks) and a
folder of broken videos -> shards, index, a summary and the exit code."""

import json
import os
import re

import cv2
import pytest
import tensorflow as tf

from dfadv_tf.data import records
from tests.testing import tools as utils
from tests.testing.video import astronaut_frames, make_ffpp_tree, write_video


class PreprocessToolTest(tf.test.TestCase):

  def test_ffpp_tree_recompressed_with_masks_and_two_workers(self):
    tree = make_ffpp_tree(os.path.join(self.get_temp_dir(), "ffpp"), methods=("Face2Face",),
                          masks=True)
    out = os.path.join(self.get_temp_dir(), "records")
    result = utils.run_binary("tools.preprocess", [
        "--layout=ffpp", f"--input={tree}", f"--data_root={out}", "--dataset=tiny",
        "--face_detector=haar", "--image_size=32", "--frames=2", "--test_frames=3",
        "--test_every=1", "--workers=2", "--recompress=c23,c40"])
    self.assertIn("videos done: 12", result.stdout)
    self.assertIn("\n12/12 videos (100%)", result.stdout)  # progress: plain lines in a pipe
    self.assertNotIn("\r", result.stdout)
    self.assertNotRegex(result.stderr, r"(?m)^[IW]\d{4} |InitializeLog")  # workers quiet
    self.assertIn("frames written: 28 (14 with a mask), faces missed: 0, failures: 0",
                  result.stdout)
    index = records.read_index(out, "tiny")
    self.assertEqual(sorted(re.sub(r"-[0-9a-f]{10}\.", ".", s["path"])  # its inputs' hash
                            for s in index["shards"]), sorted(
        f"{split}/{method}/{quality}/00000.tfrecord" for split in records.SPLITS
        for method in ("youtube", "Face2Face") for quality in ("c23", "c40")))
    self.assertEqual(index["counts"]["split"], {"test": 12, "train": 8, "val": 8})
    self.assertEqual(sum(s["masks"] for s in index["shards"] if s["method"] == "Face2Face"),
                     14)
    self.assertTrue(os.path.isfile(os.path.join(out, "tiny_videos", "c40", "Face2Face",
                                                "953_974.mp4")))
    images, labels = next(iter(records.load_split(out, "tiny", split="test", image_size=32,
                                                  qualities=["c40"], batch_size=6)))
    self.assertEqual(images.shape, (6, 32, 32, 3))
    self.assertEqual(sorted(labels.numpy().tolist()), [0, 0, 0, 1, 1, 1])

  def test_no_video_processed_is_an_error_naming_the_failures(self):
    folder = os.path.join(self.get_temp_dir(), "mine")
    for top in ("real", "fake"):
      os.makedirs(os.path.join(folder, top))
      for n in range(3):
        with open(os.path.join(folder, top, f"{top}{n}.mp4"), "wb") as f:
          f.write(b"not a video")
    out = os.path.join(self.get_temp_dir(), "records")
    result = utils.run_binary("tools.preprocess", [
        "--layout=folder", f"--input={folder}", f"--data_root={out}", "--dataset=mine",
        "--face_detector=haar"], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("failures: 6", result.stdout)
    self.assertRegex(result.stdout, r"real0.mp4: cannot read video .*real0.mp4")
    self.assertRegex(result.stderr.strip().splitlines()[-1],
                     r"preprocess.py: error: no video of .*mine \(folder layout\) could be "
                     r"processed: 6 of 6 failed; first: .*fake0.mp4: cannot read video")
    self.assertFalse(os.path.exists(os.path.join(out, "mine", records.INDEX_FILE)))


@pytest.mark.slow
class OwnDataTest(tf.test.TestCase):
  """The commands of docs/data.md, "Your own data": a labelled folder -> records -> train ->
  evaluate -> detect, with no FF++ name anywhere."""

  def test_folder_to_records_to_train_evaluate_and_detect(self):
    tmp = self.get_temp_dir()
    for n in range(3):
      frames, _ = astronaut_frames(3)
      write_video(os.path.join(tmp, "my_videos", "real", f"interview{n}.mp4"), frames)
      blurred = [cv2.GaussianBlur(f, (0, 0), 1) for f in frames]
      write_video(os.path.join(tmp, "my_videos", "fake", f"swap{n}.mp4"), blurred)
    records_dir, run = os.path.join(tmp, "records"), os.path.join(tmp, "runs", "mine")
    utils.run_binary("tools.preprocess", [
        "--dataset=mine", "--layout=folder", f"--input={tmp}/my_videos",
        f"--data_root={records_dir}", "--face_detector=haar", "--image_size=64",
        "--frames=3", "--test_frames=3", "--test_every=1"])
    common = [f"--data_root={records_dir}", "--dataset=mine", "--train_methods=fake",
              "--train_qualities=original"]
    tiny = [f for f in utils.TINY_FLAGS if not f.startswith("--image_size")]
    train = utils.run_binary("tools.train", [*common, *tiny, "--image_size=32",
                                             f"--output_dir={run}"])
    self.assertIn("mine, frame level", train.stdout)
    self.assertNotIn("Cross-quality", train.stdout)  # one method, one quality: one table
    evaluate = utils.run_binary("tools.evaluate", [
        *common, "--image_size=32", f"--detectors=Mine={run}/best_detector.keras",
        f"--output_dir={run}/eval"])
    self.assertIn("| Mine |", evaluate.stdout)
    self.assertEqual(sorted(os.listdir(os.path.join(run, "eval", "tables"))),
                     ["mine.csv", "mine.md", "mine_video.csv", "mine_video.md"])
    detect = utils.run_binary("tools.detect", [
        f"--detector={run}/best_detector.keras", f"--input={tmp}/my_videos/fake/swap0.mp4",
        "--face_detector=haar", "--frames=3"])
    report = json.loads(detect.stdout)["video"]
    self.assertBetween(report["fake_probability"], 0.0, 1.0)


if __name__ == "__main__":
  tf.test.main()
