"""Tests for dfadv_tf.serialization."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.serialization import deserialize_nested


class DeserializeNestedTest(tf.test.TestCase):

  def test_rebuilds_nested_models_and_leaves_the_config_intact(self):
    inputs = keras.Input((3,))
    inner = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    config = {"name": "outer", "detector": keras.saving.serialize_keras_object(inner)}
    before = repr(config)
    rebuilt = deserialize_nested(config, "detector")
    self.assertIsInstance(rebuilt["detector"], keras.Model)
    self.assertEqual(rebuilt["name"], "outer")
    self.assertEqual(rebuilt["detector"].output_shape, (None, 2))
    self.assertEqual(repr(config), before)  # twice from one config works
    again = deserialize_nested(config, "detector")
    x = np.ones((1, 3), np.float32)
    self.assertEqual(again["detector"](x).shape, (1, 2))


if __name__ == "__main__":
  tf.test.main()
