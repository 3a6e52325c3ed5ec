"""Tests for dfadv_tf.models.classifiers: classifiers in the [-1, 1] image space."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.models import backbones
from dfadv_tf.models import classifiers


class ClassifiersTest(tf.test.TestCase):

  def test_resizes_and_preprocesses(self):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    seen = []
    wrapped = classifiers.ImageSpaceClassifier(
        "m", model, (8, 8), preprocess=lambda images: seen.append(images) or images)
    images = tf.fill((2, 16, 16, 3), 1.0)  # white in [-1, 1]
    out = wrapped(images)
    self.assertEqual(seen[0].shape, (2, 8, 8, 3))
    self.assertAllClose(seen[0], np.ones((2, 8, 8, 3)))
    self.assertAllClose(out, np.ones((2, 3)))
    self.assertEqual(wrapped.num_classes, 3)

  def test_preprocessing_matches_keras(self):
    # The one table of input ranges (backbones.INPUT_RANGES) gives what each family's
    # keras preprocess_input gives, from [-1, 1] images.
    pixels = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype(np.float32)
    for name, preprocess in (
        ("ResNet50", keras.applications.resnet50.preprocess_input),
        ("InceptionV3", keras.applications.inception_v3.preprocess_input),
        ("MobileNet", keras.applications.mobilenet.preprocess_input),
        ("EfficientNetB0", keras.applications.efficientnet.preprocess_input)):
      layer = backbones.input_scaling(classifiers.APPLICATIONS[name][1])
      self.assertAllClose(layer(pixels / 127.5 - 1.0), preprocess(pixels.copy()),
                          atol=1e-3, msg=name)

  def test_bad_specs(self):
    with self.assertRaisesRegex(ValueError, "unknown model 'InceptionV4'.*Inception-v4"):
      classifiers.from_application("InceptionV4")
    with self.assertRaisesRegex(ValueError, "weights file '/no/such.h5' for InceptionV3"):
      classifiers.from_application("InceptionV3=/no/such.h5")


if __name__ == "__main__":
  tf.test.main()
