"""TensorBoard panel of where the detector looks while it trains: Grad-CAM on a fixed batch.

Images tab, under `<log_dir>/grad_cam`: every N epochs one grid, one column per image,
rows clean image / Grad-CAM of the fake class on it (`dfadv_tf.models.grad_cam`, jet:
red = most evidence of "fake"). Clips (a TSN's fixed batch) are shown frame by frame.
Works beside `AdversarialTensorBoard` (same log_dir, its own sub-folder).
"""

import os

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.models import grad_cam
from dfadv_tf.ops import heatmap
from dfadv_tf.training.callbacks import image_grid


class GradCamTensorBoard(keras.callbacks.Callback):
  """Writes Grad-CAM overlays of `model.detector` (or the model itself) every N epochs.

  Args:
    log_dir: TensorBoard directory; the panel goes to `<log_dir>/grad_cam`.
    images: (N, H, W, 3) float in [-1, 1] (or clips (N, K, H, W, 3) for a TSN), a small
      fixed batch (N <= ~8).
    every_epochs: write every this many epochs (>= 1).
    target: "fake" or "real", the class whose evidence is mapped.
    alpha: weight of the heat map in the overlay, in [0, 1].
  """

  def __init__(self, log_dir, images, every_epochs=1, target="fake", alpha=0.5):
    super().__init__()
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank not in (4, 5) or images.shape[-1] != 3:
      raise ValueError(f"images must be (N, H, W, 3) or clips (N, K, H, W, 3), got shape "
                       f"{images.shape}.")
    self.log_dir = log_dir
    self.images = images
    self.every_epochs = checks.integer(every_epochs, "every_epochs")
    self.target = checks.one_of(target, grad_cam.TARGETS, "target")
    self.alpha = checks.probability(alpha, "alpha")
    self._writer = None

  def on_epoch_end(self, epoch, logs=None):
    if (epoch + 1) % self.every_epochs == 0:
      self.write_maps(epoch)

  def on_train_end(self, logs=None):
    if self._writer is not None:
      self._writer.close()
      self._writer = None

  def write_maps(self, step):
    """Writes the grid for the detector's current weights at `step`."""
    detector = getattr(self.model, "detector", self.model)
    maps = grad_cam.grad_cam(detector, self.images, self.target)
    frames = tf.reshape(self.images, [-1, *self.images.shape[-3:]])
    maps = tf.reshape(maps, tf.shape(frames)[:3])
    rows = [tf.clip_by_value((frames + 1.0) / 2.0, 0.0, 1.0),
            heatmap.overlay(frames, maps, self.alpha)]
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "grad_cam"))
    with self._writer.as_default():
      tf.summary.image(f"grad_cam_{self.target}", image_grid(rows), step=step)
    self._writer.flush()
