"""Tests for dfadv_tf.ops.conv: the one-filter convolution as a matrix product."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from dfadv_tf.ops.conv import SingleFilterConv2D, single_filter_conv2d
from tests.testing.layers import run_layer_test


def _random(shape, seed):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


class SingleFilterConv2DTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((1, 3), (3, 5), (7, 8))
  def test_values_and_gradients_match_conv2d(self, kernel_size, channels):
    x = tf.constant(_random((2, 11, 9, channels), 0))
    kernel = tf.constant(_random((kernel_size, kernel_size, channels, 1), 1))
    upstream = _random((2, 12 - kernel_size, 10 - kernel_size, 1), 2)

    def outputs(conv):
      with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel)
        loss = tf.reduce_sum(y * upstream)
      return [y, *tape.gradient(loss, [x, kernel])]

    expected = outputs(lambda a, b: tf.nn.conv2d(a, b, 1, "VALID"))
    got = outputs(single_filter_conv2d)
    for e, g in zip(expected, got):
      self.assertEqual(e.shape, g.shape)
      self.assertAllClose(e, g, rtol=1e-5, atol=1e-5)
    got = tf.function(lambda: outputs(single_filter_conv2d), jit_compile=True)()
    self.assertAllClose(expected[2], got[2], rtol=1e-5, atol=1e-5)

  def test_layer(self):
    run_layer_test(self, SingleFilterConv2D, {"kernel_size": 3},
                   _random((2, 8, 8, 4), 0), expected_output_shape=(2, 6, 6, 1),
                   expected_num_trainable_weights=2)

  def test_loads_the_weights_of_a_conv2d(self):
    x = _random((1, 9, 9, 4), 3)
    conv = keras.layers.Conv2D(1, 5, bias_initializer="ones")
    conv(x)
    layer = SingleFilterConv2D(5)
    layer(x)
    layer.set_weights(conv.get_weights())
    self.assertAllClose(layer(x), conv(x), atol=1e-5)

  def test_refuses_what_it_does_not_compute(self):
    for kwargs in ({"filters": 2}, {"strides": 2}, {"padding": "same"},
                   {"dilation_rate": 2}, {"kernel_size": (3, 5)}):
      with self.assertRaisesRegex(ValueError, "SingleFilterConv2D"):
        SingleFilterConv2D(**{"kernel_size": 3, **kwargs})
    with self.assertRaisesRegex(ValueError, r"kernel must be \(k, k, C, 1\)"):
      single_filter_conv2d(tf.zeros((1, 5, 5, 2)), tf.zeros((3, 3, 2, 2)))


if __name__ == "__main__":
  tf.test.main()
