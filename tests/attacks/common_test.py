"""Tests for dfadv_tf.attacks.common: the per-example loss reductions of every attack."""

import numpy as np
import tensorflow as tf

from dfadv_tf.attacks import common
from tests.testing.training import mirrored_strategy


class ReduceLossesTest(tf.test.TestCase):

  def test_reductions(self):
    losses = tf.constant([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    labels = tf.constant([0, 1, 1, 0, 1, 1])
    self.assertAllClose(common.reduce_losses(losses, labels, "sum"), 21.0)
    self.assertAllClose(common.reduce_losses(losses, labels, "mean"), 21.0 / 6)
    # Each class's mean, summed: (1 + 4) / 2 + (2 + 3 + 5 + 6) / 4.
    self.assertAllClose(common.reduce_losses(losses, labels, "class_mean"), 2.5 + 4.0)
    one_class = tf.zeros([6], tf.int32)
    self.assertAllClose(common.reduce_losses(losses, one_class, "class_mean"), 21.0 / 6)

  def test_class_sizes_are_those_of_the_global_batch(self):
    losses = np.arange(1.0, 9.0, dtype=np.float32)
    labels = np.array([0, 0, 0, 1, 1, 0, 1, 1], np.int32)  # replica 0: 3 real, 1 fake
    strategy = mirrored_strategy()

    def replica_fn():
      index = tf.distribute.get_replica_context().replica_id_in_sync_group
      return common.reduce_losses(tf.reshape(losses, [2, 4])[index],
                                  tf.reshape(labels, [2, 4])[index], "class_mean")

    got = strategy.reduce(tf.distribute.ReduceOp.SUM,
                          tf.function(lambda: strategy.run(replica_fn))(), axis=None)
    # Both replicas divide by the global class sizes (4 real, 4 fake), as one device.
    self.assertAllClose(got, common.reduce_losses(losses, labels, "class_mean"))
    self.assertAllClose(got, (1 + 2 + 3 + 6) / 4 + (4 + 5 + 7 + 8) / 4)

  def test_bad_reduction_and_scalar_loss(self):
    with self.assertRaisesRegex(ValueError, "loss_reduction must be one of"):
      common.reduce_losses(tf.ones([2]), tf.zeros([2], tf.int32), "max")
    with self.assertRaisesRegex(ValueError, r"per-example losses of shape \(B,\)"):
      common.reduce_losses(tf.constant(1.0), tf.zeros([2], tf.int32), "sum")


if __name__ == "__main__":
  tf.test.main()
