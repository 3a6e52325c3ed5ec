"""Tests for dfadv_tf.scoring: images, folders and videos -> fake probabilities."""

import os

import cv2
import numpy as np
import skimage.data
import tensorflow as tf

from dfadv_tf import scoring
from dfadv_tf import serving
from dfadv_tf.data import faces
from tests.testing import tools as utils
from tests.testing.video import astronaut_video


def scored(frame_face_scores):
  return [{"frame_index": i, "face": f, "fake_probability": p}
          for i, f, p in frame_face_scores]


class AggregationTest(tf.test.TestCase):

  def test_aggregations(self):
    frames = scored([(0, 0, 0.1), (0, 1, 0.9), (1, 0, 0.2), (1, 1, 0.7), (2, 0, 0.3)])
    self.assertAllClose(scoring.aggregate(frames, "mean"), np.mean([.1, .9, .2, .7, .3]))
    self.assertAllClose(scoring.aggregate(frames, "max_face"), 0.8)  # face 1: (.9 + .7) / 2
    self.assertAllClose(scoring.aggregate(frames, "sbi"), (0.9 + 0.7 + 0.3) / 3)
    with self.assertRaisesRegex(ValueError, "aggregation must be one of"):
      scoring.aggregate(frames, "median")

  def test_confident_strategy(self):
    confident = [0.95] * 12 + [0.1] * 8  # 12 > 20 // 2.5 and > 11 confident fakes
    self.assertAllClose(scoring.confident_strategy(confident), 0.95)
    few = [0.95] * 11 + [0.1] * 9  # only 11: the plain mean
    self.assertAllClose(scoring.confident_strategy(few), np.mean(few))
    real = [0.05] * 19 + [0.6]  # > 90 % below 0.2: their mean
    self.assertAllClose(scoring.confident_strategy(real), 0.05)
    self.assertAllClose(scoring.aggregate(scored([(i, 0, p) for i, p in enumerate(real)]),
                                          "confident"), 0.05)


class ScoringTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir()
    cls.detector = utils.save_tiny_detector(os.path.join(cls.root, "d.keras"))

  def write_image(self, name, size, seed=0):
    path = os.path.join(self.root, name)
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    cv2.imwrite(path, pixels)
    return path, pixels[..., ::-1]

  def test_images_of_any_size_score_like_the_crops(self):
    paths, crops = zip(*[self.write_image(f"i{i}.png", (40 + 10 * i, 50), i)
                         for i in range(3)])
    entries = scoring.score_images(self.detector, list(paths), batch_size=2)
    self.assertEqual([e["path"] for e in entries], list(paths))
    expected = scoring.score_crops(self.detector, list(crops))
    self.assertAllClose([e["fake_probability"] for e in entries], expected, atol=1e-6)
    self.assertTrue(all(isinstance(e["fake"], bool) for e in entries))
    self.assertTrue(all("warning" not in e for e in entries))  # face-crop sized
    size = serving.detector_image_size(self.detector)
    self.assertEqual(size, (utils.IMAGE_SIZE, utils.IMAGE_SIZE))

  def test_a_full_frame_scored_whole_is_warned_about(self):
    self.assertIsNone(scoring.whole_frame_warning("a.png", (40, 36), (32, 32)))
    self.assertRegex(scoring.whole_frame_warning("f.png", (1080, 1920), (32, 32)),
                     "f.png: a 1920x1080 image scored whole .* without face cropping")
    path, _ = self.write_image("frame.png", (60, 120))
    entry = scoring.score_images(self.detector, [path])[0]
    self.assertIn("120x60 image scored whole", entry["warning"])

  def test_faces_of_images_and_videos(self):
    haar = faces.make_detector("haar")
    astronaut = os.path.join(self.root, "astronaut.png")
    cv2.imwrite(astronaut, cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    blank, _ = self.write_image("blank.png", (64, 64))
    entries = scoring.score_images(self.detector, [astronaut, blank], haar)
    self.assertEqual(entries[0]["faces_found"], 1)
    x, y, w, h = entries[0]["face"]["box"]
    self.assertBetween(x + w / 2, 170, 280)  # the astronaut's face
    self.assertIsNone(entries[0]["face"]["confidence"])  # Haar has none
    self.assertNotIn("warning", entries[0])
    self.assertEqual((entries[1]["face"], "fake_probability" in entries[1]), (None, False))
    crop, face, found = scoring.image_crop(skimage.data.astronaut(), haar, size=48)
    self.assertEqual((crop.shape, face.box, found), ((48, 48, 3), tuple(entries[0]["face"]
                                                                         ["box"]), 1))
    video = os.path.join(self.root, "astronaut.mp4")
    astronaut_video(video, frames=4)
    report = scoring.score_video(self.detector, video, haar, frames=4,
                                 aggregation="max_face")
    self.assertEqual((report["frames_read"], report["aggregation"]), (4, "max_face"))
    self.assertEqual([f["face"] for f in report["faces"]], [0])
    self.assertLen(report["frames"], 4 - report["faces_missed"])
    self.assertEqual(sorted(report["frames"][0]), ["box", "confidence", "face",
                                                   "fake_probability", "frame_index",
                                                   "landmarks"])
    self.assertAllClose(report["fake_probability"], report["faces"][0]["fake_probability"])
    crops = scoring.video_crops(video, haar, frames=4, size=32)
    self.assertAllClose(scoring.score_crops(self.detector, [c.image for c in crops.crops]),
                        [f["fake_probability"] for f in report["frames"]], atol=1e-6)
    whole = scoring.score_video(self.detector, video, None, frames=2)
    self.assertIn("frames scored whole", whole["warning"])
    empty = os.path.join(self.root, "empty.mp4")
    open(empty, "wb").close()
    with self.assertRaisesRegex(IOError, "cannot read video .*empty.mp4"):
      scoring.score_video(self.detector, empty, haar)

  def test_kind_and_unreadable_image(self):
    self.assertEqual(scoring.kind_of(self.root), "folder")
    self.assertEqual(scoring.kind_of("a.MP4"), "video")
    self.assertEqual(scoring.kind_of("a.png"), "image")
    with self.assertRaisesRegex(ValueError, "notes.txt is neither a folder"):
      scoring.kind_of("notes.txt")
    bogus = os.path.join(self.root, "bogus.png")
    with open(bogus, "w", encoding="utf-8") as f:
      f.write("not an image")
    with self.assertRaisesRegex(IOError, "bogus.png is not a readable image"):
      scoring.score_images(self.detector, [bogus])


if __name__ == "__main__":
  tf.test.main()
