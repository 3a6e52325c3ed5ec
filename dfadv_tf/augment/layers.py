"""Traditional augmentations: the baselines of Tables IV, V, X, XI (values of App. E) and
the reference code's training augmentation.

Every layer takes float images (B, H, W, 3) or (H, W, 3) in [-1, 1] and returns the same
shape, dtype and range. They augment only when `training` is true (the default, as for
Keras' own augmentation layers, so `dataset.map(layer)` augments) and are the identity
when `training=False` (`model.predict` / `evaluate`). Randomness comes from a
`keras.random.SeedGenerator(seed)`: two layers built with the same seed give the same
sequence of outputs. Random values are drawn per image; work is done in float32.

App. E defaults: `GaussianNoise` p = 0.5, mean 0, variance ~ U[0, 30] (0-255 pixel
units); `GaussianBlur` k = 9, variance sigma^2 ~ U[0, 30] (pixels^2), every image;
`JpegCompression` quality ~ U{60, ..., 100}, every image; `Combined` all three with the
same values.

The JPEG layers use `tf.image` codecs per image: they run in `tf.data` and in a model
whose train step is not XLA-compiled (they set `supports_jit = False`, so Keras'
`jit_compile="auto"` leaves XLA off).
"""

import math

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.ops import degrade

AUGMENTATIONS = ("none", "noise", "blur", "jpeg", "combined", "reference")


def _check_range(name, value, low, high):
  """A (lo, hi) pair with low <= lo <= hi <= high."""
  try:
    lo, hi = (float(v) for v in value)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}.") from e
  if not low <= lo <= hi <= high:
    raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {value!r}.")
  return (lo, hi)


def _to_unit(images):
  """[-1, 1] -> [0, 1]."""
  return (images + 1.0) * 0.5


def _from_unit(images):
  """[0, 1] -> [-1, 1]."""
  return images * 2.0 - 1.0


def _uniform(gen, shape, low, high):
  return keras.random.uniform(shape, low, high, seed=gen)


def _bernoulli(gen, batch, p):
  """(B,) bool, true with probability p."""
  return _uniform(gen, (batch,), 0.0, 1.0) < p


def _randint(gen, batch, low, high):
  """(B,) integers uniform in {low, ..., high} (inclusive)."""
  return keras.random.randint((batch,), low, high + 1, seed=gen)


def _select(mask, augmented, images):
  """Per image: `augmented` where the (B,) bool mask is set, else `images`."""
  return tf.where(mask[:, None, None, None], augmented, images)


class _Augmentation(keras.layers.Layer):
  """Base: training-only, seeded, float32 work on (B, H, W, 3) images in [-1, 1].

  Subclasses define `augment(images)`: float32 (B, H, W, 3) in [-1, 1] -> the same, and
  set `_xla = False` when they use `tf.image`'s JPEG codecs (no XLA kernel).
  """

  _xla = True

  def __init__(self, seed=None, **kwargs):
    super().__init__(**kwargs)
    self.seed = seed
    self.seed_generator = keras.random.SeedGenerator(seed)
    self.supports_jit = self._xla

  def call(self, images, training=True):
    if not training:
      return images
    rank = images.shape.rank
    if rank not in (3, 4) or images.shape[-1] != 3:
      raise ValueError(
          f"{self.name}: images must be (B, H, W, 3) or (H, W, 3), got shape "
          f"{images.shape}.")
    x = tf.cast(images if rank == 4 else images[None], tf.float32)
    out = self.augment(x)
    out = out if rank == 4 else out[0]
    return tf.cast(out, images.dtype)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    config = super().get_config()
    config.update(seed=self.seed)
    return config


def _add_noise(gen, images, p, variance, mean):
  """Adds N(mean, var) noise (0-255 units) per pixel; var ~ U[variance] per image
  (`ops.degrade.add_noise`)."""
  batch = tf.shape(images)[0]
  apply = _bernoulli(gen, batch, p)
  std = tf.sqrt(_uniform(gen, (batch,), *variance))
  noisy = degrade.add_noise(images, std, keras.random.normal(tf.shape(images), seed=gen),
                            mean)
  return _select(apply, noisy, images)


def _jpeg(gen, images, p, quality_range):
  """JPEG round trip at quality ~ U{quality_range} per image (`ops.degrade.jpeg`)."""
  batch = tf.shape(images)[0]
  apply = _bernoulli(gen, batch, p)
  quality = _randint(gen, batch, *(int(q) for q in quality_range))
  return degrade.jpeg(images, quality, apply)


@keras.saving.register_keras_serializable(package="dfadv_tf")
class GaussianNoise(_Augmentation):
  """Additive Gaussian noise (App. E): with probability p, x + N(mean, var), var ~ U[lo, hi].

  `mean` and `variance` are in 0-255 pixel units (noise std sqrt(var) * 2/255 in [-1, 1]
  units); the result is clipped to [-1, 1].
  """

  def __init__(self, p=0.5, variance=(0.0, 30.0), mean=0.0, seed=None, **kwargs):
    super().__init__(seed=seed, **kwargs)
    self.p = checks.probability(p, "p")
    self.variance = _check_range("variance", variance, 0.0, math.inf)
    self.mean = float(mean)

  def augment(self, images):
    return _add_noise(self.seed_generator, images, self.p, self.variance, self.mean)

  def get_config(self):
    config = super().get_config()
    config.update(p=self.p, variance=list(self.variance), mean=self.mean)
    return config


