"""Tests for dfadv_tf.models.classifiers: classifiers in the [-1, 1] image space."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.models import classifiers


class ClassifiersTest(tf.test.TestCase):

  def test_resizes_and_preprocesses(self):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    seen = []
    wrapped = classifiers.ImageSpaceClassifier(
        "m", model, (8, 8), preprocess=lambda pixels: seen.append(pixels) or pixels / 255.0)
    images = tf.fill((2, 16, 16, 3), 1.0)  # white in [-1, 1]
    out = wrapped(images)
    self.assertEqual(seen[0].shape, (2, 8, 8, 3))
    self.assertAllClose(seen[0], np.full((2, 8, 8, 3), 255.0))
    self.assertAllClose(out, np.ones((2, 3)))
    self.assertEqual(wrapped.num_classes, 3)

  def test_bad_specs(self):
    with self.assertRaisesRegex(ValueError, "unknown model 'InceptionV4'.*Inception-v4"):
      classifiers.from_application("InceptionV4")
    with self.assertRaisesRegex(ValueError, "weights file '/no/such.h5' for InceptionV3"):
      classifiers.from_application("InceptionV3=/no/such.h5")


if __name__ == "__main__":
  tf.test.main()
