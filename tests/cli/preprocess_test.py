"""Tests for tools/preprocess.py: a tiny FF++ tree -> shards, index and a summary."""

import os
import subprocess
import sys

import tensorflow as tf

from dfadv_tf.data import records
from tests.testing.video import make_ffpp_tree

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PreprocessToolTest(tf.test.TestCase):

  def test_ffpp_tree_with_two_workers(self):
    tree = make_ffpp_tree(os.path.join(self.get_temp_dir(), "ffpp"), methods=("Face2Face",))
    out = os.path.join(self.get_temp_dir(), "records")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "preprocess.py"), "--layout=ffpp",
         f"--input={tree}", f"--data_root={out}", "--dataset=tiny", "--face_detector=haar",
         "--image_size=32", "--frames=2", "--test_frames=3", "--test_every=1", "--workers=2"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("videos done: 6", result.stdout)
    self.assertIn("frames written: 14, faces missed: 0, failures: 0", result.stdout)
    index = records.read_index(out, "tiny")
    self.assertEqual(sorted(s["path"] for s in index["shards"]), sorted(
        f"{split}/{method}/c23/00000.tfrecord" for split in records.SPLITS
        for method in ("youtube", "Face2Face")))
    self.assertEqual(index["counts"]["split"], {"test": 6, "train": 4, "val": 4})
    images, labels = next(iter(records.load_split(out, "tiny", split="test", image_size=32,
                                                  batch_size=6)))
    self.assertEqual(images.shape, (6, 32, 32, 3))
    self.assertEqual(sorted(labels.numpy().tolist()), [0, 0, 0, 1, 1, 1])


if __name__ == "__main__":
  tf.test.main()
