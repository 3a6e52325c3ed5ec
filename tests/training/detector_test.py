"""Tests of dfadv_tf.training.detector.DetectorModel (plain training)."""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.training.detector import DetectorModel
from tests.testing.data import tiny_arrays
from tests.testing.data import tiny_dataset
from tests.testing.layers import run_layer_test
from tests.testing.models import tiny_detector
from tests.testing.training import changed
from tests.testing.training import mirrored_strategy
from tests.testing.training import snapshot


class DetectorModelTest(tf.test.TestCase):

  def tearDown(self):
    keras.config.set_dtype_policy("float32")
    super().tearDown()

  def test_layer(self):
    run_layer_test(self, DetectorModel, lambda: {"detector": tiny_detector()},
                   tiny_arrays(2)[0], expected_output_shape=(2, 2), output_dtype="float32")

  def test_fit_evaluate_predict(self):
    model = DetectorModel(tiny_detector())
    model.compile()
    before = snapshot(model.detector.trainable_weights)
    history = model.fit(tiny_dataset(16), epochs=2, verbose=0).history
    self.assertEqual(set(history), {"loss", "accuracy", "auc"})
    self.assertTrue(np.all(np.isfinite(history["loss"])))
    self.assertTrue(changed(before, model.detector.trainable_weights))
    results = model.evaluate(tiny_dataset(16), verbose=0, return_dict=True)
    self.assertEqual(set(results), {"loss", "accuracy", "auc"})
    self.assertEqual(model.predict(tiny_dataset(16), verbose=0).shape, (16, 2))

  def test_fit_on_dicts(self):
    model = DetectorModel(tiny_detector())
    model.compile()
    history = model.fit(tiny_dataset(dicts=True), epochs=1, verbose=0).history
    self.assertTrue(np.isfinite(history["loss"][0]))
    self.assertEqual(model.predict(tiny_dataset(dicts=True), verbose=0).shape, (8, 2))

  def test_save_load_round_trip(self):
    model = DetectorModel(tiny_detector())
    model.compile()
    model.fit(tiny_dataset(), epochs=1, verbose=0)
    path = os.path.join(self.get_temp_dir(), "detector_model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    self.assertIsInstance(loaded, DetectorModel)
    images = tiny_arrays()[0]
    self.assertAllClose(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    self.assertEqual(int(loaded.optimizer.iterations), int(model.optimizer.iterations))
    detector_path = os.path.join(self.get_temp_dir(), "detector.keras")
    model.detector.save(detector_path)
    self.assertAllClose(keras.saving.load_model(detector_path)(images),
                        model.detector(images))

  def test_mixed_bfloat16_fit_step(self):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = DetectorModel(tiny_detector())
    model.compile()
    self.assertTrue(np.isfinite(model.fit(tiny_dataset(), verbose=0).history["loss"][0]))

  def test_mixed_float16_loss_scaling(self):
    keras.config.set_dtype_policy("mixed_float16")
    model = DetectorModel(tiny_detector())
    model.compile()
    self.assertIsInstance(model.optimizer, keras.optimizers.LossScaleOptimizer)

  def test_mirrored_strategy_fit_step(self):
    strategy = mirrored_strategy()
    with strategy.scope():
      model = DetectorModel(tiny_detector())
      model.compile()
    self.assertTrue(np.isfinite(model.fit(tiny_dataset(), verbose=0).history["loss"][0]))

  def test_unbuilt_detector_is_rejected(self):
    with self.assertRaisesRegex(ValueError, "detector must be built"):
      DetectorModel(keras.Sequential([keras.layers.Dense(2)]))


if __name__ == "__main__":
  tf.test.main()
