"""Tests for dfadv_tf.attacks.spatial: gradient SAT (Xiao et al. 2018)."""

import numpy as np
import tensorflow as tf

from dfadv_tf.attacks import spatial_attack
from dfadv_tf.ops.warp import flow_smoothness, flow_warp
from tests.testing.attacks import per_sample_loss, toy_batch, trained_detector, untrained_detector


class SpatialAttackTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = untrained_detector(seed=1)
    cls.images, cls.labels = toy_batch(6, seed=3)

  def test_one_step_matches_written_out_step(self):
    tau, step_size = 0.05, 0.3
    flow = tf.zeros((6, 16, 16, 2))
    with tf.GradientTape() as tape:
      tape.watch(flow)
      logits = self.model(flow_warp(self.images, flow))
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels=self.labels, logits=logits))
      objective = loss - tau * tf.reduce_mean(flow_smoothness(flow))
    want_flow = step_size * tf.sign(tape.gradient(objective, flow))
    adv, got_flow = spatial_attack(self.model, self.images, self.labels, tau=tau, steps=1,
                                   step_size=step_size, return_flow=True)
    self.assertAllClose(got_flow, want_flow)
    self.assertAllClose(adv, flow_warp(self.images, want_flow), atol=1e-6)

  def test_flow_bound_clip_and_tf_function(self):
    @tf.function
    def attack(images, labels):
      with tf.GradientTape() as tape:
        tape.watch(images)
        adv, flow = spatial_attack(self.model, images, labels, steps=3, step_size=0.2,
                                   return_flow=True)
      return adv, flow, tape.gradient(adv, images)

    adv, flow, grad = attack(tf.constant(self.images), tf.constant(self.labels))
    self.assertLessEqual(np.abs(flow.numpy()).max(), 3 * 0.2 + 1e-6)
    self.assertBetween(float(tf.reduce_min(adv)), -1.0, 1.0)
    self.assertBetween(float(tf.reduce_max(adv)), -1.0, 1.0)
    self.assertIsNone(grad)

  def test_larger_tau_gives_a_smoother_flow(self):
    smoothness = []
    for tau in (0.0, 10.0):
      _, flow = spatial_attack(self.model, self.images, self.labels, tau=tau, steps=4,
                               step_size=0.1, return_flow=True)
      smoothness.append(float(tf.reduce_mean(flow_smoothness(flow))))
    self.assertLess(smoothness[1], smoothness[0])

  def test_raises_the_loss_of_a_trained_model(self):
    model = trained_detector(seed=0)
    images, labels = toy_batch(64, seed=11)
    adv = spatial_attack(model, images, labels, steps=3, step_size=0.1)
    clean = per_sample_loss(model, images, labels)
    self.assertGreaterEqual(np.mean(per_sample_loss(model, adv, labels) > clean), 0.9)

  def test_bad_inputs(self):
    model, images, labels = self.model, self.images, self.labels
    with self.assertRaisesRegex(ValueError, "tau must be >= 0"):
      spatial_attack(model, images, labels, tau=-1.0)
    with self.assertRaisesRegex(ValueError, "steps must be an integer >= 1"):
      spatial_attack(model, images, labels, steps=0)
    with self.assertRaisesRegex(ValueError, "labels must have one entry per image"):
      spatial_attack(model, images, labels[:3])
    with self.assertRaisesRegex(ValueError, r"model output must be \(B, 2\) logits"):
      spatial_attack(untrained_detector(num_classes=1), images, labels)


if __name__ == "__main__":
  tf.test.main()
