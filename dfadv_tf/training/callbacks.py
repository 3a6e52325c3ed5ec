"""TensorBoard for the adversarial game: the trackers as scalars (keras.callbacks.TensorBoard)
plus, every N epochs, the adversary's work on a fixed batch (paper Fig. 1-2).

Images tab, under `<log_dir>/adversarial`, card `adversarial_examples`: one column per
image (headed real / fake) and one labelled row each for the clean images, the
adversarial ones, |adversarial - clean| x4 and, for blur adversaries, the sigma map
(the blur's standard deviation in pixels, white = `sigma_display_max`); histograms of
the sigma maps, `sigma_px/real` and `sigma_px/fake`. A model without an adversary (the
baseline) writes no images.
"""

import os

import cv2
import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.ops.blur import inv_var_to_sigma

IMAGE_TAG = "adversarial_examples"
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def image_grid(rows):
  """Tiles rows of images, each (N, H, W, 3) in [0, 1], into one (1, R*H, N*W, 3) image."""
  strips = [tf.concat(tf.unstack(r, axis=0), axis=1) for r in rows]
  return tf.concat(strips, axis=0)[None]


def labelled_grid(rows, row_labels, column_labels, scale=None):
  """`image_grid` of `rows` as a (1, H', W', 3) uint8 image with `row_labels` written in
  a left margin and `column_labels` in a top one; images smaller than 96 px are
  enlarged (nearest neighbour) by `scale` (default: the smallest factor to >= 96 px)
  so that the labels stay readable beside them. The text grows with the grid's width
  (TensorBoard shrinks a wide image to its card)."""
  grid = np.asarray(image_grid(rows)[0]) * 255.0
  height = int(rows[0].shape[1])
  scale = scale or max(1, -(-96 // height))
  grid = np.repeat(np.repeat(np.round(grid).astype(np.uint8), scale, 0), scale, 1)
  height, width = height * scale, int(rows[0].shape[2]) * scale
  font = max(0.45, grid.shape[1] / 1000.0)  # text ~1/45 of the grid's width
  thick = max(1, round(2 * font))
  text_w, text_h = (max(cv2.getTextSize(label, _FONT, font, thick)[0][i]
                        for label in row_labels) for i in (0, 1))
  left, top = text_w + round(12 * font / 0.45), round(22 * font / 0.45)
  out = np.full((grid.shape[0] + top, grid.shape[1] + left, 3), 255, np.uint8)
  out[top:, left:] = grid
  for i, label in enumerate(row_labels):
    cv2.putText(out, label, (round(6 * font / 0.45), top + i * height + (height + text_h) // 2),
                _FONT, font, (0, 0, 0), thick, cv2.LINE_AA)
  for j, label in enumerate(column_labels):
    size = cv2.getTextSize(label, _FONT, font, thick)[0][0]
    cv2.putText(out, label, (left + j * width + (width - size) // 2, (top + text_h) // 2),
                _FONT, font, (0, 0, 0), thick, cv2.LINE_AA)
  return out[None]


class AdversarialTensorBoard(keras.callbacks.TensorBoard):
  """`keras.callbacks.TensorBoard` + adversarial examples and blur maps every N epochs.

  Works with any `dfadv_tf.training` model: it calls
  `model.adversarial_examples(images, labels) -> (adv_images, inv_var or None)` when
  `model.has_adversary`.

  Args:
    log_dir: TensorBoard directory (scalars go to `train/`, `validation/` as usual).
    images: (N, H, W, 3) float in [-1, 1], a small fixed batch (N <= ~8).
    labels: (N,) int, 0 = real, 1 = fake.
    image_freq: write the grid and histograms every `image_freq` epochs (>= 1).
    sigma_display_max: sigma (px) shown as white in the sigma row.
    **kwargs: further `keras.callbacks.TensorBoard` arguments.
  """

  def __init__(self, log_dir, images, labels, image_freq=1, sigma_display_max=1.0,
               **kwargs):
    super().__init__(log_dir=log_dir, **kwargs)
    image_freq = checks.integer(image_freq, "image_freq")
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank != 4 or images.shape[-1] != 3:
      raise ValueError(f"images must be (N, H, W, 3), got shape {images.shape}.")
    self.images = images
    self.labels = tf.reshape(tf.convert_to_tensor(labels, tf.int32), [-1])
    if self.labels.shape[0] != images.shape[0]:
      raise ValueError(
          f"labels must have one entry per image, got {self.labels.shape[0]} labels for "
          f"{images.shape[0]} images.")
    self.image_freq = image_freq
    self.sigma_display_max = float(sigma_display_max)
    self._image_writer = None

  def on_epoch_end(self, epoch, logs=None):
    super().on_epoch_end(epoch, logs)
    if (epoch + 1) % self.image_freq == 0 and getattr(self.model, "has_adversary", True):
      self.write_adversarial(epoch)

  def on_train_end(self, logs=None):
    super().on_train_end(logs)
    if self._image_writer is not None:
      self._image_writer.close()
      self._image_writer = None

  def write_adversarial(self, step):
    """Writes the grid and histograms for the model's current state at `step`."""
    if self._image_writer is None:
      self._image_writer = tf.summary.create_file_writer(
          os.path.join(self.log_dir, "adversarial"))
    adv, inv_var = self.model.adversarial_examples(self.images, self.labels)
    adv = tf.cast(adv, tf.float32)
    to_unit = lambda x: tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)
    rows = [to_unit(self.images), to_unit(adv),
            tf.clip_by_value(4.0 * tf.abs(adv - self.images) / 2.0, 0.0, 1.0)]
    row_labels = ["clean", "adversarial", "|adv - clean| x4"]
    with self._image_writer.as_default():
      if inv_var is not None:
        # The map's sigma per pixel (channels averaged in inverse variance).
        sigma = inv_var_to_sigma(tf.reduce_mean(tf.cast(inv_var, tf.float32), axis=-1,
                                                keepdims=True))
        rows.append(tf.image.grayscale_to_rgb(
            tf.clip_by_value(sigma / self.sigma_display_max, 0.0, 1.0)))
        row_labels.append(f"sigma (white {self.sigma_display_max:g} px)")
        for name, mask in (("real", self.labels == 0), ("fake", self.labels == 1)):
          values = tf.boolean_mask(sigma, mask)
          if tf.size(values) > 0:
            tf.summary.histogram(f"sigma_px/{name}", values, step=step,
                                 description=f"Blur sigma in pixels, {name} images.")
      columns = ["fake" if label else "real" for label in self.labels.numpy()]
      tf.summary.image(IMAGE_TAG, labelled_grid(rows, row_labels, columns), step=step,
                       description="Rows: " + ", ".join(row_labels) + ".")
    self._image_writer.flush()
