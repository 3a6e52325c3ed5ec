"""Pixel-wise Gaussian blur (paper Eq. 4-5), the adversary's instrument in BAT.

Every output pixel p is a Gaussian-weighted mean of the k x k window around it, with its
own inverse variance `inv_var[p] = 1 / sigma_p^2`:

    w_p(u, v) = exp(-(u^2 + v^2) * inv_var[p] / 2)
    out[p]    = sum_{u,v} w_p(u, v) * x[p + (u, v)] / sum_{u,v} w_p(u, v)

The weights are normalised over the window, so the 1 / (2 pi sigma^2) factor of Eq. 4
cancels and brightness is kept: `inv_var = 0` is a k x k box filter, `inv_var -> inf` the
identity. The image is reflect-padded (the edge pixel is not repeated). These are the
semantics of the paper's reference code (docs/reference.md, "Pixel-wise blur").

Two exact implementations sit behind `pixel_gaussian_blur(..., method=...)`:

- ``"patches"``: `tf.image.extract_patches` materialises the (B, H, W, k*k*C) window
  tensor; plain autodiff. Simple and obviously right; slow and memory-hungry.
- ``"rings"`` (default): taps at the same radius r = u^2 + v^2 share a weight, so the
  window sum is grouped into rings (15 for k = 9): `out = sum_r e_r R_r / sum_r n_r e_r`
  with `R_r` the sum of the shifted images on ring r, `n_r` its tap count and
  `e_r = exp(-r * inv_var / 2)`. A `tf.custom_gradient` gives the exact gradients:
  the map gradient recomputes the ring sums (nothing but the output is stored) and the
  image gradient is the same ring sum of the weighted upstream gradient (rings are
  symmetric), folded back through the reflect padding. Forward and each backward are
  XLA-compiled separately (`jit_compile=True`), which fuses the ~k*k shifted reads into a
  single pass; the enclosing `tf.function` needs no XLA. In a graph the image-gradient
  kernel is pruned when nothing consumes it (BAT and the generators differentiate only
  to the map).

Both agree to 1e-5 in float32 (tests/ops/blur_test.py holds them to it).
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import checks

METHODS = ("rings", "patches")


def sigma_to_inv_var(sigma):
  """Standard deviation sigma (> 0, pixels) -> inverse variance 1 / sigma^2."""
  sigma = tf.convert_to_tensor(sigma)
  return 1.0 / tf.square(sigma)


def inv_var_to_sigma(inv_var):
  """Inverse variance 1 / sigma^2 (>= 0) -> standard deviation sigma (inf at 0)."""
  inv_var = tf.convert_to_tensor(inv_var)
  return tf.math.rsqrt(inv_var)


def _check_kernel_size(kernel_size):
  return checks.odd_integer(kernel_size, "kernel_size")


def _rings(kernel_size):
  """Distinct radii r = u^2 + v^2 of a k x k window with the taps on each ring.

  Returns a list of (r, [(du, dv), ...]) sorted by r, offsets in [-k//2, k//2].
  """
  half = kernel_size // 2
  rings = {}
  for du in range(-half, half + 1):
    for dv in range(-half, half + 1):
      rings.setdefault(du * du + dv * dv, []).append((du, dv))
  return sorted(rings.items())


def _check_inputs(images, inv_var, kernel_size, method):
  """Validates shapes; returns (images, inv_var) as tensors."""
  if method not in METHODS:
    raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
  images = tf.convert_to_tensor(images)
  if not (images.dtype.is_floating):
    raise ValueError(f"images must be a float tensor, got dtype {images.dtype.name}.")
  inv_var = tf.convert_to_tensor(inv_var)
  if not inv_var.dtype.is_floating:
    raise ValueError(f"inv_var must be a float tensor, got dtype {inv_var.dtype.name}.")
  if images.shape.rank != 4:
    raise ValueError(
        f"images must have rank 4 (B, H, W, C), got shape {images.shape}.")
  if inv_var.shape.rank != 4:
    raise ValueError(
        f"inv_var must have rank 4 (B, H, W, 1 or C), got shape {inv_var.shape}.")
  channels = images.shape[-1]
  if channels is None:
    raise ValueError(f"images must have a known channel count, got shape {images.shape}.")
  if inv_var.shape[-1] not in (1, channels):
    raise ValueError(
        f"inv_var must have 1 or {channels} channels (those of images), "
        f"got shape {inv_var.shape} for images of shape {images.shape}.")
  for axis, name in ((1, "height"), (2, "width")):
    a, b = images.shape[axis], inv_var.shape[axis]
    if a is not None and b is not None and a != b:
      raise ValueError(
          f"inv_var and images must have the same {name}, got inv_var shape "
          f"{inv_var.shape} and images shape {images.shape}.")
    if a is not None and kernel_size > 1 and a <= kernel_size // 2:
      raise ValueError(
          f"images {name} {a} is too small for reflect padding with kernel_size "
          f"{kernel_size}: it must be > {kernel_size // 2}.")
  if tf.executing_eagerly() and bool(tf.reduce_any(tf.math.is_nan(inv_var))):
    raise ValueError("inv_var contains NaN; expected finite values >= 0.")
  return images, inv_var


def _reflect_pad(x, pad):
  return tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")


# --------------------------------------------------------------------------------------
# method="patches"


def _blur_patches(x, inv_var, kernel_size):
  half = kernel_size // 2
  channels = x.shape[-1]
  patches = tf.image.extract_patches(
      _reflect_pad(x, half), sizes=[1, kernel_size, kernel_size, 1],
      strides=[1, 1, 1, 1], rates=[1, 1, 1, 1], padding="VALID")
  shape = tf.shape(x)
  patches = tf.reshape(
      patches, tf.stack([shape[0], shape[1], shape[2], kernel_size * kernel_size,
                         channels]))
  offsets = np.arange(-half, half + 1, dtype=np.float32)
  radius = (offsets[:, None] ** 2 + offsets[None, :] ** 2).reshape(-1)  # row-major taps
  radius = tf.constant(radius[:, None], dtype=x.dtype)  # (k*k, 1)
  # logits (B, H, W, k*k, Cs); the r = 0 tap is exactly 0 so inf inv_var is safe.
  s = inv_var[:, :, :, None, :]
  logits = tf.where(radius > 0, -0.5 * radius * s, tf.zeros_like(s))
  weights = tf.nn.softmax(logits, axis=3)  # = exp / sum exp, max logit is 0
  return tf.reduce_sum(weights * patches, axis=3)


# --------------------------------------------------------------------------------------
# method="rings"


def _ring_weights(inv_var, rings):
  """e_r = exp(-r * inv_var / 2) for each ring (r = 0 is exactly 1), and Z."""
  exps = [tf.ones_like(inv_var) if r == 0 else tf.exp(-0.5 * r * inv_var)
          for r, _ in rings]
  norm = tf.add_n([len(taps) * e for e, (_, taps) in zip(exps, rings)])
  return exps, norm


def _spatial_size(x):
  """(height, width) of x (B, H, W, C): Python ints where static (cheaper to trace than
  tensors: each window is then one Slice with constant arguments), else tensors."""
  shape = tf.shape(x)
  return tuple(shape[i] if x.shape[i] is None else int(x.shape[i]) for i in (1, 2))


def _window(padded, top, left, height, width):
  """padded[:, top:top + height, left:left + width, :] as one Slice op."""
  return tf.slice(padded, [0, top, left, 0], [-1, height, width, -1])


def _ring_sum(padded, taps, height, width, origin):
  """Sum of the shifted windows `padded[origin + du : ..., origin + dv : ...]`."""
  return tf.add_n([_window(padded, origin + du, origin + dv, height, width)
                   for du, dv in taps])


def _per_channel_weights(inv_var, rings, channels):
  """[(e_r list, Z)] for each image channel: computed once when the map has 1 channel."""
  if inv_var.shape[-1] == 1:
    return [_ring_weights(inv_var, rings)] * channels
  return [_ring_weights(inv_var[..., c:c + 1], rings) for c in range(channels)]


def _rings_forward(x, inv_var, kernel_size):
  """out = sum_r e_r R_r / Z, one channel at a time: with (B, H, W, 1) operands XLA
  fuses each channel's ring sums into one loop instead of materialising them (about
  15% faster and half the peak memory at (8, 224, 224, 3), k = 9)."""
  rings = _rings(kernel_size)
  half = kernel_size // 2
  height, width = _spatial_size(x)
  outputs = []
  channels = tf.split(x, x.shape[-1], axis=-1)
  for c, (exps, norm) in enumerate(_per_channel_weights(inv_var, rings, x.shape[-1])):
    padded = _reflect_pad(channels[c], half)
    numerator = tf.add_n([
        e * _ring_sum(padded, taps, height, width, half)
        for e, (_, taps) in zip(exps, rings)
    ])
    outputs.append(numerator / norm)
  return tf.concat(outputs, axis=-1)




def _rings_grad_inv_var(x, inv_var, y, g, kernel_size):
  """d L / d inv_var = sum_r (-r/2) (e_r / Z) <g, R_r - n_r y> (the inner product over
  the channels that share one map entry)."""
  rings = _rings(kernel_size)
  half = kernel_size // 2
  height, width = _spatial_size(x)
  exps, norm = _ring_weights(inv_var, rings)
  if inv_var.shape[-1] == 1:
    # The channel sum unrolled (one channel's operands at a time), so that XLA fuses it
    # into the surrounding loop instead of materialising a reduction per ring.
    channels = x.shape[-1]
    g_channels = tf.split(g, channels, axis=-1)
    padded = [_reflect_pad(c, half) for c in tf.split(x, channels, axis=-1)]
    gy = tf.add_n([a * b for a, b in zip(g_channels, tf.split(y, channels, axis=-1))])

    def g_dot_window(du, dv):
      return tf.add_n([a * _window(p, half + du, half + dv, height, width)
                       for a, p in zip(g_channels, padded)])
  else:
    padded = _reflect_pad(x, half)
    gy = g * y

    def g_dot_window(du, dv):
      return g * _window(padded, half + du, half + dv, height, width)
  terms = []
  for e, (r, taps) in zip(exps, rings):
    if r == 0:
      continue
    g_ring = tf.add_n([g_dot_window(du, dv) for du, dv in taps])
    terms.append((-0.5 * r) * e * (g_ring - len(taps) * gy))
  if not terms:  # kernel_size 1: the output does not depend on the map
    return tf.zeros_like(inv_var)
  return tf.add_n(terms) / norm


def _rings_grad_images(inv_var, g, kernel_size):
  """d L / d x: the ring sums of (e_r / Z) * g over the zero-padded output grid give the
  gradient of the reflect-padded image; MirrorPadGrad folds it back. One channel at a
  time, like the forward (about 2x faster than on (B, H, W, C) operands)."""
  rings = _rings(kernel_size)
  half = kernel_size // 2
  height, width = _spatial_size(g)
  zero_pad = [[0, 0], [2 * half, 2 * half], [2 * half, 2 * half], [0, 0]]
  outputs = []
  for c, (exps, norm) in enumerate(_per_channel_weights(inv_var, rings, g.shape[-1])):
    g_c = g[..., c:c + 1] / norm
    outputs.append(tf.add_n([
        _ring_sum(tf.pad(g_c * e, zero_pad), taps, height + 2 * half, width + 2 * half,
                  half)
        for e, (_, taps) in zip(exps, rings)
    ]))
  return tf.raw_ops.MirrorPadGrad(
      input=tf.concat(outputs, axis=-1),
      paddings=[[0, 0], [half, half], [half, half], [0, 0]], mode="REFLECT")


@functools.lru_cache(maxsize=None)
def _rings_kernels(kernel_size, jit_compile):
  """The three ring kernels for one kernel size, each its own (XLA) tf.function."""
  # No reduce_retracing: the kernels branch on the static channel counts.
  compile_ = functools.partial(tf.function, jit_compile=jit_compile, autograph=False)
  forward = compile_(functools.partial(_rings_forward, kernel_size=kernel_size))
  grad_inv_var = compile_(functools.partial(_rings_grad_inv_var, kernel_size=kernel_size))
  grad_images = compile_(functools.partial(_rings_grad_images, kernel_size=kernel_size))

  @tf.custom_gradient
  def blur(x, inv_var):
    y = forward(x, inv_var)

    def grad(g):
      return grad_images(inv_var, g), grad_inv_var(x, inv_var, y, g)

    return y, grad

  return blur


# --------------------------------------------------------------------------------------
# Public API


def pixel_gaussian_blur(images, inv_var, kernel_size=9, method="rings", jit_compile=True):
  """Pixel-wise Gaussian blur, paper Eq. 4-5 (normalised, reflect-padded).

  Args:
    images: (B, H, W, C) float tensor (float32, bfloat16 or float16), any range.
    inv_var: (B, H, W, 1) or (B, H, W, C) inverse variance 1/sigma^2 >= 0, read at the
      output pixel. Negative entries are clamped to 0 (their gradient is 0); NaN raises
      a ValueError in eager mode (inside `tf.function` it propagates).
    kernel_size: odd int >= 1, the window side k (1 is the identity). H and W must be
      > k // 2 for reflect padding.
    method: "rings" (default; exact, fast, custom gradient) or "patches"
      (`tf.image.extract_patches` and autodiff). They agree to 1e-5 in float32.
    jit_compile: "rings" only: XLA-compile its forward and backward kernels (the fast
      path). False runs the same kernels as plain TF ops.

  Returns:
    The blurred images, shape and dtype of `images`. Weights and sums are computed in
    float32 whatever the input dtype. Differentiable w.r.t. `images` and `inv_var`.
  """
  kernel_size = _check_kernel_size(kernel_size)
  images, inv_var = _check_inputs(images, inv_var, kernel_size, method)
  dtype = images.dtype
  if kernel_size == 1:
    return tf.identity(images)
  x = tf.cast(images, tf.float32)
  s = tf.maximum(tf.cast(inv_var, tf.float32), 0.0)
  if method == "patches":
    out = _blur_patches(x, s, kernel_size)
  else:
    out = _rings_kernels(kernel_size, bool(jit_compile))(x, s)
  return tf.cast(out, dtype)


@keras.saving.register_keras_serializable(package="dfadv_tf")
class PixelGaussianBlur(keras.layers.Layer):
  """Keras layer for `pixel_gaussian_blur`: `call(images, inv_var)`.

  images (B, H, W, C), inv_var (B, H, W, 1 or C) = 1/sigma^2 >= 0; output like images.
  The layer has no weights; its output keeps the compute dtype of the layer's policy
  while the blur weights are computed in float32.
  """

  def __init__(self, kernel_size=9, method="rings", jit_compile=True, **kwargs):
    super().__init__(**kwargs)
    self.kernel_size = _check_kernel_size(kernel_size)
    if method not in METHODS:
      raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    self.method = method
    self.jit_compile = bool(jit_compile)

  def call(self, images, inv_var):
    return pixel_gaussian_blur(images, inv_var, self.kernel_size, self.method,
                               self.jit_compile)

  def compute_output_shape(self, images_shape, inv_var_shape=None):
    return images_shape

  def get_config(self):
    config = super().get_config()
    config.update(kernel_size=self.kernel_size, method=self.method,
                  jit_compile=self.jit_compile)
    return config

