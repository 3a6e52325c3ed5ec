"""Tests for dfadv_tf.timing."""

import time

import tensorflow as tf

from dfadv_tf import timing


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


if __name__ == "__main__":
  tf.test.main()
