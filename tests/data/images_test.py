"""Tests for dfadv_tf.data.images: the one mapping from pixels to [-1, 1]."""

import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.data import images
from dfadv_tf.data import records


class ImagesTest(tf.test.TestCase):

  def test_range_size_and_the_same_result_from_every_path(self):
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    mapped = images.to_model_range(pixels, 16)
    self.assertEqual(mapped.shape, (16, 16, 3))
    self.assertAllInRange(mapped, -1.0, 1.0)
    self.assertAllClose(images.to_model_range(np.full((4, 4, 3), 255, np.uint8), 4),
                        np.ones((4, 4, 3)))
    decoded = images.decode(tf.constant(records.encode_image(pixels, "png")), 16)
    self.assertAllClose(decoded, mapped, atol=1e-6)
    served = serving.preprocess(pixels[None], (16, 16))[0]
    self.assertAllClose(served, mapped, atol=1e-6)
    self.assertEqual(images.to_model_range(pixels, (8, 12)).shape, (8, 12, 3))

  def test_gray_is_replicated(self):
    gray = np.full((6, 6), 128, np.uint8)
    decoded = images.decode(tf.constant(records.encode_image(gray, "png")), 6)
    self.assertEqual(decoded.shape, (6, 6, 3))
    self.assertAllClose(decoded[..., 0], decoded[..., 2])


if __name__ == "__main__":
  tf.test.main()
