"""Tests for dfadv_tf.ops.warp: bilinear flow warp and the smoothness cost (Xiao et al.)."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from dfadv_tf.ops.warp import flow_smoothness, flow_warp


def _images(shape=(2, 7, 9, 3), seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def _constant_flow(du, dv, shape=(2, 7, 9)):
  flow = np.zeros(shape + (2,), np.float32)
  flow[..., 0], flow[..., 1] = du, dv
  return flow


class FlowWarpTest(tf.test.TestCase, parameterized.TestCase):

  def test_zero_flow_is_identity(self):
    images = _images()
    self.assertAllEqual(flow_warp(images, np.zeros((2, 7, 9, 2), np.float32)), images)

  @parameterized.parameters((1, 0), (0, 2), (-2, 3), (3, -1), (-8, 10))
  def test_integer_flow_is_an_edge_clamped_shift(self, du, dv):
    images = _images()
    rows = np.clip(np.arange(7) + du, 0, 6)
    cols = np.clip(np.arange(9) + dv, 0, 8)
    want = images[:, rows][:, :, cols]
    self.assertAllEqual(flow_warp(images, _constant_flow(du, dv)), want)

  def test_half_pixel_flow_averages_neighbours(self):
    images = _images()
    got = flow_warp(images, _constant_flow(0.5, 0.0))
    self.assertAllClose(got[:, :-1], (images[:, :-1] + images[:, 1:]) / 2, atol=1e-6)
    self.assertAllClose(got[:, -1], images[:, -1], atol=1e-6)  # clamped at the edge

  def test_per_pixel_flow_and_flow_gradient(self):
    images = _images((1, 5, 5, 1))
    flow = np.zeros((1, 5, 5, 2), np.float32)
    flow[0, 2, 2] = (1.0, -1.0)  # only the centre pixel reads elsewhere
    got = flow_warp(images, flow).numpy()
    want = images.copy()
    want[0, 2, 2] = images[0, 3, 1]
    self.assertAllEqual(got, want)
    flow = tf.Variable(np.full((1, 5, 5, 2), 0.25, np.float32))
    with tf.GradientTape() as tape:
      out = tf.reduce_sum(flow_warp(images, flow))
    grad = tape.gradient(out, flow)
    self.assertTrue(np.isfinite(grad.numpy()).all())
    self.assertGreater(np.abs(grad.numpy()).max(), 0.0)

  def test_keeps_dtype_and_runs_in_tf_function(self):
    images = tf.constant(_images(), tf.bfloat16)
    got = tf.function(flow_warp)(images, _constant_flow(1, 1))
    self.assertEqual(got.dtype, tf.bfloat16)
    self.assertEqual(got.shape, images.shape)

  def test_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, r"flow must have shape \(B, H, W, 2\)"):
      flow_warp(_images(), np.zeros((2, 7, 9, 3), np.float32))
    with self.assertRaisesRegex(ValueError, "flow must match images"):
      flow_warp(_images(), np.zeros((2, 7, 8, 2), np.float32))
    with self.assertRaisesRegex(ValueError, "flow must be a float tensor"):
      flow_warp(_images(), np.zeros((2, 7, 9, 2), np.int32))


class FlowSmoothnessTest(tf.test.TestCase):

  def test_constant_flow_costs_about_zero(self):
    eps = 1e-8
    got = flow_smoothness(_constant_flow(1.5, -2.0), eps=eps).numpy()
    pairs = 6 * 9 + 7 * 8
    self.assertAllClose(got, [2 * pairs * np.sqrt(eps)] * 2, rtol=1e-3)
    self.assertLess(got.max(), 0.03)

  def test_matches_a_loop_over_pixels_and_neighbours(self):
    flow = np.random.default_rng(1).normal(size=(2, 4, 5, 2)).astype(np.float32)
    eps = 1e-3
    want = np.zeros(2)
    for b in range(2):
      for i in range(4):
        for j in range(5):
          for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if 0 <= i + di < 4 and 0 <= j + dj < 5:
              diff = flow[b, i, j] - flow[b, i + di, j + dj]
              want[b] += np.sqrt((diff.astype(np.float64) ** 2).sum() + eps)
    self.assertAllClose(flow_smoothness(flow, eps=eps), want, rtol=1e-5)

  def test_bad_eps(self):
    with self.assertRaisesRegex(ValueError, "eps must be > 0"):
      flow_smoothness(_constant_flow(0, 0), eps=0.0)


if __name__ == "__main__":
  tf.test.main()
