"""Tests for dfadv_tf.experiment.data: the data selection."""

import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
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

  def test_two_generator_modes_train_on_alternating_halves(self):
    for mode, balance in (("two_gen_bat", "halves"), ("combined", "halves"),
                          ("gen_bat", "oversample"), ("baseline", "oversample")):
      self.assertEqual(data.train_balance(self.config(mode=mode)), balance, mode)
    config = self.config(mode="two_gen_bat", epochs=1, steps_per_epoch=3)
    for _, labels in data.train_dataset(config):
      self.assertAllEqual(labels, np.arange(config.batch_size) % 2)

  def test_grids(self):
    grids = experiment.test_grids(self.config(extra_test_datasets=("dfd",)))
    self.assertEqual(grids["cross_method"]["DF c23"],
                     data.Selection(self.data_root, utils.DATASET, ("youtube", "Deepfakes"),
                                    ("c23",)))
    self.assertEqual(list(grids["cross_quality"]), ["FS raw", "FS c40"])
    self.assertEqual(grids["dfd"], {"dfd": data.Selection(self.data_root, "dfd")})


if __name__ == "__main__":
  tf.test.main()
