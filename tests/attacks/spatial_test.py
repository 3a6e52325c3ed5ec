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

  def written_out_steps(self, tau, steps, step_size):
    """Each image's own objective CE - tau * L_flow / (H W), steps of step_size px RMS,
    the best iterate of each image."""
    flow = np.zeros((6, 16, 16, 2), np.float32)
    best, best_flow = np.full(6, -np.inf), flow
    for step in range(steps + 1):
      flow_t = tf.constant(flow)
      with tf.GradientTape() as tape:
        tape.watch(flow_t)
        logits = self.model(flow_warp(self.images, flow_t))
        values = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=self.labels, logits=logits) - tau * flow_smoothness(flow_t) / 256.0
        objective = tf.reduce_sum(values)
      better = values.numpy() > best
      best = np.where(better, values.numpy(), best)
      best_flow = np.where(better[:, None, None, None], flow, best_flow)
      if step < steps:
        grad = tape.gradient(objective, flow_t).numpy()
        flow = flow + step_size * grad / np.sqrt((grad ** 2).mean(axis=(1, 2, 3),
                                                                   keepdims=True))
    return best_flow

  def test_steps_match_written_out_steps(self):
    want_flow = self.written_out_steps(0.02, 3, 0.05)
    adv, got_flow = spatial_attack(self.model, self.images, self.labels, tau=0.02, steps=3,
                                   step_size=0.05, return_flow=True)
    self.assertGreater(np.abs(want_flow).max(), 0.05)
    self.assertEqual(np.abs(want_flow[2]).max(), 0.0)  # its J fell: the zero flow is kept
    self.assertAllClose(got_flow, want_flow, atol=1e-5)
    self.assertAllClose(adv, flow_warp(self.images, want_flow), atol=1e-5)

  def test_tau_matters(self):
    flows = [spatial_attack(self.model, self.images, self.labels, tau=tau, step_size=0.05,
                            return_flow=True)[1].numpy() for tau in (0.0, 0.005, 0.02)]
    self.assertGreater(np.abs(flows[0] - flows[1]).max(), 1e-4)
    self.assertGreater(np.abs(flows[1] - flows[2]).max(), 1e-4)
    smoothness = [float(tf.reduce_mean(flow_smoothness(f))) for f in flows]
    self.assertLess(smoothness[1], smoothness[0])

  def test_flow_bound_clip_and_tf_function(self):
    @tf.function
    def attack(images, labels):
      with tf.GradientTape() as tape:
        tape.watch(images)
        adv, flow = spatial_attack(self.model, images, labels, tau=0.0, steps=3,
                                   step_size=0.2, return_flow=True)
      return adv, flow, tape.gradient(adv, images)

    adv, flow, grad = attack(tf.constant(self.images), tf.constant(self.labels))
    rms = np.sqrt((flow.numpy() ** 2).mean(axis=(1, 2, 3)))
    self.assertAllLessEqual(rms, 3 * 0.2 + 1e-6)
    self.assertGreater(rms.max(), 0.1)
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
    model = trained_detector(seed=0, epochs=1)
    images, labels = toy_batch(64, seed=11)
    clean = per_sample_loss(model, images, labels)
    attacked = per_sample_loss(model, spatial_attack(model, images, labels), labels)
    self.assertAllGreaterEqual(attacked - clean, -1e-6)  # the best iterate: never lower
    self.assertGreaterEqual(np.mean(attacked > clean + 1e-6), 0.3)
    no_cost = per_sample_loss(model, spatial_attack(model, images, labels, tau=0.0), labels)
    self.assertGreaterEqual(np.mean(no_cost > clean + 1e-6), 0.9)

  def test_bad_inputs(self):
    model, images, labels = self.model, self.images, self.labels
    with self.assertRaisesRegex(ValueError, "tau must be >= 0"):
      spatial_attack(model, images, labels, tau=-1.0)
    with self.assertRaisesRegex(ValueError, "steps must be an integer >= 1"):
      spatial_attack(model, images, labels, steps=0)
    with self.assertRaisesRegex(ValueError, "loss_reduction must be one of"):
      spatial_attack(model, images, labels, loss_reduction="max")
    with self.assertRaisesRegex(ValueError, "labels must have one entry per image"):
      spatial_attack(model, images, labels[:3])
    with self.assertRaisesRegex(ValueError, r"model output must be \(B, 2\) logits"):
      spatial_attack(untrained_detector(num_classes=1), images, labels)


if __name__ == "__main__":
  tf.test.main()
