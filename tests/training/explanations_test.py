"""Tests of dfadv_tf.training.explanations.GradCamTensorBoard."""

import glob
import os

import tensorflow as tf

from dfadv_tf.models.tsn import TSNDetector
from dfadv_tf.training.callbacks import AdversarialTensorBoard
from dfadv_tf.training.detector import DetectorModel
from dfadv_tf.training.explanations import GradCamTensorBoard
from tests.testing.data import tiny_arrays
from tests.testing.data import tiny_dataset
from tests.testing.models import tiny_detector


def _images(directory):
  """{tag: [(step, PNG bytes)]} of the image summaries under `directory`."""
  tags = {}
  for path in glob.glob(os.path.join(directory, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        tags.setdefault(value.tag, []).append((event.step, value.tensor.string_val[2]))
  return tags


class GradCamTensorBoardTest(tf.test.TestCase):

  def test_panel_every_epoch_and_no_adversarial_panel_for_the_baseline(self):
    log_dir = self.get_temp_dir()
    images, labels = tiny_arrays(4)
    model = DetectorModel(tiny_detector())
    model.compile()
    model.fit(tiny_dataset(), epochs=2, verbose=0, callbacks=[
        AdversarialTensorBoard(log_dir, images, labels),
        GradCamTensorBoard(log_dir, images)])
    panels = _images(os.path.join(log_dir, "grad_cam"))["grad_cam_fake"]
    self.assertEqual([step for step, _ in panels], [0, 1])
    image = tf.image.decode_png(panels[1][1]).numpy()
    self.assertEqual(image.shape, (2 * 32, 4 * 32, 3))  # rows: clean, overlay
    clean = tf.image.decode_png(panels[1][1]).numpy()[:32, :32]
    self.assertAllClose(clean / 255.0, (images[0] + 1) / 2, atol=1 / 255 + 1e-6)
    self.assertNotAllClose(image[32:], image[:32])  # the overlay is not the image
    adversarial = os.path.join(log_dir, "adversarial")  # the baseline has no adversary
    self.assertFalse(os.path.exists(adversarial) and _images(adversarial))

  def test_every_epochs_target_and_tsn_clips(self):
    log_dir = self.get_temp_dir()
    clips = tf.reshape(tiny_arrays(6)[0], (2, 3, 32, 32, 3))
    model = DetectorModel(TSNDetector(tiny_detector(), segments=3))
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices((clips, [0, 1])).batch(2)
    model.fit(dataset, epochs=2, verbose=0, callbacks=[
        GradCamTensorBoard(log_dir, clips, every_epochs=2, target="real")])
    panels = _images(os.path.join(log_dir, "grad_cam"))["grad_cam_real"]
    self.assertEqual([step for step, _ in panels], [1])
    self.assertEqual(tf.image.decode_png(panels[0][1]).shape, (2 * 32, 6 * 32, 3))

  def test_invalid_arguments(self):
    images, _ = tiny_arrays(2)
    with self.assertRaisesRegex(ValueError, "every_epochs"):
      GradCamTensorBoard(self.get_temp_dir(), images, every_epochs=0)
    with self.assertRaisesRegex(ValueError, "target"):
      GradCamTensorBoard(self.get_temp_dir(), images, target="both")
    with self.assertRaisesRegex(ValueError, r"\(N, H, W, 3\)"):
      GradCamTensorBoard(self.get_temp_dir(), images[..., 0])


if __name__ == "__main__":
  tf.test.main()
