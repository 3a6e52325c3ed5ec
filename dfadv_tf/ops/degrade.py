"""Image degradations, one implementation each: JPEG round trip, Gaussian noise and
Gaussian blur of a constant sigma.

The traditional augmentations (`dfadv_tf.augment.layers`: App. E and the reference's
pipeline) draw their random parameters and call these; the robustness report's test-time
corruptions (`dfadv_tf.evaluation.corruptions`) call them at graded severities. Images
are float (B, H, W, 3) in [-1, 1] in and out. Units, as everywhere the user sees them:
noise as a standard deviation in grey levels (0-255 scale), blur as sigma in pixels,
JPEG as a quality 0-100. (The inverse variance 1/sigma^2 of the pixel-wise blur of the
adversaries, `ops.blur`, stays inside the ops.)
"""

import math

import tensorflow as tf

# The smallest sigma (px) of a blur: sigma 0 is the identity, kept finite.
MIN_BLUR_SIGMA = 1e-3


def _per_image(value, dtype):
  """A scalar or (B,) value as (B or 1, 1, 1, 1)."""
  return tf.reshape(tf.cast(value, dtype), [-1, 1, 1, 1])


def jpeg(images, quality, apply=None):
  """JPEG round trip (`tf.image.adjust_jpeg_quality`, 8-bit) of every image at `quality`
  (an int 0-100, or (B,) ints, one per image); `apply`: optional (B,) bool, the images
  where it is false pass through uncoded (and are not encoded)."""
  batch = tf.shape(images)[0]
  unit = tf.clip_by_value((tf.cast(images, tf.float32) + 1.0) * 0.5, 0.0, 1.0)
  quality = tf.broadcast_to(tf.cast(quality, tf.int32), [batch])
  apply = tf.ones([batch], tf.bool) if apply is None else apply

  def one(args):
    image, q, flag = args
    out = tf.cond(flag, lambda: tf.image.adjust_jpeg_quality(image, q), lambda: image)
    return tf.ensure_shape(tf.cast(out, tf.float32), image.shape)

  out = tf.map_fn(one, (unit, quality, apply),
                  fn_output_signature=tf.TensorSpec(unit.shape[1:], tf.float32))
  out = tf.where(apply[:, None, None, None], out * 2.0 - 1.0, tf.cast(images, tf.float32))
  return tf.ensure_shape(tf.cast(out, images.dtype), images.shape)


def add_noise(images, std, normal, mean=0.0):
  """images + N(mean, std^2) noise, both in grey levels (0-255 scale; one grey level is
  2/255 in [-1, 1]), clipped to [-1, 1]. `std`: a number or (B,) per image; `normal`: the
  standard normal draw, shaped like `images` (the caller's random source)."""
  noise = (mean + _per_image(std, normal.dtype) * normal) * (2.0 / 255.0)
  return tf.clip_by_value(images + tf.cast(noise, images.dtype), -1.0, 1.0)


def blur_window(sigma):
  """The window side of `gaussian_blur` for a Python sigma: 2 ceil(3 sigma) + 1."""
  return 2 * math.ceil(3 * sigma) + 1


def gaussian_blur(images, sigma, kernel_size):
  """Gaussian blur of standard deviation `sigma` px (a number or (B,) per image, 0 the
  identity) in a `kernel_size` x `kernel_size` window (odd; `blur_window(sigma)` covers
  3 sigma): weights normalised to sum 1 over the window, reflect padding (the image
  sides must exceed half the window). Separable: the same values as `ops.blur`'s
  pixel-wise blur with a constant map inv_var = 1/sigma^2, in two 1-D passes."""
  if kernel_size % 2 != 1:
    raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
  radius = kernel_size // 2
  offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
  sigma = tf.maximum(tf.reshape(tf.cast(sigma, tf.float32), [-1, 1]), MIN_BLUR_SIGMA)
  taps = tf.exp(-0.5 * tf.square(offsets / sigma))  # (B or 1, k)
  taps = taps / tf.reduce_sum(taps, axis=1, keepdims=True)
  x = tf.cast(images, tf.float32)
  height, width = tf.shape(x)[1], tf.shape(x)[2]
  padded = tf.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "REFLECT")
  rows = sum(taps[:, i, None, None, None] * padded[:, i:i + height] for i in
             range(kernel_size))
  out = sum(taps[:, i, None, None, None] * rows[:, :, i:i + width] for i in
            range(kernel_size))
  return tf.ensure_shape(tf.cast(out, images.dtype), images.shape)
