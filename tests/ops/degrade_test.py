"""Tests for dfadv_tf/ops/degrade.py: the one JPEG, noise and blur of the augmentations
and the corruptions."""

import numpy as np
import tensorflow as tf

from dfadv_tf.ops import degrade
from dfadv_tf.ops.blur import pixel_gaussian_blur


def _images(batch=3, size=16, seed=0):
  return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)),
                     tf.float32)


class DegradeTest(tf.test.TestCase):

  def test_blur_is_the_pixel_blur_with_a_constant_map(self):
    images = _images()
    sigma = tf.constant([0.5, 1.0, 2.5])
    inv_var = (1.0 / tf.square(sigma))[:, None, None, None] * tf.ones_like(images[..., :1])
    self.assertAllClose(degrade.gaussian_blur(images, sigma, 5),
                        pixel_gaussian_blur(images, inv_var, 5), atol=1e-5)
    self.assertAllClose(degrade.gaussian_blur(images, 1.5, 7),
                        pixel_gaussian_blur(images, tf.fill(images.shape[:3] + [1],
                                                            1 / 1.5 ** 2), 7), atol=1e-5)

  def test_blur_of_sigma_0_is_the_identity_and_keeps_a_constant_image(self):
    images = _images()
    self.assertAllClose(degrade.gaussian_blur(images, 0.0, 9), images)
    flat = tf.fill([1, 12, 12, 3], 0.25)
    self.assertAllClose(degrade.gaussian_blur(flat, 3.0, degrade.blur_window(3.0)), flat)
    self.assertEqual(degrade.blur_window(0.5), 5)
    with self.assertRaisesRegex(ValueError, "odd"):
      degrade.gaussian_blur(images, 1.0, 4)

  def test_noise_std_is_in_grey_levels(self):
    images = tf.zeros([2, 4, 4, 3])
    out = degrade.add_noise(images, tf.constant([1.0, 3.0]), tf.ones_like(images))
    self.assertAllClose(out[0], tf.fill([4, 4, 3], 2.0 / 255))  # one grey level
    self.assertAllClose(out[1], tf.fill([4, 4, 3], 6.0 / 255))
    self.assertAllClose(degrade.add_noise(images, 0.0, tf.ones_like(images), mean=2.0),
                        tf.fill([2, 4, 4, 3], 4.0 / 255))
    self.assertAllEqual(degrade.add_noise(images + 1.0, 255.0, tf.ones_like(images)),
                        tf.ones_like(images))  # clipped

  def test_jpeg_round_trip_per_image_quality_and_mask(self):
    images = _images(batch=2, size=32)
    out = degrade.jpeg(images, tf.constant([10, 95]), apply=tf.constant([True, False]))
    expected = tf.image.adjust_jpeg_quality((images[0] + 1) / 2, 10) * 2 - 1
    self.assertAllClose(out[0], expected)
    self.assertAllEqual(out[1], images[1])  # not applied: untouched
    self.assertAllClose(degrade.jpeg(images, 95)[1], tf.image.adjust_jpeg_quality(
        (images[1] + 1) / 2, 95) * 2 - 1)
    self.assertEqual(degrade.jpeg(images, 50).shape, images.shape)


if __name__ == "__main__":
  tf.test.main()
