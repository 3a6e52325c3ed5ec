"""Tests for dfadv_tf.explain: Grad-CAM maps of face crops and their PNG overlays."""

import glob
import os

import numpy as np
import tensorflow as tf

from dfadv_tf import explain
from dfadv_tf.models import grad_cam
from dfadv_tf.models.backbones import build_detector


class ExplainTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.detector = build_detector("small_cnn", 32, width=4)
    rng = np.random.default_rng(0)
    cls.crops = [rng.integers(0, 256, shape, np.uint8) for shape in
                 ((32, 32, 3), (48, 40, 3), (20, 20, 3))]

  def test_maps_at_each_crops_size(self):
    maps = explain.explain_crops(self.detector, self.crops, batch_size=2)
    self.assertEqual([m.shape for m in maps], [(32, 32), (48, 40), (20, 20)])
    for m in maps:
      self.assertEqual(m.dtype, np.float32)
      self.assertBetween(float(m.min()), 0.0, 1.0)
      self.assertBetween(float(m.max()), 0.0, 1.0)
    # A crop at the detector's size gets exactly Grad-CAM of its preprocessed image.
    expected = grad_cam.grad_cam(self.detector, self.crops[0][None] / 127.5 - 1.0)[0]
    self.assertAllClose(maps[0], expected, atol=1e-4)

  def test_overlays_are_written_atomically_as_pngs(self):
    folder = os.path.join(self.get_temp_dir(), "overlays")
    maps = explain.explain_crops(self.detector, self.crops)
    paths = explain.write_overlays(self.crops, maps, folder)
    self.assertEqual([os.path.basename(p) for p in paths],
                     ["overlay_0000.png", "overlay_0001.png", "overlay_0002.png"])
    image = tf.io.decode_png(tf.io.read_file(paths[1])).numpy()
    self.assertEqual(image.shape, (48, 40, 3))
    self.assertAllEqual(image, explain.overlay_image(self.crops[1], maps[1]))
    self.assertEmpty(glob.glob(os.path.join(folder, ".tmp-*")))
    named = explain.write_overlays(self.crops[:1], maps[:1], folder, names=["frame_7.png"])
    self.assertEqual(named, [os.path.join(folder, "frame_7.png")])
    # The map shows: where it is 1 the overlay is red-shifted, where it is 0 blue-shifted.
    crop = np.full((8, 8, 3), 128, np.uint8)
    cam = np.zeros((8, 8), np.float32)
    cam[:4] = 1.0
    out = explain.overlay_image(crop, cam).astype(int)
    self.assertGreater(out[0, 0, 0], out[0, 0, 2])
    self.assertLess(out[7, 0, 0], out[7, 0, 2])

  def test_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, "crop 1 must be a uint8 RGB array"):
      explain.explain_crops(self.detector, [self.crops[0], np.zeros((8, 8), np.uint8)])
    maps = [np.zeros((32, 32), np.float32)]
    with self.assertRaisesRegex(ValueError, "one map and one name per crop"):
      explain.write_overlays(self.crops[:1], maps * 2, self.get_temp_dir())
    with self.assertRaisesRegex(ValueError, "file name ending in .png"):
      explain.write_overlays(self.crops[:1], maps, self.get_temp_dir(), names=["../x.png"])
    with self.assertRaisesRegex(ValueError, "does not fit crop"):
      explain.overlay_image(self.crops[1], maps[0])


if __name__ == "__main__":
  tf.test.main()
