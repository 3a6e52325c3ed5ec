"""Tests of dfadv_tf.models.generator: BlurGenerator and its layers."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.models.generator import BlurGenerator
from dfadv_tf.models.generator import ReflectionPadding2D
from dfadv_tf.models.generator import RowMaskedBatchNormalization
from tests.testing.layers import run_layer_test
from tests.testing.training import GENERATOR_KWARGS
from tests.testing.training import changed
from tests.testing.training import snapshot


def _images(n=4, size=32, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


class BlurGeneratorTest(tf.test.TestCase):

  def tearDown(self):
    keras.config.set_dtype_policy("float32")
    super().tearDown()

  def test_layer(self):
    # The map is float32 under every policy (see test_float32_output_under_mixed_policy).
    run_layer_test(self, BlurGenerator, GENERATOR_KWARGS, _images(2),
                   expected_output_shape=(2, 32, 32, 1), output_dtype="float32")

  def test_reference_parameter_count(self):
    generator = BlurGenerator()
    generator.build((None, None, None, 3))
    self.assertEqual(sum(int(np.prod(w.shape)) for w in generator.trainable_weights),
                     4_293_121)

  def test_output_is_clamped_square(self):
    keras.utils.set_random_seed(1)
    generator = BlurGenerator(width=8, n_blocks=1, min_inv_var=2.0, max_inv_var=50.0)
    inv_var = generator(_images(), training=True).numpy()
    self.assertGreaterEqual(inv_var.min(), 2.0)
    self.assertLessEqual(inv_var.max(), 50.0)

  def test_reference_clamp_blocks_most_pixels_at_init(self):
    keras.utils.set_random_seed(0)
    generator = BlurGenerator()
    images = tf.constant(_images(2))
    with tf.GradientTape() as tape:
      inv_var = generator(images, training=True)
    grads = tape.gradient(inv_var, generator.get_layer("head_conv").kernel)
    self.assertGreater(float(tf.reduce_mean(tf.cast(inv_var == 1.0, tf.float32))), 0.5)
    self.assertIsNotNone(grads)

  def test_float32_output_under_mixed_policy(self):
    keras.config.set_dtype_policy("mixed_bfloat16")
    generator = BlurGenerator(**GENERATOR_KWARGS)
    out = generator(_images(2), training=True)
    self.assertEqual(out.dtype, tf.float32)
    self.assertEqual(generator.get_layer("stem_conv").compute_dtype, "bfloat16")

  def test_row_mask_uses_only_the_selected_rows(self):
    keras.utils.set_random_seed(2)
    generator = BlurGenerator(**GENERATOR_KWARGS)
    images = _images(4)
    mask = np.array([True, False, True, False])
    masked = generator(images, training=True, row_mask=tf.constant(mask)).numpy()
    alone = generator(images[mask], training=True).numpy()
    self.assertAllClose(masked[mask], alone, rtol=1e-4, atol=1e-4)

  def test_empty_row_mask_keeps_moving_statistics(self):
    generator = BlurGenerator(**GENERATOR_KWARGS)
    generator.build((None, None, None, 3))
    before = snapshot(generator.non_trainable_weights)
    self.assertNotEmpty(before)
    out = generator(_images(2), training=True, row_mask=tf.constant([False, False]))
    self.assertFalse(changed(before, generator.non_trainable_weights))
    self.assertTrue(np.all(np.isfinite(out.numpy())))
    generator(_images(2), training=True, row_mask=tf.constant([True, False]))
    self.assertTrue(changed(before, generator.non_trainable_weights))

  def test_invalid_arguments(self):
    with self.assertRaisesRegex(ValueError, "width"):
      BlurGenerator(width=0)
    with self.assertRaisesRegex(ValueError, "n_blocks"):
      BlurGenerator(n_blocks=-1)
    with self.assertRaisesRegex(ValueError, "min_inv_var"):
      BlurGenerator(min_inv_var=5.0, max_inv_var=1.0)


def _torch_conv_stride2_pad1(image, kernel):
  """torch Conv2d(k=3, stride=2, padding=1) of one channel, from its formula:
  out[o, p] = sum_{a, b} kernel[a, b] * image[2o + a - 1, 2p + b - 1] (zeros outside)."""
  size = image.shape[0]
  out = np.zeros((size // 2, size // 2))
  for o in range(size // 2):
    for p in range(size // 2):
      for a in range(3):
        for b in range(3):
          i, j = 2 * o + a - 1, 2 * p + b - 1
          if 0 <= i < size and 0 <= j < size:
            out[o, p] += kernel[a, b] * image[i, j]
  return out


def _torch_conv_transpose_stride2_pad1_out1(image, kernel):
  """torch ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1) of one channel,
  from its formula: input (i, j) adds kernel[a, b] * image[i, j] to output
  (2i + a - 1, 2j + b - 1), kept when inside the 2H x 2W output."""
  size = image.shape[0]
  out = np.zeros((2 * size, 2 * size))
  for i in range(size):
    for j in range(size):
      for a in range(3):
        for b in range(3):
          o, p = 2 * i + a - 1, 2 * j + b - 1
          if 0 <= o < 2 * size and 0 <= p < 2 * size:
            out[o, p] += kernel[a, b] * image[i, j]
  return out


class GeneratorAlignmentTest(tf.test.TestCase):
  """Impulses through the down- and up-sampling convs land where torch's formulas put
  them (the reference's Conv2d(stride 2, padding 1) / ConvTranspose2d(padding 1,
  output_padding 1)); Keras' "same" padding would miss by one pixel."""

  def _generator(self):
    generator = BlurGenerator(width=1, n_blocks=0)
    generator.build((None, 8, 8, 3))
    return generator

  def _one_channel(self, layer, kernel):
    """Sets `layer`'s kernel to `kernel` (3, 3) from input channel 0 to output channel 0,
    zero elsewhere."""
    weights = np.zeros(layer.kernel.shape, np.float32)
    weights[:, :, 0, 0] = kernel
    layer.kernel.assign(weights)

  def test_impulses(self):
    generator = self._generator()
    kernel = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    size = 8
    for iy, ix in [(0, 0), (3, 4), (7, 7), (5, 0)]:
      image = np.zeros((size, size), np.float32)
      image[iy, ix] = 1.0
      # Down-sampling (first stage: 1 -> 2 channels).
      pad, down_conv, _ = generator.down[0]
      self._one_channel(down_conv, kernel)
      x = np.zeros((1, size, size, down_conv.kernel.shape[2]), np.float32)
      x[0, :, :, 0] = image
      got = down_conv(pad(x)).numpy()[0, :, :, 0]
      self.assertAllClose(got, _torch_conv_stride2_pad1(image, kernel),
                          msg=f"down-sampling, impulse at {(iy, ix)}")
      # Up-sampling (first stage: 4 -> 2 channels; Keras kernel (3, 3, out, in)).
      up_conv, crop, _ = generator.up[0]
      self._one_channel(up_conv, kernel)
      x = np.zeros((1, size, size, up_conv.kernel.shape[3]), np.float32)
      x[0, :, :, 0] = image
      got = crop(up_conv(x)).numpy()[0, :, :, 0]
      self.assertAllClose(got, _torch_conv_transpose_stride2_pad1_out1(image, kernel),
                          msg=f"up-sampling, impulse at {(iy, ix)}")

  def test_keras_same_would_be_off_by_one(self):
    """The test above can fail: Keras' "same" transposed conv misses the formula."""
    kernel = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    same = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    same.build((None, 8, 8, 1))
    same.kernel.assign(kernel[:, :, None, None])
    image = np.zeros((8, 8), np.float32)
    image[3, 4] = 1.0
    got = same(image[None, :, :, None]).numpy()[0, :, :, 0]
    self.assertNotAllClose(got, _torch_conv_transpose_stride2_pad1_out1(image, kernel))
    self.assertAllClose(got[1:, 1:],
                        _torch_conv_transpose_stride2_pad1_out1(image, kernel)[:-1, :-1])


class GeneratorLayersTest(tf.test.TestCase):

  def test_reflection_padding(self):
    out = run_layer_test(self, ReflectionPadding2D, {"padding": 2}, _images(2, 8),
                         expected_output_shape=(2, 12, 12, 3))
    x = _images(1, 8)
    self.assertAllClose(out[:1], np.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], "reflect"))

  def test_row_masked_batch_normalization(self):
    run_layer_test(self, RowMaskedBatchNormalization, {}, _images(2, 8),
                   expected_output_shape=(2, 8, 8, 3))


if __name__ == "__main__":
  tf.test.main()
