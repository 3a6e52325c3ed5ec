"""Tests for dfadv_tf.experiment.data: the data selection."""

import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf.data import records
from dfadv_tf.experiment import data
from tests.testing import tools as utils


class DataTest(utils.ExperimentTestCase):

  def test_unknown_method_names_the_index(self):
    with self.assertRaisesRegex(ValueError, "NeuralTexture"):
      data.steps_per_epoch(self.config(train_methods=("NeuralTexture",), steps_per_epoch=0))

  def test_training_selection_reads_the_real_methods_from_the_index(self):
    selection = data.training_selection(self.config())
    self.assertEqual(selection.methods, ("youtube", "FaceSwap"))
    self.assertEqual(selection.qualities, ("c23",))
    with self.assertRaisesRegex(ValueError, r"lists \['youtube'\], the real videos.*added "
                                "automatically"):
      data.training_selection(self.config(train_methods=("youtube",)))

  def test_each_epoch_of_train_dataset_is_a_function_of_seed_and_epoch(self):
    config = self.config(epochs=3, steps_per_epoch=2, deterministic=True)
    whole = [images.numpy() for images, _ in data.train_dataset(config)]
    resumed = [images.numpy() for images, _ in data.train_dataset(config, 1)]
    self.assertLen(whole, 6)
    self.assertAllEqual(np.stack(whole[2:]), np.stack(resumed))
    self.assertNotAllClose(whole[0], whole[2])

  def test_grids(self):
    grids = experiment.test_grids(self.config(extra_test_datasets=("dfd",)))
    self.assertEqual(grids["cross_method"]["DF c23"],
                     data.Selection(self.data_root, utils.DATASET, ("youtube", "Deepfakes"),
                                    ("c23",)))
    self.assertEqual(list(grids["cross_quality"]), ["FS raw", "FS c40"])
    self.assertEqual(grids["dfd"], {"dfd": data.Selection(self.data_root, "dfd")})


def write_dataset(root, name, layout):
  """layout: [(method, quality, label)] -> one tiny test shard each (and train)."""
  writer = records.ShardedWriter(root, name)
  for i, (method, quality, label) in enumerate(layout):
    for split in ("train", "test"):
      writer.write(split, method, quality, f"{i:05d}", [records.make_example(
          np.zeros((8, 8, 3), np.uint8), label=label, dataset=name, method=method,
          quality=quality, split=split, video_id=f"{method}/v", frame_index=0)])


class GridShapesTest(tf.test.TestCase):
  """The test grids are shaped by what the dataset has, with no FF++ names."""

  def config(self, **overrides):
    values = dict(data_root=self.get_temp_dir(), dataset="mine", train_methods=("fake",),
                  train_qualities=("original",))
    values.update(overrides)
    return experiment.ExperimentConfig(**values)

  def test_one_method_one_quality_is_one_table_named_after_the_dataset(self):
    write_dataset(self.get_temp_dir(), "mine", [("real", "original", 0),
                                                ("fake", "original", 1)])
    with self.assertLogs(level="WARNING") as logs:  # the default test_methods are FF++'s
      grids = experiment.test_grids(self.config())
    self.assertIn("none of test_methods ['NeuralTextures'", "\n".join(logs.output))
    self.assertEqual(grids, {"mine": {"fake original": data.Selection(
        self.get_temp_dir(), "mine", ("real", "fake"), ("original",))}})

  def test_methods_and_qualities_the_dataset_lacks_are_left_out(self):
    write_dataset(self.get_temp_dir(), "mine", [
        ("real", "end_to_end", 0), ("real", "level_5", 0), ("DF-VAE", "end_to_end", 1),
        ("DF-VAE", "level_5", 1)])
    with self.assertLogs(level="WARNING") as logs:
      grids = experiment.test_grids(self.config(
          train_methods=("DF-VAE",), train_qualities=("end_to_end",),
          test_methods=("DF-VAE", "Deepfakes"), test_qualities=("end_to_end", "level_5")))
    self.assertIn("test_methods ['Deepfakes'] are not in the test split", logs.output[0])
    self.assertEqual(list(grids), ["cross_quality"])  # one method: no cross-method table
    self.assertEqual(list(grids["cross_quality"]), ["DF-VAE end_to_end", "DF-VAE level_5"])


if __name__ == "__main__":
  tf.test.main()
