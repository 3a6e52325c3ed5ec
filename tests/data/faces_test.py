"""Tests for dfadv_tf.data.faces: frame sampling, detection, margin crops."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf.data import faces
from tests.testing.video import FRAME_H, FRAME_W, astronaut_video, write_video

class FrameSamplingTest(tf.test.TestCase):

  def test_modes(self):
    self.assertEqual(faces.sample_frame_indices(10, num=4), [0, 3, 6, 9])
    self.assertEqual(faces.sample_frame_indices(3, num=5), [0, 1, 2])
    self.assertEqual(faces.sample_frame_indices(10, every=3), [0, 3, 6, 9])
    self.assertEqual(faces.sample_frame_indices(300, every=3, num=2), [0, 3])
    drawn = faces.sample_frame_indices(100, random=10, seed=4)
    self.assertLen(set(drawn), 10)
    self.assertEqual(drawn, faces.sample_frame_indices(100, random=10, seed=4))
    self.assertNotEqual(drawn, faces.sample_frame_indices(100, random=10, seed=5))
    with self.assertRaisesRegex(ValueError, "every must be"):
      faces.sample_frame_indices(10, every=0)
    with self.assertRaisesRegex(ValueError, "give num"):
      faces.sample_frame_indices(10)


class ExtractFacesTest(tf.test.TestCase):

  def _check_astronaut(self, detector_name):
    path = os.path.join(self.get_temp_dir(), f"astronaut_{detector_name}.avi")
    truth = astronaut_video(path)
    result = faces.extract_faces(path, faces.make_detector(detector_name), num=len(truth),
                                 size=64)
    self.assertIsNone(result.error)
    self.assertEqual((result.frames_read, result.faces_missed), (len(truth), 0))
    self.assertEqual([c[0] for c in result.crops], list(range(len(truth))))
    for (_, crop, box), (fx, fy, fs) in zip(result.crops, truth):
      self.assertEqual(crop.shape, (64, 64, 3))
      x0, y0, side = faces.square_box(box, 1.3)
      # The crop holds the whole true face, and the face fills a good part of it.
      self.assertLessEqual(x0, fx + 0.05 * fs)
      self.assertLessEqual(y0, fy + 0.05 * fs)
      self.assertGreaterEqual(x0 + side, fx + 0.95 * fs)
      self.assertGreaterEqual(y0 + side, fy + 0.95 * fs)
      self.assertLess(side, 2.5 * fs)

  def test_haar_finds_the_face_in_every_frame(self):
    self._check_astronaut("haar")

  @pytest.mark.slow
  @pytest.mark.ci
  def test_mtcnn_finds_the_face_in_every_frame(self):
    self._check_astronaut("mtcnn")

  def test_video_without_face_yields_no_crop_and_a_count(self):
    path = os.path.join(self.get_temp_dir(), "noface.avi")
    rng = np.random.default_rng(0)
    write_video(path, [cv2.GaussianBlur(rng.integers(0, 256, (FRAME_H, FRAME_W, 3),
                                                     dtype=np.uint8), (0, 0), 3)
                       for _ in range(4)])
    result = faces.extract_faces(path, faces.make_detector("haar"), num=4, size=32)
    self.assertEqual((len(result.crops), result.frames_read, result.faces_missed), (0, 4, 4))
    self.assertIsNone(result.error)

  def test_unreadable_video_is_reported_not_raised(self):
    path = os.path.join(self.get_temp_dir(), "broken.mp4")
    with open(path, "wb") as f:
      f.write(b"not a video")
    result = faces.extract_faces(path, faces.make_detector("haar"), num=4)
    self.assertEqual(result.crops, [])
    self.assertIn("broken.mp4", result.error)

  def test_crop_pads_outside_the_frame(self):
    image = np.full((20, 20, 3), 200, np.uint8)
    crop = faces.crop_face(image, (-5, -5, 10, 10), margin=1.0, size=10)
    self.assertAllEqual(crop[:5, :5], np.zeros((5, 5, 3)))
    self.assertAllEqual(crop[5:, 5:], np.full((5, 5, 3), 200))

  def test_unknown_detector(self):
    with self.assertRaisesRegex(ValueError, "detector must be one of"):
      faces.make_detector("dlib")


if __name__ == "__main__":
  tf.test.main()
