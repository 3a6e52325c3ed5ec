"""Tests for dfadv_tf.data.faces: frame sampling, detection, tracking, crops, alignment
and masks."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf.data import faces
from tests.testing.video import (FRAME_H, FRAME_W, astronaut_frames, astronaut_video,
                                 face_mask_frames, write_video)


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

  def test_span_covers_the_whole_video_at_one_stride(self):
    # The reference's test lists: 100 frames, a constant stride, the last frame last.
    for count, stride in ((300, 3), (508, 5), (1000, 10), (399, 3)):
      drawn = faces.sample_frame_indices(count, span=100)
      self.assertLen(drawn, 100)
      self.assertEqual(drawn[-1], count - 1)
      self.assertEqual(set(np.diff(drawn)), {stride})
    self.assertEqual(faces.sample_frame_indices(300, span=100)[:2], [2, 5])
    self.assertEqual(faces.sample_frame_indices(50, span=100), list(range(50)))
    with self.assertRaisesRegex(ValueError, "span cannot be combined"):
      faces.sample_frame_indices(300, num=3, span=100)
    with self.assertRaisesRegex(ValueError, "span must be"):
      faces.sample_frame_indices(300, span=0)

  def test_folders_of_frames_and_images(self):
    folder = os.path.join(self.get_temp_dir(), "frames")
    os.makedirs(folder)
    for number in (12, 3, 7):
      cv2.imwrite(os.path.join(folder, f"{number}.png"), np.full((4, 6, 3), number,
                                                                  np.uint8))
    self.assertEqual(faces.frame_count(folder), 3)
    got = list(faces.read_frames(folder, [0, 2]))
    self.assertEqual([i for i, _ in got], [3, 12])  # numeric stems, in number order
    self.assertEqual(got[1][1].shape, (4, 6, 3))
    self.assertEqual(int(got[1][1][0, 0, 0]), 12)
    image = os.path.join(folder, "7.png")
    self.assertEqual(faces.frame_count(image), 1)
    self.assertEqual([i for i, _ in faces.read_frames(image, [0])], [0])


class TrackingTest(tf.test.TestCase):

  def test_the_consistent_face_not_the_largest_box(self):
    face = lambda x, s=100, c=0.99: faces.Face((x, 200, s, s), c)
    body = faces.Face((0, 0, 494, 495), 0.95)  # a huge stray box in some frames
    patch = faces.Face((1500, 900, 60, 60), 0.91)  # a floor patch, once
    detections = [[face(700)], [body, face(720)], [body], [face(760), patch], [],
                  [face(790)]]
    tracks = faces.track_faces(detections)
    self.assertEqual(sorted(tracks[0]), [0, 1, 3, 5])  # the face, frame 2 and 4 missed
    self.assertEqual({f.box[0] for f in tracks[0].values()}, {700, 720, 760, 790})
    self.assertEqual(sorted(len(t) for t in tracks[1:]), [1, 2])
    two = faces.track_faces([[face(100), face(900, 120)], [face(910, 120), face(110)]])
    self.assertEqual([sorted(f.box[0] for f in t.values()) for t in two],
                     [[900, 910], [100, 110]])  # tie on length: the larger face first


class CropTest(tf.test.TestCase):

  def test_crop_pads_outside_the_frame(self):
    image = np.full((20, 20, 3), 200, np.uint8)
    crop = faces.crop_face(image, (-5, -5, 10, 10), margin=1.0, size=10)
    self.assertAllEqual(crop[:5, :5], np.zeros((5, 5, 3)))
    self.assertAllEqual(crop[5:, 5:], np.full((5, 5, 3), 200))
    mask = faces.crop_face(np.full((20, 20), 255, np.uint8), (-5, -5, 10, 10), 1.0, 10)
    self.assertEqual(mask.shape, (10, 10))

  def test_alignment_maps_landmarks_onto_the_template(self):
    angle, scale, shift = np.deg2rad(20), 1.7, np.array([300.0, 120.0])
    template = np.array([[38.3, 51.7], [73.5, 51.5], [56.0, 71.7], [41.5, 92.4],
                         [70.7, 92.2]])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)],
                                 [np.sin(angle), np.cos(angle)]])
    landmarks = template @ rotation.T + shift  # a rotated, scaled, shifted face
    matrix = faces.alignment_matrix(landmarks, size=112, margin=1.0)
    mapped = landmarks @ matrix[:, :2].T + matrix[:, 2]
    self.assertAllClose(mapped, template, atol=0.1)
    with_margin = faces.alignment_matrix(landmarks, size=112, margin=2.0)
    mapped = landmarks @ with_margin[:, :2].T + with_margin[:, 2]
    self.assertAllClose(mapped, 56 + (template - 56) / 2, atol=0.1)
    frame = np.zeros((400, 600, 3), np.uint8)
    self.assertEqual(faces.align_face(frame, landmarks, 64).shape, (64, 64, 3))


class ExtractFacesTest(tf.test.TestCase):

  def _check_astronaut(self, result, truth, size=64):
    self.assertIsNone(result.error)
    self.assertEqual((result.frames_read, result.faces_missed), (len(truth), 0))
    self.assertEqual([c.frame_index for c in result.crops], list(range(len(truth))))
    for crop, (fx, fy, fs) in zip(result.crops, truth):
      self.assertEqual(crop.image.shape, (size, size, 3))
      x0, y0, side = faces.square_box(crop.face.box, 1.3)
      # The crop holds the whole true face, and the face fills a good part of it.
      self.assertLessEqual(x0, fx + 0.05 * fs)
      self.assertLessEqual(y0, fy + 0.05 * fs)
      self.assertGreaterEqual(x0 + side, fx + 0.95 * fs)
      self.assertGreaterEqual(y0 + side, fy + 0.95 * fs)
      self.assertLess(side, 2.5 * fs)

  def test_haar_finds_the_face_in_every_frame_and_crops_its_mask(self):
    path = os.path.join(self.get_temp_dir(), "astronaut.mp4")
    truth = astronaut_video(path)
    mask_path = os.path.join(self.get_temp_dir(), "mask.mp4")
    write_video(mask_path, face_mask_frames())
    result = faces.extract_faces(path, faces.make_detector("haar"), num=len(truth),
                                 size=64, mask_path=mask_path, batch_size=2)
    self._check_astronaut(result, truth)
    self.assertEqual(result.masks_missed, 0)
    for crop in result.crops:
      self.assertEqual(crop.mask.shape, (64, 64))
      self.assertEqual(set(np.unique(crop.mask)) - {0, 255}, set())
      self.assertBetween((crop.mask > 0).mean(), 0.2, 0.8)  # the face ellipse
      self.assertEqual(crop.mask[32, 32], 255)
    with self.assertRaisesRegex(ValueError, "align=True needs landmarks; the haar"):
      faces.extract_faces(path, faces.make_detector("haar"), num=2, align=True)

  @pytest.mark.slow
  @pytest.mark.ci
  def test_mtcnn_batched_confident_landmarks_and_aligned(self):
    path = os.path.join(self.get_temp_dir(), "astronaut.mp4")
    truth = astronaut_video(path)
    detector = faces.make_detector("mtcnn")
    result = faces.extract_faces(path, detector, num=len(truth), size=64, batch_size=4)
    self._check_astronaut(result, truth)
    frames, _ = astronaut_frames(len(truth))
    one_by_one = [detector.detect(f) for f in frames]
    batched = detector.detect_batch(frames)
    self.assertEqual([[f.box for f in d] for d in batched],
                     [[f.box for f in d] for d in one_by_one])
    for crop, (fx, fy, fs) in zip(result.crops, truth):
      self.assertGreater(crop.face.confidence, 0.9)
      eyes = np.array(crop.face.landmarks[:2])
      self.assertTrue(np.all((eyes[:, 0] > fx) & (eyes[:, 0] < fx + fs)))
      self.assertTrue(np.all((eyes[:, 1] > fy) & (eyes[:, 1] < fy + 0.7 * fs)))
    picky = faces.extract_faces(path, faces.make_detector("mtcnn", min_confidence=1.01),
                                num=2, size=64)
    self.assertEqual((len(picky.crops), picky.faces_missed), (0, 2))
    aligned = faces.extract_faces(path, detector, num=len(truth), size=112, align=True)
    template_eyes = 56 + (np.array([[38.3, 51.7], [73.5, 51.5]]) - 56) / 1.3
    for crop in aligned.crops:  # the aligned face's eyes land on the template's
      found = detector.detect(crop.image)
      self.assertNotEmpty(found)
      eyes = np.array(max(found, key=lambda f: f.confidence).landmarks[:2])
      self.assertAllClose(eyes, template_eyes, atol=6)
    full_size = faces.make_detector("mtcnn", max_side=0).detect(frames[0])
    self.assertAllClose(full_size[0].box, one_by_one[0][0].box, atol=4)

  def test_whole_frames_without_a_detector(self):
    path = os.path.join(self.get_temp_dir(), "wide.mp4")
    write_video(path, [np.full((20, 40, 3), 150, np.uint8)] * 2)
    result = faces.extract_faces(path, None, num=2, size=16)
    self.assertEqual([c.face.box for c in result.crops], [(0, 0, 40, 20)] * 2)
    crop = result.crops[0].image
    self.assertEqual(crop.shape, (16, 16, 3))
    self.assertAllEqual(crop[0, 8], [0, 0, 0])  # padded to a centred square
    self.assertAllClose(crop[8, 8], [150, 150, 150], atol=3)

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
    self.assertRegex(result.error, "cannot read video .*broken.mp4")

  def test_unknown_detector(self):
    with self.assertRaisesRegex(ValueError, "detector must be one of"):
      faces.make_detector("dlib")

  def test_unreadable_frames_of_a_folder_are_skipped_and_named(self):
    folder = os.path.join(self.get_temp_dir(), "frames_with_a_bad_one")
    os.makedirs(folder)
    for number in range(3):
      cv2.imwrite(os.path.join(folder, f"{number:04d}.png"), np.full((16, 16, 3), 60,
                                                                     np.uint8))
    with open(os.path.join(folder, "0001.png"), "r+b") as f:
      f.truncate(40)  # cut off
    result = faces.extract_faces(folder, None, num=3, size=16)
    self.assertEqual((result.frames_read, len(result.crops)), (2, 2))
    self.assertLen(result.frames_skipped, 1)
    self.assertRegex(result.frames_skipped[0], "0001.png: the image file is truncated")
    self.assertIsNone(result.error)
    with self.assertRaisesRegex(OSError, "0001.png: the image file is truncated"):
      list(faces.read_frames(os.path.join(folder, "0001.png"), [0], []))  # an image


if __name__ == "__main__":
  tf.test.main()
