"""Tests for dfadv_tf.serving: preprocessing, SavedModel export, safe loading."""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from tests.testing import tools as utils


class ServingTest(tf.test.TestCase):

  def test_preprocess_matches_training_scaling(self):
    images = np.array([[[[0, 127, 255]] * 4] * 4], np.uint8)
    out = serving.preprocess(images, (4, 4))
    self.assertAllClose(out[0, 0, 0], [-1.0, 127 / 127.5 - 1, 1.0])
    self.assertEqual(serving.preprocess(np.zeros((2, 10, 7, 3), np.uint8), (5, 6)).shape,
                     (2, 5, 6, 3))
    with self.assertRaisesRegex(ValueError, "uint8"):
      serving.preprocess(np.zeros((1, 4, 4, 3), np.float32), (4, 4))
    with self.assertRaisesRegex(ValueError, r"\(B, H, W, 3\)"):
      serving.preprocess(np.zeros((1, 4, 4, 4), np.uint8), (4, 4))

  def test_export_reload_gives_the_same_scores(self):
    tmp = self.get_temp_dir()
    detector = utils.save_tiny_detector(os.path.join(tmp, "d.keras"))
    export_dir = os.path.join(tmp, "saved")
    keras_path = os.path.join(tmp, "exported.keras")
    serving.export_detector(detector, export_dir, keras_path)
    images = np.random.default_rng(0).integers(0, 256, (3, 48, 40, 3)).astype(np.uint8)
    expected = serving.fake_probability(detector, serving.preprocess(images, (32, 32)))
    served = tf.saved_model.load(export_dir).signatures["serving_default"]
    self.assertAllClose(served(images=tf.constant(images))["fake_probability"], expected,
                        atol=1e-5)
    reloaded = serving.load_detector(keras_path)
    self.assertAllClose(serving.fake_probability(
        reloaded, serving.preprocess(images, (32, 32))), expected, atol=1e-6)
    self.assertEqual([f for f in os.listdir(tmp) if f.startswith(".tmp")], [])
    with self.assertRaisesRegex(FileExistsError, "overwrite"):
      serving.export_detector(detector, export_dir)
    serving.export_detector(detector, export_dir, overwrite=True)

  def test_lambda_layer_is_refused_in_safe_mode(self):
    inputs = keras.Input((8, 8, 3))
    logits = keras.layers.Dense(2)(keras.layers.Flatten()(
        keras.layers.Lambda(lambda x: x * 2.0)(inputs)))
    path = os.path.join(self.get_temp_dir(), "lambda.keras")
    keras.Model(inputs, logits).save(path)
    with self.assertRaisesRegex(ValueError, "lambda.keras contains a Lambda layer"):
      serving.load_detector(path)
    self.assertIsNotNone(serving.load_detector(path, safe_mode=False))
    with self.assertRaisesRegex(FileNotFoundError, "missing.keras"):
      serving.load_detector(os.path.join(self.get_temp_dir(), "missing.keras"))

  def test_detector_without_static_size(self):
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    with self.assertRaisesRegex(ValueError, "no static input size"):
      serving.detector_image_size(model)


if __name__ == "__main__":
  tf.test.main()