@keras.saving.register_keras_serializable(package="dfadv_tf")
class GaussianBlur(_Augmentation):
  """Gaussian blur (App. E): with probability p, a k x k Gaussian with sigma^2 ~ U[lo, hi].

  `variance` is sigma^2 in pixels^2 (0 is the identity; App. E states variances); the
  blur is `dfadv_tf.ops.degrade.gaussian_blur` at sigma = sqrt(variance) per image, in a
  k x k window (normalised weights, reflect padding). H and W must be > kernel_size // 2.
  """

  def __init__(self, p=1.0, variance=(0.0, 30.0), kernel_size=9, seed=None, **kwargs):
    super().__init__(seed=seed, **kwargs)
    self.p = checks.probability(p, "p")
    self.variance = _check_range("variance", variance, 0.0, math.inf)
    self.kernel_size = checks.odd_integer(kernel_size, "kernel_size")

  def augment(self, images):
    batch = tf.shape(images)[0]
    apply = _bernoulli(self.seed_generator, batch, self.p)
    variance = _uniform(self.seed_generator, (batch,), *self.variance)
    blurred = degrade.gaussian_blur(images, tf.sqrt(variance), self.kernel_size)
    return _select(apply, blurred, images)

  def get_config(self):
    config = super().get_config()
    config.update(p=self.p, variance=list(self.variance), kernel_size=self.kernel_size)
    return config


@keras.saving.register_keras_serializable(package="dfadv_tf")
class JpegCompression(_Augmentation):
  """JPEG compression (App. E): with probability p, a JPEG round trip at an integer
  quality ~ U{lo, ..., hi} per image (images mapped to [0, 1] for `tf.image`, 8-bit)."""

  _xla = False

  def __init__(self, p=1.0, quality=(60, 100), seed=None, **kwargs):
    super().__init__(seed=seed, **kwargs)
    self.p = checks.probability(p, "p")
    lo, hi = _check_range("quality", quality, 0, 100)
    if lo != int(lo) or hi != int(hi):
      raise ValueError(f"quality must be a pair of ints in [0, 100], got {quality!r}.")
    self.quality = (int(lo), int(hi))

  def augment(self, images):
    return _jpeg(self.seed_generator, images, self.p, self.quality)

  def get_config(self):
    config = super().get_config()
    config.update(p=self.p, quality=list(self.quality))
    return config


@keras.saving.register_keras_serializable(package="dfadv_tf")
class Combined(_Augmentation):
  """"Combined traditional" (Tables IV, V): blur, then noise, then JPEG (the order of an
  image degradation), each with App. E's values; seeds seed, seed + 1, seed + 2."""

  _xla = False

  def __init__(self, noise_p=0.5, noise_variance=(0.0, 30.0), blur_p=1.0,
               blur_variance=(0.0, 30.0), kernel_size=9, jpeg_p=1.0, quality=(60, 100),
               seed=None, **kwargs):
    super().__init__(seed=seed, **kwargs)
    offset = (lambda i: None) if seed is None else (lambda i: seed + i)
    self.blur = GaussianBlur(blur_p, blur_variance, kernel_size, seed=offset(0))
    self.noise = GaussianNoise(noise_p, noise_variance, seed=offset(1))
    self.jpeg = JpegCompression(jpeg_p, quality, seed=offset(2))

  def build(self, input_shape):
    for layer in (self.blur, self.noise, self.jpeg):
      layer.build(input_shape)

  def augment(self, images):
    return self.jpeg.augment(self.noise.augment(self.blur.augment(images)))

  def get_config(self):
    config = super().get_config()
    config.update(noise_p=self.noise.p, noise_variance=list(self.noise.variance),
                  blur_p=self.blur.p, blur_variance=list(self.blur.variance),
                  kernel_size=self.blur.kernel_size, jpeg_p=self.jpeg.p,
                  quality=list(self.jpeg.quality))
    return config


def _brightness_contrast(gen, unit, batch):
  """albumentations RandomBrightnessContrast(0.2, 0.2): x * alpha + beta, [0, 1] units."""
  alpha = _uniform(gen, (batch,), 0.8, 1.2)[:, None, None, None]
  beta = _uniform(gen, (batch,), -0.2, 0.2)[:, None, None, None]
  return unit * alpha + beta


def _fancy_pca(gen, unit, batch):
  """albumentations FancyPCA(alpha=0.1): adds eigvecs @ (a * eigvals), a ~ N(0, 0.1),
  the principal components of the image's own RGB covariance (Krizhevsky et al.)."""
  pixels = tf.reshape(unit, (batch, -1, 3))
  centered = pixels - tf.reduce_mean(pixels, axis=1, keepdims=True)
  count = tf.cast(tf.shape(pixels)[1], tf.float32)
  cov = tf.matmul(centered, centered, transpose_a=True) / tf.maximum(count - 1.0, 1.0)
  eigvals, eigvecs = tf.linalg.eigh(cov)
  alpha = 0.1 * keras.random.normal((batch, 1), seed=gen)
  shift = tf.linalg.matvec(eigvecs, alpha * eigvals)  # (B, 3)
  return unit + shift[:, None, None, :]


