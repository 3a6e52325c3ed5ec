"""Tests of dfadv_tf.training.callbacks.AdversarialTensorBoard."""

import glob
import os

import numpy as np
import tensorflow as tf

from dfadv_tf.training import callbacks
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
    self.assertEqual([s for s, _ in adversarial[callbacks.IMAGE_TAG]], [0, 1])
    self.assertIn("sigma_px/real", adversarial)
    self.assertIn("sigma_px/fake", adversarial)
    summary = adversarial[callbacks.IMAGE_TAG][0][1]
    self.assertIn("sigma (white 1 px)", summary.metadata.summary_description)
    image = tf.image.decode_png(summary.tensor.string_val[2]).numpy()
    # clean, adv, diff, sigma rows of 32 px images, enlarged x3, under a label margin
    self.assertEqual(image.shape[0], 22 + 4 * 3 * 32)
    self.assertGreater(image.shape[1], 4 * 3 * 32)
    margin = image[22:, :image.shape[1] - 4 * 3 * 32]
    self.assertLess(margin.min(), 128)  # row labels drawn in the margin
    train_tags = _events(os.path.join(log_dir, "train"))
    for name in ("epoch_loss", "epoch_g_real_loss", "epoch_g_fake_loss", "epoch_auc"):
      self.assertIn(name, train_tags)

  def test_image_freq_and_no_sigma_row_without_a_map(self):
    model = GradientATModel(tiny_detector(), "fgsm")
    log_dir = self._fit(model, epochs=2, image_freq=2)
    adversarial = _events(os.path.join(log_dir, "adversarial"))
    steps = [s for s, _ in adversarial[callbacks.IMAGE_TAG]]
    self.assertEqual(steps, [1])
    image = tf.image.decode_png(adversarial[callbacks.IMAGE_TAG][0][1].tensor.string_val[2])
    self.assertEqual(image.shape[0], 22 + 3 * 3 * 32)  # no sigma row without a map
    self.assertNotIn("sigma_px/fake", adversarial)

  def test_baseline_writes_no_adversarial_images(self):
    model = DetectorModel(tiny_detector())
    self.assertFalse(model.has_adversary)
    log_dir = self._fit(model, epochs=1)
    self.assertEqual(_events(os.path.join(log_dir, "adversarial")), {})
    self.assertIn("epoch_loss", _events(os.path.join(log_dir, "train")))

  def test_gradient_blur_per_channel_map(self):
    model = GradientATModel(tiny_detector(), "bat", {"steps": 1, "kernel_size": 5})
    self.assertTrue(model.has_adversary)
    log_dir = self._fit(model, epochs=1)
    self.assertIn("sigma_px/fake", _events(os.path.join(log_dir, "adversarial")))

  def test_labelled_grid(self):
    rows = [np.zeros((2, 8, 8, 3), np.float32), np.ones((2, 8, 8, 3), np.float32)]
    grid = callbacks.labelled_grid(rows, ["clean", "adversarial"], ["real", "fake"],
                                   scale=2)
    self.assertEqual(grid.dtype, np.uint8)
    self.assertEqual(grid.shape[1], 22 + 2 * 16)
    width = grid.shape[2] - 2 * 16
    self.assertAllEqual(grid[0, 22:38, width:], np.zeros((16, 32, 3)))  # row 1: black
    self.assertAllEqual(grid[0, 38:, width:], np.full((16, 32, 3), 255))  # row 2: white
    self.assertLess(grid[0, :22, width:].min(), 128)  # column labels
    self.assertLess(grid[0, 22:, :width].min(), 128)  # row labels

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
