"""TensorBoard for the adversarial game: the trackers as scalars (keras.callbacks.TensorBoard)
plus, every N epochs, the adversary's work on a fixed batch (paper Fig. 1-2).

Images tab, under `<log_dir>/adversarial`: a grid with one column per image and rows
clean / adversarial / |adversarial - clean| (x4) / sigma map (sigma = inv_var^-1/2 px, shown
as sigma / sigma_max with sigma_max = `sigma_display_max`); histograms of
log10(inv_var) of the generator outputs (or the gradient attack's map).
"""

import os

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.ops.blur import inv_var_to_sigma


def image_grid(rows):
  """Tiles rows of images, each (N, H, W, 3) in [0, 1], into one (1, R*H, N*W, 3) image."""
  strips = [tf.concat(tf.unstack(r, axis=0), axis=1) for r in rows]
  return tf.concat(strips, axis=0)[None]


class AdversarialTensorBoard(keras.callbacks.TensorBoard):
  """`keras.callbacks.TensorBoard` + adversarial examples and blur maps every N epochs.

  Works with any `dfadv_tf.training` model: it calls
  `model.adversarial_examples(images, labels) -> (adv_images, inv_var or None)`.

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
    if (epoch + 1) % self.image_freq == 0:
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
    with self._image_writer.as_default():
      if inv_var is not None:
        inv_var = tf.cast(inv_var, tf.float32)
        sigma = inv_var_to_sigma(tf.reduce_mean(inv_var, axis=-1, keepdims=True))
        rows.append(tf.image.grayscale_to_rgb(
            tf.clip_by_value(sigma / self.sigma_display_max, 0.0, 1.0)))
        log_inv_var = tf.math.log(tf.maximum(inv_var, 1e-12)) / tf.math.log(10.0)
        for name, mask in (("real", self.labels == 0), ("fake", self.labels == 1)):
          values = tf.boolean_mask(log_inv_var, mask)
          if tf.size(values) > 0:
            tf.summary.histogram(f"log10_inv_var/{name}", values, step=step)
      tf.summary.image("clean_adversarial_diff_sigma", image_grid(rows), step=step)
    self._image_writer.flush()
