"""Tests of dfadv_tf.training.callbacks.AdversarialTensorBoard."""

import glob
import os

import numpy as np
import tensorflow as tf

from dfadv_tf.training.callbacks import AdversarialTensorBoard
from dfadv_tf.training.callbacks import image_grid
from dfadv_tf.training.detector import DetectorModel
from dfadv_tf.training.generator_bat import GeneratorBATModel
from dfadv_tf.training.gradient_at import GradientATModel
from tests.testing.data import tiny_arrays
from tests.testing.data import tiny_dataset
from tests.testing.models import tiny_detector
from tests.testing.training import GENERATOR_KWARGS


def _events(directory):
  """{tag: [(step, value or image bytes)]} of the event files under `directory`."""
  tags = {}
  for path in glob.glob(os.path.join(directory, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        tags.setdefault(value.tag, []).append((event.step, value))
  return tags


class AdversarialTensorBoardTest(tf.test.TestCase):

  def _fit(self, model, epochs=2, image_freq=1):
    log_dir = self.get_temp_dir()
    model.compile()
    images, labels = tiny_arrays(4)
    model.fit(tiny_dataset(), epochs=epochs, verbose=0,
              callbacks=[AdversarialTensorBoard(log_dir, images, labels,
                                                image_freq=image_freq)])
    return log_dir

  def test_two_gen_bat_images_histograms_and_scalars(self):
    model = GeneratorBATModel(tiny_detector(), g_steps=1, kernel_size=5,
                              generator_kwargs=GENERATOR_KWARGS)
    log_dir = self._fit(model, epochs=2)
    adversarial = _events(os.path.join(log_dir, "adversarial"))
    self.assertEqual([s for s, _ in adversarial["clean_adversarial_diff_sigma"]], [0, 1])
    self.assertIn("log10_inv_var/real", adversarial)
    self.assertIn("log10_inv_var/fake", adversarial)
    image = tf.image.decode_png(
        adversarial["clean_adversarial_diff_sigma"][0][1].tensor.string_val[2])
    self.assertEqual(image.shape, (4 * 32, 4 * 32, 3))  # clean, adv, diff, sigma rows
    train_tags = _events(os.path.join(log_dir, "train"))
    for name in ("epoch_loss", "epoch_g_real_loss", "epoch_g_fake_loss", "epoch_auc"):
      self.assertIn(name, train_tags)

  def test_image_freq_and_plain_detector(self):
    log_dir = self._fit(DetectorModel(tiny_detector()), epochs=2, image_freq=2)
    adversarial = _events(os.path.join(log_dir, "adversarial"))
    steps = [s for s, _ in adversarial["clean_adversarial_diff_sigma"]]
    self.assertEqual(steps, [1])
    image = tf.image.decode_png(
        adversarial["clean_adversarial_diff_sigma"][0][1].tensor.string_val[2])
    self.assertEqual(image.shape, (3 * 32, 4 * 32, 3))  # no sigma row without a map

  def test_gradient_blur_per_channel_map(self):
    model = GradientATModel(tiny_detector(), "bat", {"steps": 1, "kernel_size": 5})
    log_dir = self._fit(model, epochs=1)
    self.assertIn("log10_inv_var/fake", _events(os.path.join(log_dir, "adversarial")))

  def test_image_grid(self):
    rows = [np.zeros((2, 4, 4, 3), np.float32), np.ones((2, 4, 4, 3), np.float32)]
    grid = image_grid(rows).numpy()
    self.assertEqual(grid.shape, (1, 8, 8, 3))
    self.assertAllEqual(grid[0, 4:], np.ones((4, 8, 3)))

  def test_invalid_arguments(self):
    images, labels = tiny_arrays(4)
    with self.assertRaisesRegex(ValueError, "image_freq"):
      AdversarialTensorBoard(self.get_temp_dir(), images, labels, image_freq=0)
    with self.assertRaisesRegex(ValueError, "one entry per image"):
      AdversarialTensorBoard(self.get_temp_dir(), images, labels[:2])


if __name__ == "__main__":
  tf.test.main()
