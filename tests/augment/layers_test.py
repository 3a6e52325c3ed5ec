"""Tests for dfadv_tf.augment.layers (App. E traditional augmentation, reference augment)."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from dfadv_tf.augment.layers import (AUGMENTATIONS, Combined, GaussianBlur, GaussianNoise,
                                     JpegCompression, ReferenceAugment, get_augmentation)
from dfadv_tf.ops.blur import pixel_gaussian_blur
from tests.testing.layers import run_layer_test

LAYERS = {"noise": GaussianNoise, "blur": GaussianBlur, "jpeg": JpegCompression,
          "combined": Combined, "reference": ReferenceAugment}


def _images(shape=(4, 16, 16, 3), seed=0):
  return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32)


def _smooth_images(batch=8, size=32, seed=0):
  """Smooth colour images in [-0.8, 0.8]: a few low-frequency sinusoids."""
  rng = np.random.default_rng(seed)
  yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
  out = np.zeros((batch, size, size, 3), np.float32)
  for b in range(batch):
    for c in range(3):
      fy, fx, phase = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3)
      out[b, :, :, c] = 0.8 * np.sin(fy * yy + fx * xx + phase)
  return out


def _high_frequency_energy(images):
  """Mean squared discrete Laplacian."""
  images = np.asarray(images, np.float64)
  lap = (4 * images[:, 1:-1, 1:-1] - images[:, :-2, 1:-1] - images[:, 2:, 1:-1]
         - images[:, 1:-1, :-2] - images[:, 1:-1, 2:])
  return float(np.mean(lap ** 2))


class AugmentLayersTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(*LAYERS)
  def test_layer_checks(self, name):
    out = run_layer_test(self, LAYERS[name], {"seed": 3}, _images(),
                         expected_output_shape=(4, 16, 16, 3))
    self.assertAllInRange(out, -1.0, 1.0)

  @parameterized.parameters(*LAYERS)
  def test_inference_mode_is_identity(self, name):
    images = _images()
    layer = get_augmentation(name, seed=1)
    self.assertAllEqual(layer(images, training=False), images)
    model = keras.Sequential([keras.Input((16, 16, 3)), layer])
    self.assertAllEqual(model.predict(images, verbose=0), images)

  @parameterized.parameters(*LAYERS)
  def test_seeded_layers_repeat_and_calls_differ(self, name):
    images = _images()
    first, twin = get_augmentation(name, seed=5), get_augmentation(name, seed=5)
    out = first(images)
    self.assertAllEqual(twin(images), out)
    self.assertAllInRange(out, -1.0, 1.0)
    self.assertNotAllClose(first(images), out)  # the generator moves on
    self.assertNotAllClose(get_augmentation(name, seed=6)(images), out)

  @parameterized.parameters(*LAYERS)
  def test_in_tf_data_batched_and_unbatched(self, name):
    images = _images()
    layer = get_augmentation(name, seed=2)
    batched = list(tf.data.Dataset.from_tensor_slices(images).batch(2).map(layer))
    single = list(tf.data.Dataset.from_tensor_slices(images).map(layer))
    self.assertEqual([tuple(b.shape) for b in batched], [(2, 16, 16, 3)] * 2)
    self.assertEqual([tuple(b.shape) for b in single], [(16, 16, 3)] * 4)
    self.assertAllInRange(tf.concat(batched, 0), -1.0, 1.0)

  def test_factory(self):
    self.assertIsNone(get_augmentation("none"))
    self.assertEqual(AUGMENTATIONS, ("none",) + tuple(LAYERS))
    for name, cls in LAYERS.items():
      self.assertIsInstance(get_augmentation(name), cls)
    with self.assertRaisesRegex(ValueError, r"'mixup'.*none.*noise.*reference"):
      get_augmentation("mixup")

  def test_gaussian_noise_statistics(self):
    # Mid-grey images, so that nothing is clipped: the noise is out - in.
    layer = GaussianNoise(seed=0)
    images = np.zeros((200, 24, 24, 3), np.float32)
    noise = (np.asarray(layer(images)) - images) * (255.0 / 2.0)  # 0-255 units
    variance = noise.reshape(200, -1).var(axis=1)
    noisy = variance > 0
    self.assertBetween(noisy.mean(), 0.38, 0.62)  # p = 0.5
    self.assertAllInRange(variance[noisy], 0.0, 30.0 * 1.15)
    self.assertGreater(variance[noisy].max(), 25.0)  # U[0, 30] covers its range
    self.assertLess(variance[noisy].min(), 5.0)
    self.assertAllClose(noise[noisy].mean(), 0.0, atol=0.05)

  def test_gaussian_noise_fixed_variance(self):
    layer = GaussianNoise(p=1.0, variance=(20.0, 20.0), seed=0)
    noise = (np.asarray(layer(np.zeros((8, 32, 32, 3), np.float32)))) * (255.0 / 2.0)
    self.assertAllClose(noise.reshape(8, -1).var(axis=1), [20.0] * 8, rtol=0.1)

  def test_gaussian_blur_lowers_high_frequency_energy(self):
    images = _images((8, 32, 32, 3))
    blurred = GaussianBlur(variance=(1.0, 30.0), seed=0)(images)
    self.assertLess(_high_frequency_energy(blurred), 0.5 * _high_frequency_energy(images))
    self.assertAllInRange(blurred, -1.0, 1.0)
    self.assertAllClose(tf.reduce_mean(blurred, axis=[1, 2]),
                        tf.reduce_mean(images, axis=[1, 2]), atol=0.05)

  def test_gaussian_blur_is_the_pixel_blur_with_a_constant_map(self):
    images = _images((2, 16, 16, 3))
    got = GaussianBlur(variance=(2.0, 2.0), kernel_size=5, seed=0)(images)
    want = pixel_gaussian_blur(images, np.full((2, 16, 16, 1), 0.5, np.float32), 5)
    self.assertAllClose(got, want, atol=1e-6)
    self.assertAllClose(GaussianBlur(variance=(0.0, 0.0), seed=0)(images), images,
                        atol=1e-6)

  def test_jpeg_changes_the_image_and_keeps_the_range(self):
    images = _smooth_images()
    low = np.asarray(JpegCompression(quality=(60, 60), seed=0)(images))
    high = np.asarray(JpegCompression(quality=(100, 100), seed=0)(images))
    self.assertAllInRange(low, -1.0, 1.0)
    self.assertGreater(np.abs(low - images).mean(), 1e-3)
    self.assertLess(np.abs(high - images).mean(), np.abs(low - images).mean())
    # Decoded 8-bit levels in [-1, 1] units.
    levels = (low + 1.0) * 127.5
    self.assertAllClose(levels, np.round(levels), atol=1e-3)
    # The same as tf.image on one image.
    want = tf.image.adjust_jpeg_quality((images[0] + 1.0) / 2.0, 60) * 2.0 - 1.0
    self.assertAllClose(low[0], want, atol=1e-6)

  def test_jpeg_probability(self):
    images = _smooth_images(batch=64, size=16)
    out = np.asarray(JpegCompression(p=0.5, seed=0)(images))
    changed = np.abs(out - images).reshape(64, -1).max(axis=1) > 0
    self.assertBetween(changed.mean(), 0.3, 0.7)

  def test_combined_applies_all_three(self):
    images = _smooth_images(batch=4)
    layer = Combined(noise_p=1.0, seed=0)
    out = np.asarray(layer(images))
    self.assertAllInRange(out, -1.0, 1.0)
    levels = (out + 1.0) * 127.5
    self.assertAllClose(levels, np.round(levels), atol=1e-3)  # JPEG last
    self.assertEqual(layer.get_config()["quality"], [60, 100])
    self.assertEqual(layer.get_config()["kernel_size"], 9)

  def test_reference_augment_statistics(self):
    images = _smooth_images(batch=200, size=16, seed=1)
    out = np.asarray(ReferenceAugment(seed=0)(images))
    self.assertAllInRange(out, -1.0, 1.0)
    gray = np.abs(out[..., 0] - out[..., 1]).reshape(200, -1).max(axis=1) < 1e-6
    self.assertBetween(gray.mean(), 0.1, 0.3)  # to-gray p = 0.2
    self.assertGreater(np.abs(out - images).reshape(200, -1).mean(axis=1).min(), 0.0)

  def test_jit_support_flags(self):
    self.assertTrue(GaussianNoise().supports_jit)
    self.assertTrue(GaussianBlur().supports_jit)
    for cls in (JpegCompression, Combined, ReferenceAugment):
      self.assertFalse(cls().supports_jit)

  def test_invalid_arguments(self):
    with self.assertRaisesRegex(ValueError, "p must be a probability"):
      GaussianNoise(p=1.5)
    with self.assertRaisesRegex(ValueError, "variance must satisfy"):
      GaussianBlur(variance=(5.0, 1.0))
    with self.assertRaisesRegex(ValueError, "kernel_size must be an odd int"):
      GaussianBlur(kernel_size=4)
    with self.assertRaisesRegex(ValueError, "quality must satisfy"):
      JpegCompression(quality=(60, 120))
    with self.assertRaisesRegex(ValueError, r"images must be \(B, H, W, 3\)"):
      GaussianNoise()(np.zeros((2, 8, 8, 1), np.float32))


if __name__ == "__main__":
  tf.test.main()
