"""A convolution with one output filter, as a matrix product and a shift-add.

TensorFlow's CPU `Conv2D` with a single output channel (the blur generator's last layer,
k x k, C -> 1) runs far below its matrix-product rate, and its filter gradient is slower
still (about 10x the forward at (4, 134, 134, 64), k = 7). The same VALID, stride-1
convolution

    out[b, h, w] = sum_{u, v, c} x[b, h + u, w + v, c] * kernel[u, v, c, 0]

is computed here as one matrix product to k*k channels, y = x . K with K (C, k*k),
followed by the sum of the k*k shifted channels, out[b, h, w] = sum_{u,v} y[b, h + u,
w + v, u*k + v]. A `tf.custom_gradient` gives both gradients as matrix products too: the
upstream gradient is spread into its k*k shifted copies dy (one stacked tensor), then
d x = dy . K^T and d K = x^T . dy. Exact up to float round-off (summation order).
"""

import keras
import tensorflow as tf


def _taps(kernel_size):
  return [(u, v) for u in range(kernel_size) for v in range(kernel_size)]


def single_filter_conv2d(x, kernel):
  """VALID, stride-1 2-D convolution with one output filter (see the module docstring).

  Args:
    x: (B, H, W, C) float tensor.
    kernel: (k, k, C, 1) float tensor, square odd or even k >= 1, dtype of `x`.
  Returns:
    (B, H - k + 1, W - k + 1, 1), dtype of `x`; differentiable w.r.t. both inputs.
  """
  x = tf.convert_to_tensor(x)
  kernel = tf.convert_to_tensor(kernel, dtype=x.dtype)
  k, k2, channels, filters = kernel.shape
  if k != k2 or filters != 1 or x.shape[-1] != channels:
    raise ValueError(f"kernel must be (k, k, C, 1) with C = {x.shape[-1]} (the channels "
                     f"of x), got shape {kernel.shape}.")
  taps = _taps(k)

  @tf.custom_gradient
  def conv(x, kernel):
    matrix = tf.reshape(tf.transpose(kernel[..., 0], (2, 0, 1)), (channels, k * k))
    y = tf.einsum("bhwc,ct->bhwt", x, matrix)
    height, width = tf.shape(x)[1] - k + 1, tf.shape(x)[2] - k + 1
    out = tf.add_n([y[:, u:u + height, v:v + width, i:i + 1]
                    for i, (u, v) in enumerate(taps)])

    def grad(g):
      padded = tf.pad(g, [[0, 0], [k - 1, k - 1], [k - 1, k - 1], [0, 0]])
      full_h, full_w = tf.shape(x)[1], tf.shape(x)[2]
      dy = tf.concat([padded[:, k - 1 - u:k - 1 - u + full_h, k - 1 - v:k - 1 - v + full_w]
                      for u, v in taps], axis=-1)
      dx = tf.einsum("bhwt,ct->bhwc", dy, matrix)
      dmatrix = tf.einsum("bhwc,bhwt->ct", x, dy)
      dkernel = tf.transpose(tf.reshape(dmatrix, (channels, k, k)), (1, 2, 0))[..., None]
      return dx, dkernel

    return out, grad

  return conv(x, kernel)


@keras.saving.register_keras_serializable(package="dfadv_tf")
class SingleFilterConv2D(keras.layers.Conv2D):
  """`keras.layers.Conv2D(1, kernel_size)` (VALID, stride 1, no dilation, one group) whose
  convolution is `single_filter_conv2d`. The same weights and config as the Conv2D, so a
  checkpoint of one loads into the other."""

  def __init__(self, kernel_size, filters=1, **kwargs):
    super().__init__(filters=filters, kernel_size=kernel_size, **kwargs)
    for name, value, allowed in (
        ("filters", self.filters, 1), ("strides", self.strides, (1, 1)),
        ("padding", self.padding, "valid"), ("dilation_rate", self.dilation_rate, (1, 1)),
        ("groups", self.groups, 1), ("data_format", self.data_format, "channels_last")):
      if value != allowed:
        raise ValueError(f"SingleFilterConv2D supports {name}={allowed!r} only, got "
                         f"{value!r}.")
    if self.kernel_size[0] != self.kernel_size[1]:
      raise ValueError(f"SingleFilterConv2D needs a square kernel, got kernel_size="
                       f"{self.kernel_size}.")

  def convolution_op(self, inputs, kernel):
    return single_filter_conv2d(inputs, kernel)
