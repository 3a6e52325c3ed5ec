"""Tests for dfadv_tf.models.grad_cam: Grad-CAM finds the region a detector looks at."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf.models import grad_cam
from dfadv_tf.models.backbones import build_detector
from dfadv_tf.models.tsn import TSNDetector
from tests.testing.models import tiny_detector

SIZE = 64


def cue_images(n, seed, fake):
  """Noise faces; the fakes carry a bright 8 x 8 square somewhere in the top-left
  quadrant (the only difference between the classes)."""
  rng = np.random.default_rng(seed)
  images = rng.uniform(-0.5, 0.5, (n, SIZE, SIZE, 3)).astype(np.float32)
  if fake:
    for image in images:
      y, x = rng.integers(2, SIZE // 2 - 10, 2)
      image[y:y + 8, x:x + 8] = 1.0
  return images


@functools.lru_cache(maxsize=None)
def cue_detector():
  """small_cnn (a build_detector backbone) trained to find the top-left cue; returns
  (detector, its accuracy on held-out images)."""
  keras.utils.set_random_seed(0)
  detector = build_detector("small_cnn", SIZE, width=8)
  images = np.concatenate([cue_images(128, 1, False), cue_images(128, 2, True)])
  labels = np.repeat([0, 1], 128)
  detector.compile(optimizer=keras.optimizers.Adam(3e-3),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
  detector.fit(images, labels, batch_size=32, epochs=4, shuffle=True, verbose=0)
  test = np.concatenate([cue_images(32, 3, False), cue_images(32, 4, True)])
  _, accuracy = detector.evaluate(test, np.repeat([0, 1], 32), verbose=0)
  return detector, accuracy


def quadrant_means(maps):
  """Mean of the maps (B, H, W) over each quadrant: [top-left, top-right, bottom-left,
  bottom-right]."""
  h = maps.shape[1] // 2
  return [float(np.mean(maps[:, r:r + h, c:c + h])) for r in (0, h) for c in (0, h)]


class GradCamTest(tf.test.TestCase):

  def test_map_is_largest_where_the_detector_looks(self):
    detector, accuracy = cue_detector()
    self.assertGreater(accuracy, 0.9)  # it learnt the cue
    maps = grad_cam.grad_cam(detector, cue_images(16, 5, True)).numpy()
    self.assertEqual(maps.shape, (16, SIZE, SIZE))
    self.assertBetween(maps.min(), 0.0, 1.0)
    self.assertAllClose(maps.max(axis=(1, 2)), np.ones(16))  # each map peaks at 1
    means = quadrant_means(maps)
    self.assertEqual(int(np.argmax(means)), 0, means)
    self.assertGreater(means[0], 2 * max(means[1:]), means)
    # The evidence for "real" is not the cue.
    real = quadrant_means(grad_cam.grad_cam(detector, cue_images(16, 5, True), "real").numpy())
    self.assertLess(real[0], means[0])

  def test_tsn_clips_get_the_frame_detectors_maps(self):
    detector, _ = cue_detector()
    frames = cue_images(6, 6, True)
    tsn = TSNDetector(detector, segments=3)
    maps = grad_cam.grad_cam(tsn, frames.reshape(2, 3, SIZE, SIZE, 3))
    self.assertEqual(maps.shape, (2, 3, SIZE, SIZE))
    self.assertAllClose(tf.reshape(maps, (6, SIZE, SIZE)), grad_cam.grad_cam(detector, frames),
                        atol=1e-5)
    self.assertAllClose(grad_cam.grad_cam(tsn, frames), grad_cam.grad_cam(detector, frames),
                        atol=1e-5)

  def test_plain_functional_model_and_tf_function(self):
    detector = tiny_detector()  # conv - BN - conv - GAP - Dense
    features, logits = grad_cam.feature_function(detector)(tf.zeros((2, 32, 32, 3)))
    self.assertEqual(features.shape, (2, 8, 8, 8))
    self.assertEqual(logits.shape, (2, 2))
    images = tf.random.uniform((2, 32, 32, 3), -1.0, 1.0, seed=1)
    eager = grad_cam.grad_cam(detector, images)
    compiled = tf.function(lambda x: grad_cam.grad_cam(detector, x))(images)
    self.assertAllClose(eager, compiled, atol=1e-5)

  @pytest.mark.slow
  @pytest.mark.ci
  def test_table6_detectors(self):  # ~20 s: builds Xception and EfficientNet-B0
    for name, size in (("stehouwer_xception", 71), ("multi_attention_efficientnetb0", 64)):
      detector = build_detector(name, size)
      images = tf.random.uniform((2, size, size, 3), -1.0, 1.0, seed=2)
      features, logits = detector.explain_features(images)
      self.assertEqual(features.shape[:1] + features.shape[-1:], (2, 2048 if size == 71
                                                                  else 1280), name)
      self.assertAllClose(logits, detector(images, training=False), atol=1e-4)
      maps = grad_cam.grad_cam(detector, images).numpy()
      self.assertEqual(maps.shape, (2, size, size), name)
      self.assertTrue(np.all((maps >= 0) & (maps <= 1)), name)

  def test_bad_inputs(self):

    class Subclassed(keras.Model):

      def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

      def call(self, images):
        return self.dense(tf.reduce_mean(images, axis=[1, 2]))

    with self.assertRaisesRegex(ValueError, "explain_features"):
      grad_cam.grad_cam(Subclassed(), tf.zeros((1, 8, 8, 3)))
    with self.assertRaisesRegex(ValueError, r"\(B, H, W, 3\)"):
      grad_cam.grad_cam(tiny_detector(), tf.zeros((1, 32, 32)))
    with self.assertRaisesRegex(ValueError, "target"):
      grad_cam.grad_cam(tiny_detector(), tf.zeros((1, 32, 32, 3)), target="both")


if __name__ == "__main__":
  tf.test.main()
