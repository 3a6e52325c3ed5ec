"""Tests for dfadv_tf.ops.heatmap: the jet scale and overlays."""

import numpy as np
import tensorflow as tf

from dfadv_tf.ops import heatmap


class HeatmapTest(tf.test.TestCase):

  def test_jet_scale(self):
    colours = heatmap.colorize(tf.constant([[0.0, 0.25, 0.5, 0.75, 1.0, 2.0]])).numpy()[0]
    self.assertAllClose(colours, [[0, 0, 0.5], [0, 0.5, 1], [0.5, 1, 0.5], [1, 0.5, 0],
                                  [0.5, 0, 0], [0.5, 0, 0]])  # above 1 is clipped
    # Low values are blue, the middle green, high values red.
    dominant = np.argmax(heatmap.colorize(tf.constant([0.1, 0.5, 0.9])).numpy(), axis=-1)
    self.assertAllEqual(dominant, [2, 1, 0])

  def test_overlay_blends_in_unit_range(self):
    images = tf.fill((2, 4, 4, 3), -1.0)  # black
    maps = tf.ones((2, 4, 4))
    self.assertAllClose(heatmap.overlay(images, maps, alpha=0.0), tf.zeros((2, 4, 4, 3)))
    self.assertAllClose(heatmap.overlay(images, maps, alpha=1.0)[0, 0, 0], [0.5, 0, 0])
    self.assertAllClose(heatmap.overlay(tf.ones((4, 4, 3)), tf.zeros((4, 4)))[0, 0],
                        [0.5, 0.5, 0.75])  # white half-blended with dark blue
    with self.assertRaisesRegex(ValueError, "must match"):
      heatmap.overlay(images, tf.ones((2, 5, 4)))
    with self.assertRaisesRegex(ValueError, "alpha"):
      heatmap.overlay(images, maps, alpha=1.5)


if __name__ == "__main__":
  tf.test.main()
