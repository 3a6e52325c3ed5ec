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
