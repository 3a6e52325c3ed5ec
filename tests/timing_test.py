"""Tests for dfadv_tf.timing."""

import time

import keras
import tensorflow as tf

from dfadv_tf import timing
from dfadv_tf.training import GeneratorBATModel
from tests.testing.data import tiny_arrays
from tests.testing.models import tiny_detector


class TimingTest(tf.test.TestCase):

  def test_medians_interleave_and_warm_up(self):
    calls = []
    runs = {"a": lambda: calls.append("a"),
            "b": lambda: (calls.append("b"), time.sleep(0.02))}
    medians = timing.interleaved_medians(runs, repeats=3, warmup=2)
    self.assertEqual(calls, ["a", "a", "b", "b"] + ["a", "b"] * 3)
    self.assertGreater(medians["b"], medians["a"])
    self.assertGreaterEqual(medians["b"], 0.02)
    with self.assertRaisesRegex(ValueError, "repeats must be >= 1"):
      timing.interleaved_medians(runs, repeats=0)


class FlopsAndPrecisionsTest(tf.test.TestCase):

  def test_conv_and_dense_step_flops(self):
    x = tf.random.uniform((2, 16, 16, 3))
    conv, dense = keras.layers.Conv2D(8, 3), keras.layers.Dense(5)
    conv.build(x.shape)
    dense.build((None, 8))

    def step(x):
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(dense(tf.reduce_mean(conv(x), [1, 2])))
      return tape.gradient(loss, conv.trainable_variables + dense.trainable_variables)

    conv_flops = 2 * (2 * 14 * 14 * 8) * (3 * 3 * 3)  # 2 x outputs x taps per output
    dense_flops = 2 * (2 * 5) * 8
    self.assertEqual(timing.function_flops(lambda x: conv(x), x), conv_flops)
    # Forward + the kernel gradient of each layer (no input gradient: pruned by XLA).
    self.assertEqual(timing.function_flops(step, x), 2 * conv_flops + 2 * dense_flops)
    depthwise = keras.layers.DepthwiseConv2D(3)
    depthwise.build(x.shape)
    self.assertEqual(timing.function_flops(lambda x: depthwise(x), x),
                     2 * (2 * 14 * 14 * 3) * 9)

  def test_train_step_flops_of_a_generator_mode_counts_its_parts(self):
    images, labels = tiny_arrays(4, labels=[0, 1, 0, 1])
    model = GeneratorBATModel(tiny_detector(), generators=2, g_steps=3, kernel_size=3,
                              generator_kwargs={"width": 4, "n_blocks": 1})
    model.compile()
    images, labels = tf.constant(images), tf.constant(labels)
    total = timing.train_step_flops(model, images, labels)
    self.assertTrue(model.graph_checks())  # restored after the count
    model.jit_compile = True  # no in-graph assertions: XLA cannot compile their strings
    update = timing.function_flops(model.generator_step, images, labels)
    detector = timing.function_flops(lambda x, y: model.detector_update(x, y, x), images,
                                     labels)
    self.assertGreater(update, 0)
    self.assertGreater(detector, 0)
    self.assertEqual(total, 3 * update + detector)

  def test_parse_precisions_and_jit(self):
    self.assertEqual(timing.parse_precisions("float32, mixed_bfloat16", gpu=False),
                     ["float32", "mixed_bfloat16"])
    self.assertEqual(timing.parse_precisions("mixed_float16", gpu=True), ["mixed_float16"])
    with self.assertRaisesRegex(ValueError, "needs a GPU"):
      timing.parse_precisions("float32,mixed_float16", gpu=False)
    with self.assertRaisesRegex(ValueError, "'bf16' is not one of"):
      timing.parse_precisions("bf16", gpu=False)
    self.assertEqual(timing.parse_jit("0,1"), [False, True])
    with self.assertRaisesRegex(ValueError, "list of 0 and 1"):
      timing.parse_jit("yes")

  def test_measured_peak(self):
    rates = timing.measured_peak_gflops("float32", repeats=1)
    self.assertEqual(set(rates), {"matmul", "conv"})
    self.assertTrue(all(rate > 0 for rate in rates.values()))


if __name__ == "__main__":
  tf.test.main()
