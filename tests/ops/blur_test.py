"""Tests for dfadv_tf.ops.blur (paper Eq. 4-5)."""

import os

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from dfadv_tf.ops import blur as blur_lib
from dfadv_tf.ops.blur import PixelGaussianBlur, pixel_gaussian_blur
from tests.testing.layers import run_layer_test

METHODS = ("rings", "patches")


def numpy_blur(images, inv_var, kernel_size):
  """Independent float64 reference: explicit loops over the window taps."""
  images = np.asarray(images, np.float64)
  inv_var = np.maximum(np.asarray(inv_var, np.float64), 0.0)
  half = kernel_size // 2
  padded = np.pad(images, [(0, 0), (half, half), (half, half), (0, 0)], mode="reflect")
  _, height, width, _ = images.shape
  num = np.zeros_like(images)
  den = np.zeros(inv_var.shape, np.float64)
  for du in range(-half, half + 1):
    for dv in range(-half, half + 1):
      w = np.exp(-(du * du + dv * dv) * inv_var / 2.0)
      num += w * padded[:, half + du:half + du + height, half + dv:half + dv + width, :]
      den += w
  return num / den


def _random(shape, seed, low=-1.0, high=1.0):
  return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


class PixelGaussianBlurTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(method=METHODS, kernel_size=(1, 3, 5, 9), channels=(1, 3),
                         map_kind=("random", "constant"))
  def test_matches_numpy_reference(self, method, kernel_size, channels, map_kind):
    images = _random((2, 11, 13, 3), seed=kernel_size)
    if map_kind == "random":
      inv_var = _random((2, 11, 13, channels), seed=7, low=0.0, high=4.0)
    else:
      inv_var = np.full((2, 11, 13, channels), 0.6, np.float32)
    got = pixel_gaussian_blur(images, inv_var, kernel_size, method=method)
    self.assertAllClose(got, numpy_blur(images, inv_var, kernel_size), atol=1e-5,
                        rtol=1e-5)

  @parameterized.parameters(*METHODS)
  def test_zero_inv_var_is_reflect_padded_box_filter(self, method):
    images = _random((1, 10, 12, 3), seed=1)
    got = pixel_gaussian_blur(images, np.zeros((1, 10, 12, 1), np.float32), 5,
                              method=method)
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    box = np.zeros_like(images)
    for du in range(5):
      for dv in range(5):
        box += padded[:, du:du + 10, dv:dv + 12, :] / 25.0
    self.assertAllClose(got, box, atol=1e-6)

  @parameterized.parameters(*METHODS)
  def test_huge_inv_var_is_identity(self, method):
    images = _random((2, 9, 9, 3), seed=2)
    for value in (1e4, 1e12, np.inf):
      got = pixel_gaussian_blur(images, np.full((2, 9, 9, 1), value, np.float32), 9,
                                method=method)
      self.assertAllClose(got, images, atol=1e-6)

  @parameterized.parameters(*METHODS)
  def test_negative_inv_var_is_clamped_to_zero(self, method):
    images = _random((1, 8, 8, 3), seed=3)
    neg = pixel_gaussian_blur(images, np.full((1, 8, 8, 1), -3.0, np.float32), 3,
                              method=method)
    zero = pixel_gaussian_blur(images, np.zeros((1, 8, 8, 1), np.float32), 3,
                               method=method)
    self.assertAllClose(neg, zero)
    s = tf.Variable(np.full((1, 8, 8, 1), -3.0, np.float32))
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(pixel_gaussian_blur(images, s, 3, method=method) ** 2)
    self.assertAllEqual(tape.gradient(loss, s), np.zeros((1, 8, 8, 1)))

  @parameterized.product(method=METHODS, channels=(1, 3), kernel_size=(3, 5))
  def test_gradients_match_numerical(self, method, channels, kernel_size):
    images = _random((1, 5, 6, 3), seed=4).astype(np.float64)
    inv_var = _random((1, 5, 6, channels), seed=5, low=0.2, high=2.0).astype(np.float64)
    # Gradient checking in float64 needs float64 kernels: call the private kernels
    # directly (the public API computes in float32).
    def f(x, s):
      if method == "patches":
        return blur_lib._blur_patches(x, s, kernel_size)  # pylint: disable=protected-access
      return blur_lib._rings_kernels(kernel_size, True)(x, s)  # pylint: disable=protected-access
    theoretical, numerical = tf.test.compute_gradient(
        f, [tf.constant(images), tf.constant(inv_var)], delta=1e-6)
    for t, n in zip(theoretical, numerical):
      self.assertAllClose(t, n, atol=1e-6, rtol=1e-5)

  @parameterized.product(channels=(1, 3), kernel_size=(3, 9))
  def test_methods_agree_on_values_and_gradients(self, channels, kernel_size):
    images = tf.constant(_random((2, 16, 14, 3), seed=6))
    inv_var = tf.constant(_random((2, 16, 14, channels), seed=8, low=0.0, high=3.0))
    upstream = tf.constant(_random((2, 16, 14, 3), seed=9))
    results = []
    for method in METHODS:
      with tf.GradientTape() as tape:
        tape.watch([images, inv_var])
        out = pixel_gaussian_blur(images, inv_var, kernel_size, method=method)
        loss = tf.reduce_sum(out * upstream)
      results.append([out] + tape.gradient(loss, [images, inv_var]))
    for a, b in zip(*results):
      self.assertAllClose(a, b, atol=1e-5, rtol=1e-5)

  def test_uncompiled_rings_equal_compiled(self):
    images = _random((2, 10, 10, 3), seed=10)
    inv_var = _random((2, 10, 10, 1), seed=11, low=0.0, high=2.0)
    self.assertAllClose(pixel_gaussian_blur(images, inv_var, 7, jit_compile=False),
                        pixel_gaussian_blur(images, inv_var, 7, jit_compile=True),
                        atol=1e-6)

  @parameterized.parameters(*METHODS)
  def test_tf_function_unknown_batch_and_xla(self, method):
    images = _random((3, 12, 12, 3), seed=12)
    inv_var = _random((3, 12, 12, 1), seed=13, low=0.0, high=2.0)
    expected = numpy_blur(images, inv_var, 5)
    spec = [tf.TensorSpec([None, 12, 12, 3]), tf.TensorSpec([None, 12, 12, 1])]
    plain = tf.function(lambda x, s: pixel_gaussian_blur(x, s, 5, method=method),
                        input_signature=spec)
    xla = tf.function(lambda x, s: pixel_gaussian_blur(x, s, 5, method=method),
                      input_signature=spec, jit_compile=True)
    self.assertAllClose(plain(images, inv_var), expected, atol=1e-5)
    self.assertAllClose(xla(images, inv_var), expected, atol=1e-5)

    @tf.function(input_signature=spec)
    def map_grad(x, s):
      with tf.GradientTape() as tape:
        tape.watch(s)
        loss = tf.reduce_sum(pixel_gaussian_blur(x, s, 5, method=method))
      return tape.gradient(loss, s)
    self.assertEqual(map_grad(images, inv_var).shape, (3, 12, 12, 1))

  @parameterized.product(method=METHODS, dtype=("bfloat16", "float16"))
  def test_low_precision_inputs(self, method, dtype):
    images = _random((2, 10, 10, 3), seed=14)
    inv_var = _random((2, 10, 10, 1), seed=15, low=0.0, high=2.0)
    got = pixel_gaussian_blur(tf.cast(images, dtype), tf.cast(inv_var, dtype), 5,
                              method=method)
    self.assertEqual(got.dtype, tf.as_dtype(dtype))
    expected = numpy_blur(tf.cast(tf.cast(images, dtype), tf.float32),
                          tf.cast(tf.cast(inv_var, dtype), tf.float32), 5)
    self.assertAllClose(tf.cast(got, tf.float32), expected, atol=2e-2)

  def test_sigma_helpers_are_inverse(self):
    sigma = np.array([0.5, 1.0, 2.0, 4.0], np.float32)
    self.assertAllClose(blur_lib.sigma_to_inv_var(sigma), 1.0 / sigma ** 2)
    self.assertAllClose(blur_lib.inv_var_to_sigma(blur_lib.sigma_to_inv_var(sigma)), sigma)

  # ---- errors -------------------------------------------------------------------------

  @parameterized.parameters(0, 2, 8, -3, 3.0, "9", True)
  def test_bad_kernel_size(self, kernel_size):
    with self.assertRaisesRegex(ValueError, "kernel_size"):
      pixel_gaussian_blur(np.zeros((1, 16, 16, 3), np.float32),
                          np.zeros((1, 16, 16, 1), np.float32), kernel_size)

  def test_bad_shapes(self):
    x = np.zeros((1, 16, 16, 3), np.float32)
    s = np.zeros((1, 16, 16, 1), np.float32)
    cases = [
        (np.zeros((16, 16, 3), np.float32), s, "images must have rank 4"),
        (x, np.zeros((16, 16, 1), np.float32), "inv_var must have rank 4"),
        (x, np.zeros((1, 16, 16, 2), np.float32), "1 or 3 channels"),
        (x, np.zeros((1, 15, 16, 1), np.float32), "same height"),
        (x, np.zeros((1, 16, 12, 1), np.float32), "same width"),
        (np.zeros((1, 4, 16, 3), np.float32), np.zeros((1, 4, 16, 1), np.float32),
         "height 4 is too small"),
        (np.zeros((1, 16, 3, 3), np.float32), np.zeros((1, 16, 3, 1), np.float32),
         "width 3 is too small"),
        (np.zeros((1, 16, 16, 3), np.int32), s, "images must be a float"),
    ]
    for images, inv_var, message in cases:
      with self.assertRaisesRegex(ValueError, message):
        pixel_gaussian_blur(images, inv_var, 9)
    with self.assertRaisesRegex(ValueError, "method"):
      pixel_gaussian_blur(x, s, 3, method="fft")

  def test_nan_inv_var_raises_eagerly(self):
    s = np.zeros((1, 8, 8, 1), np.float32)
    s[0, 3, 3, 0] = np.nan
    with self.assertRaisesRegex(ValueError, "inv_var contains NaN"):
      pixel_gaussian_blur(np.zeros((1, 8, 8, 3), np.float32), s, 3)

  # ---- the Keras layer ----------------------------------------------------------------

  @parameterized.parameters(*METHODS)
  def test_layer(self, method):
    images = _random((2, 12, 12, 3), seed=16)
    inv_var = _random((2, 12, 12, 1), seed=17, low=0.0, high=2.0)
    out = run_layer_test(self, PixelGaussianBlur, {"kernel_size": 5, "method": method},
                         [images, inv_var], expected_output_shape=(2, 12, 12, 3))
    self.assertAllClose(out, numpy_blur(images, inv_var, 5), atol=1e-5)

  def test_layer_in_saved_model_file(self):
    images = keras.Input((12, 12, 3))
    inv_var = keras.Input((12, 12, 1))
    model = keras.Model([images, inv_var], PixelGaussianBlur(3)(images, inv_var))
    path = os.path.join(self.get_temp_dir(), "blur.keras")
    model.save(path)
    revived = keras.saving.load_model(path)
    x, s = _random((1, 12, 12, 3), 18), _random((1, 12, 12, 1), 19, 0.0, 1.0)
    self.assertAllClose(revived([x, s]), model([x, s]))

  def test_layer_rejects_bad_kernel_size(self):
    with self.assertRaisesRegex(ValueError, "kernel_size"):
      PixelGaussianBlur(kernel_size=4)


if __name__ == "__main__":
  tf.test.main()
