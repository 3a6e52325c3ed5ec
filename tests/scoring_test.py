"""Tests for dfadv_tf.scoring: images, folders and videos -> fake probabilities."""

import os

import cv2
import numpy as np
import tensorflow as tf

from dfadv_tf import scoring
from dfadv_tf import serving
from tests.testing import tools as utils


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
    size = serving.detector_image_size(self.detector)
    self.assertEqual(size, (utils.IMAGE_SIZE, utils.IMAGE_SIZE))

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
