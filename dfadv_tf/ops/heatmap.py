"""Heat maps on images: a colour scale for maps in [0, 1] and their overlay on faces.

`colorize` is the classic "jet" scale (blue 0 -> cyan -> yellow -> red 1), piecewise
linear as in MATLAB / matplotlib; `overlay` blends it onto images (the Grad-CAM overlays
of `dfadv_tf.explain` and the TensorBoard panel of `dfadv_tf.training.explanations`).
"""

import tensorflow as tf

from dfadv_tf import checks


def colorize(maps):
  """Maps (..., H, W) in [0, 1] (clipped) -> RGB (..., H, W, 3) float32 in [0, 1] (jet)."""
  x = tf.clip_by_value(tf.cast(maps, tf.float32), 0.0, 1.0)[..., None]
  centres = tf.constant([3.0, 2.0, 1.0])  # red, green, blue peak at x = 3/4, 1/2, 1/4
  return tf.clip_by_value(1.5 - tf.abs(4.0 * x - centres), 0.0, 1.0)


def overlay(images, maps, alpha=0.5):
  """`alpha` x colorize(maps) + (1 - alpha) x images.

  images: (..., H, W, 3) float in [-1, 1]; maps: (..., H, W) in [0, 1]; alpha in [0, 1].
  Returns (..., H, W, 3) float32 in [0, 1].
  """
  alpha = checks.probability(alpha, "alpha")
  images = tf.convert_to_tensor(images, tf.float32)
  maps = tf.convert_to_tensor(maps, tf.float32)
  if images.shape.rank is not None and (images.shape[-1] != 3 or
                                        images.shape[:-1] != maps.shape):
    raise ValueError(f"images (..., H, W, 3) and maps (..., H, W) must match, got images "
                     f"{images.shape} and maps {maps.shape}.")
  unit = tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0)
  return alpha * colorize(maps) + (1.0 - alpha) * unit
