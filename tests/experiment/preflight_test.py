"""Tests for dfadv_tf.experiment.preflight: what a run needs is refused up front, in
seconds and before anything is written, with a message naming the input."""

import os
import time

import numpy as np
import tensorflow as tf

from dfadv_tf.data import records
from dfadv_tf.experiment import preflight
from tests.testing import faults
from tests.testing import tools

# (split, method, quality, label) shards of a dataset where FaceSwap has no c40 test
# records, c50 has no real test records and the validation split has no fake ones.
SHARDS = [(split, "youtube", quality, 0) for split in records.SPLITS
          for quality in ("c23", "c40")] + [
              ("train", "FaceSwap", "c23", 1), ("test", "FaceSwap", "c23", 1),
              ("test", "FaceSwap", "c50", 1)]


def write_dataset(root, dataset, shards):
  writer = records.ShardedWriter(root, dataset)
  for split, method, quality, label in shards:
    writer.write(split, method, quality, "00000", [records.make_example(
        np.full((8, 8, 3), 100, np.uint8), label=label, dataset=dataset, method=method,
        quality=quality, split=split, video_id=f"{method}_{i}", frame_index=0)
        for i in range(2)])


class PreflightTest(tools.ExperimentTestCase):

  def test_a_good_run_passes_in_seconds(self):
    start = time.monotonic()
    preflight.check_training(self.config(mode="two_gen_bat"))
    self.assertLess(time.monotonic() - start, 10.0)
    self.assertFalse(os.path.exists(self.config().output_dir))  # nothing written

  def test_sizes(self):
    cases = [
        (dict(backbone="xception"), "image_size 32 is too small for backbone 'xception': "
         "xception needs at least 71 pixels"),
        (dict(backbone="stehouwer_xception"), "too small for backbone 'stehouwer_xception'"),
        (dict(mode="grad_bat", kernel_size=65), "kernel_size 65 is too large for "
         "image_size 32: .* needs image_size > kernel_size // 2 = 32"),
        (dict(mode="two_gen_bat", image_size=30), "image_size 30 must be a multiple of 4 "
         "in mode 'two_gen_bat'"),
    ]
    for overrides, message in cases:
      with self.subTest(**overrides):
        with self.assertRaisesRegex(ValueError, message):
          preflight.check_training(self.config(**overrides))
    preflight.check_training(self.config(mode="baseline", image_size=30, kernel_size=65))

  def test_files(self):
    with self.assertRaisesRegex(FileNotFoundError, "weights file .*nowhere.h5 does not exist"):
      preflight.check_training(self.config(weights="/nowhere.h5"))
    out = faults.uncreatable(self.get_temp_dir())
    with self.assertRaisesRegex(NotADirectoryError, f"output_dir {out} cannot be created"):
      preflight.check_training(self.config(output_dir=out))
    with self.assertRaisesRegex(FileNotFoundError, "detector file .*missing.keras"):
      preflight.check_evaluation(self.config(), ["/missing.keras"])

  def test_methods_qualities_and_datasets_of_the_index(self):
    cases = [
        (dict(test_methods=("FaceSwap", "Deepfake")), r"method \['Deepfake'\] not in "
         r"dataset 'ffpp_demo' .* its index has methods \['Deepfakes', 'Face2Face', "
         r"'FaceSwap', 'NeuralTextures', 'youtube'\]"),
        (dict(train_qualities=("c50",)), r"quality \['c50'\] not in dataset"),
        (dict(extra_test_datasets=("dfd",)), "no dataset index at .*dfd/index.json"),
        (dict(train_methods=("youtube",)), r"train_methods lists \['youtube'\], the real"),
    ]
    for overrides, message in cases:
      with self.subTest(**overrides):
        with self.assertRaisesRegex((ValueError, FileNotFoundError), message):
          preflight.check_training(self.config(**overrides))
    with self.assertRaisesRegex(FileNotFoundError, "no dataset index at .*dfd/index.json"):
      preflight.check_evaluation(self.config(extra_test_datasets=("dfd",)))

  def test_every_set_needs_its_records_and_both_classes(self):
    root = self.get_temp_dir()
    write_dataset(root, "gaps", SHARDS)
    config = lambda **kw: self.config(data_root=root, dataset="gaps", **kw)  # pylint: disable=unnecessary-lambda-assignment
    with self.assertRaisesRegex(ValueError, "the validation split of the training selection: "
                                "dataset 'gaps' .* has no fake val records"):
      preflight.check_training(config(test_methods=("FaceSwap",), test_qualities=("c23",)))
    with self.assertRaisesRegex(ValueError, "test set 'FS c50' of grid 'cross_quality': "
                                r"dataset 'gaps' .* has no real test records for methods "
                                r"\['youtube', 'FaceSwap'\] at qualities \['c50'\]"):
      preflight.check_test_data(config(test_methods=("FaceSwap",),
                                       test_qualities=("c23", "c40", "c50")))
    with self.assertLogs(level="WARNING") as logs:  # no FaceSwap at c40: not tested
      grids = preflight.data.test_grids(config(test_methods=("FaceSwap",),
                                               test_qualities=("c23", "c40")))
    self.assertEqual(list(grids), ["gaps"])  # one set left: named after the dataset
    self.assertIn("test sets ['FS c40'] of grid 'cross_quality'", "".join(logs.output))
    with self.assertRaisesRegex(ValueError, "has no train records of 'FaceSwap' at quality "
                                r"'c40' \(its train records of 'FaceSwap' are at "
                                r"\['c23'\]\)"):
      preflight.check_training_data(config(train_qualities=("c23", "c40")))


if __name__ == "__main__":
  tf.test.main()