def _hue_saturation_value(gen, unit, batch):
  """albumentations HueSaturationValue(20, 30, 20) on uint8 images: hue shift of up to
  20/180 of the circle, saturation and value shifts of up to 30/255 and 20/255."""
  hsv = tf.image.rgb_to_hsv(tf.clip_by_value(unit, 0.0, 1.0))
  dh = _uniform(gen, (batch,), -20.0 / 180.0, 20.0 / 180.0)
  ds = _uniform(gen, (batch,), -30.0 / 255.0, 30.0 / 255.0)
  dv = _uniform(gen, (batch,), -20.0 / 255.0, 20.0 / 255.0)
  h = tf.math.floormod(hsv[..., 0] + dh[:, None, None], 1.0)
  s = tf.clip_by_value(hsv[..., 1] + ds[:, None, None], 0.0, 1.0)
  v = tf.clip_by_value(hsv[..., 2] + dv[:, None, None], 0.0, 1.0)
  return tf.image.hsv_to_rgb(tf.stack([h, s, v], axis=-1))


def _shift_scale_rotate(gen, unit, batch):
  """albumentations ShiftScaleRotate(0.1, 0.2, 10, BORDER_CONSTANT): about the centre,
  rotate by U[-10, 10] degrees, scale by U[0.8, 1.2], shift by U[-0.1, 0.1] of the
  size; bilinear, black outside."""
  height = tf.cast(tf.shape(unit)[1], tf.float32)
  width = tf.cast(tf.shape(unit)[2], tf.float32)
  angle = _uniform(gen, (batch,), -10.0, 10.0) * (math.pi / 180.0)
  scale = _uniform(gen, (batch,), 0.8, 1.2)
  tx = _uniform(gen, (batch,), -0.1, 0.1) * width
  ty = _uniform(gen, (batch,), -0.1, 0.1) * height
  cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
  # Output pixel -> input pixel: p_in = R(-angle) (p_out - c - t) / scale + c.
  a0, a1 = tf.cos(angle) / scale, tf.sin(angle) / scale
  b0, b1 = -a1, a0
  a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
  b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
  zeros = tf.zeros_like(a0)
  transform = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
  return keras.ops.image.affine_transform(unit, transform, interpolation="bilinear",
                                          fill_mode="constant", fill_value=0.0)


@keras.saving.register_keras_serializable(package="dfadv_tf")
class ReferenceAugment(_Augmentation):
  """The reference code's training augmentation (docs/reference.md, "Augmentation"),
  in its order, with albumentations' default parameters where the reference used them:

  JPEG quality U{60..100} (p 0.5); Gaussian noise, variance U[10, 50] in 0-255 units
  (p 0.1); horizontal flip (p 0.5); one of brightness/contrast, FancyPCA (on the image's
  own RGB covariance), hue/saturation/value (p 0.7); to-gray (p 0.2); shift-scale-rotate
  (p 0.5). Values are clipped to the valid range after each colour step.
  """

  _xla = False

  def augment(self, images):
    gen = self.seed_generator
    batch = tf.shape(images)[0]
    x = _jpeg(gen, images, 0.5, (60, 100))
    x = _add_noise(gen, x, 0.1, (10.0, 50.0), 0.0)
    x = _select(_bernoulli(gen, batch, 0.5), tf.reverse(x, axis=[2]), x)
    unit = _to_unit(x)
    colour = tf.stack([_brightness_contrast(gen, unit, batch),
                       _fancy_pca(gen, unit, batch),
                       _hue_saturation_value(gen, unit, batch)], axis=1)
    choice = tf.gather(colour, _randint(gen, batch, 0, 2), axis=1, batch_dims=1)
    unit = _select(_bernoulli(gen, batch, 0.7), tf.clip_by_value(choice, 0.0, 1.0), unit)
    gray = tf.tile(tf.image.rgb_to_grayscale(unit), [1, 1, 1, 3])
    unit = _select(_bernoulli(gen, batch, 0.2), gray, unit)
    unit = _select(_bernoulli(gen, batch, 0.5), _shift_scale_rotate(gen, unit, batch), unit)
    return _from_unit(tf.clip_by_value(unit, 0.0, 1.0))


def get_augmentation(name, seed=None):
  """The augmentation layer for `name` in `AUGMENTATIONS` with App. E defaults
  (None for "none")."""
  layers = {"noise": GaussianNoise, "blur": GaussianBlur, "jpeg": JpegCompression,
            "combined": Combined, "reference": ReferenceAugment}
  if name == "none":
    return None
  if name not in layers:
    raise ValueError(f"Unknown augmentation {name!r}; expected one of {AUGMENTATIONS}.")
  return layers[name](seed=seed, name=f"augment_{name}")
