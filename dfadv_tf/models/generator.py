"""The blur generator of Gen-BAT / Two-Gen-BAT (paper Sec. III-C, Eq. 7).

A CycleGAN-style ResNet generator (docs/reference.md, "Blur generator") that maps a
face to the per-pixel inverse variance `inv_var = 1/sigma^2` of the pixel-wise Gaussian
blur (Eq. 4-5):

    reflect-pad 3, conv7 (3 -> w), BN, ReLU
    2 x [conv3 stride 2 (zero-pad 1), BN, ReLU]            w -> 2w -> 4w
    n_blocks x ResNet block [reflect-pad 1, conv3, BN, ReLU, reflect-pad 1, conv3, BN] + x
    2 x [transposed conv3 stride 2 (crop 1 before), BN, ReLU]  4w -> 2w -> w
    reflect-pad 3, conv7 (w -> 1, with bias), no tanh
    inv_var = clip(out^2, min_inv_var, max_inv_var)

With w = 64 and 3 blocks (the reference) it has 4,293,121 trainable parameters. Convs
have no bias before BN; Kaiming-normal (fan_in) kernels; BN gamma ~ N(1, 0.02).

Alignment: every output sits where the reference's torch layers put it. A down-sampling
conv pads one zero on each side and runs "valid" (torch `Conv2d(stride=2, padding=1)`:
output o reads inputs 2o - 1 .. 2o + 1; Keras "same" with stride 2 would pad only after,
reading 2o .. 2o + 2). An up-sampling conv is the full ("valid") transposed conv, 2H + 1
long, with its first row and column cropped (torch `ConvTranspose2d(padding=1,
output_padding=1)`: input i reaches outputs 2i - 1 .. 2i + 1; Keras "same" crops nothing
before, which moves the map by +1 px per up-sampling).
"""

import keras
from keras import ops

from dfadv_tf import checks
from dfadv_tf.ops.conv import SingleFilterConv2D


def _kaiming():
  """He-normal initializer, a new one per layer: an initializer made without a seed takes
  one when it is created, so a module-level one would be seeded at import, before
  `keras.utils.set_random_seed`, and give equal-shaped kernels equal values."""
  return keras.initializers.VarianceScaling(scale=2.0, mode="fan_in",
                                            distribution="untruncated_normal")


@keras.saving.register_keras_serializable(package="dfadv_tf")
class ReflectionPadding2D(keras.layers.Layer):
  """Reflect padding of H and W by `padding` pixels (the edge pixel is not repeated)."""

  def __init__(self, padding=1, **kwargs):
    super().__init__(**kwargs)
    self.padding = int(padding)

  def call(self, inputs):
    p = self.padding
    return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

  def compute_output_shape(self, input_shape):
    b, h, w, c = input_shape
    grow = lambda n: None if n is None else n + 2 * self.padding
    return (b, grow(h), grow(w), c)

  def get_config(self):
    config = super().get_config()
    config.update(padding=self.padding)
    return config


@keras.saving.register_keras_serializable(package="dfadv_tf")
class RowMaskedBatchNormalization(keras.layers.BatchNormalization):
  """BatchNorm whose training statistics come only from the rows with `row_mask` True.

  `row_mask` (B,) bool: in training mode the batch mean/variance (and the moving-average
  update) use only those rows; with no row selected the moving statistics are kept as
  they are (and all rows are normalised with their own batch statistics). The other rows are normalised with the same statistics. This lets two
  generators share one static-shape batch (Two-Gen-BAT) without mixing their classes.
  """

  def call(self, inputs, training=None, row_mask=None):
    if row_mask is None or not (training and self.trainable):
      return super().call(inputs, training=training)
    keep = ops.any(row_mask)
    old_mean = ops.copy(self.moving_mean)
    old_variance = ops.copy(self.moving_variance)
    # With no row selected, normalise with the statistics of all rows (the output is then
    # unused, but stays finite: zero statistics would blow it up, and its gradient with
    # it, under float16); the moving statistics are restored below.
    rows = ops.logical_or(row_mask, ops.logical_not(keep))
    mask = ops.broadcast_to(
        ops.reshape(rows, (-1,) + (1,) * (len(inputs.shape) - 2)),
        ops.shape(inputs)[:-1])
    outputs = super().call(inputs, training=training, mask=mask)
    self.moving_mean.assign(ops.where(keep, self.moving_mean, old_mean))
    self.moving_variance.assign(ops.where(keep, self.moving_variance, old_variance))
    return outputs


@keras.saving.register_keras_serializable(package="dfadv_tf")
class BlurGenerator(keras.Model):
  """G(x) -> inv_var: images (B, H, W, 3) in [-1, 1] -> (B, H, W, 1) float32 in
  [min_inv_var, max_inv_var] (H, W divisible by 4).

  The output is `out^2` clamped to [min_inv_var, max_inv_var] (reference: [1, 1e12],
  i.e. sigma <= 1 px). Note: at initialisation |out| < 1 for most pixels, so most of the
  map sits on the lower clamp and gets no gradient; lower `min_inv_var` to let them move.
  The last conv, the square and the clamp run in float32 under any dtype policy (1e12
  overflows float16), so the blur weights are float32.

  Args:
    width: channels of the first conv (reference 64); the body uses 2x and 4x.
    n_blocks: ResNet blocks at 1/4 resolution (reference 3).
    min_inv_var, max_inv_var: the clamp, 0 <= min_inv_var < max_inv_var.
  Call: `generator(images, training=None, row_mask=None)`; `row_mask` (B,) bool selects
  the rows whose BatchNorm statistics count in training mode (default: all).
  """

  def __init__(self, width=64, n_blocks=3, min_inv_var=1.0, max_inv_var=1e12, **kwargs):
    super().__init__(**kwargs)
    width = checks.integer(width, "width")
    n_blocks = checks.integer(n_blocks, "n_blocks", minimum=0)
    if not 0.0 <= min_inv_var < max_inv_var:
      raise ValueError(
          "min_inv_var and max_inv_var must satisfy 0 <= min_inv_var < max_inv_var, got "
          f"{min_inv_var!r} and {max_inv_var!r}.")
    self.width = width
    self.n_blocks = n_blocks
    self.min_inv_var = float(min_inv_var)
    self.max_inv_var = float(max_inv_var)
    policy = self.dtype_policy

    def conv(filters, kernel, strides=1, transpose=False, name=None):
      cls = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
      return cls(filters, kernel, strides=strides, padding="valid", use_bias=False,
                 kernel_initializer=_kaiming(), dtype=policy, name=name)

    def norm(name):
      return RowMaskedBatchNormalization(
          momentum=0.9, epsilon=1e-5,
          gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02), dtype=policy,
          name=name)

    self.stem = [ReflectionPadding2D(3, dtype=policy), conv(width, 7, name="stem_conv"),
                 norm("stem_bn")]
    self.down = [(keras.layers.ZeroPadding2D(1, dtype=policy),
                  conv(width * 2 ** (i + 1), 3, strides=2, name=f"down{i}_conv"),
                  norm(f"down{i}_bn")) for i in range(2)]
    self.blocks = [[(ReflectionPadding2D(1, dtype=policy),
                     conv(4 * width, 3, name=f"block{b}_conv{j}"),
                     norm(f"block{b}_bn{j}")) for j in range(2)]
                   for b in range(n_blocks)]
    self.up = [(conv(width * 2 ** (1 - i), 3, strides=2, transpose=True, name=f"up{i}_conv"),
                keras.layers.Cropping2D(((1, 0), (1, 0)), dtype=policy),
                norm(f"up{i}_bn")) for i in range(2)]
    self.head_pad = ReflectionPadding2D(3, dtype="float32")
    # Conv2D(1, 7) computed as a matrix product (TensorFlow's CPU Conv2D with one
    # filter is several times slower; ops/conv.py); the same weights.
    self.head = SingleFilterConv2D(7, kernel_initializer=_kaiming(), dtype="float32",
                                   name="head_conv")

  def build(self, input_shape):
    self.call(keras.KerasTensor(input_shape))
    self.built = True

  def call(self, images, training=None, row_mask=None):
    pad, stem_conv, stem_bn = self.stem
    x = ops.relu(stem_bn(stem_conv(pad(images)), training=training, row_mask=row_mask))
    for pad, down_conv, bn in self.down:
      x = ops.relu(bn(down_conv(pad(x)), training=training, row_mask=row_mask))
    for (pad0, conv0, bn0), (pad1, conv1, bn1) in self.blocks:
      y = ops.relu(bn0(conv0(pad0(x)), training=training, row_mask=row_mask))
      x = x + bn1(conv1(pad1(y)), training=training, row_mask=row_mask)
    for up_conv, crop, bn in self.up:
      x = ops.relu(bn(crop(up_conv(x)), training=training, row_mask=row_mask))
    out = self.head(self.head_pad(ops.cast(x, "float32")))
    return ops.clip(ops.square(out), self.min_inv_var, self.max_inv_var)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (1,)

  def get_config(self):
    return {"name": self.name, "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "width": self.width, "n_blocks": self.n_blocks,
            "min_inv_var": self.min_inv_var, "max_inv_var": self.max_inv_var}
