"""`dfadv-detect` on a folder: the memory of `scoring.score_images` does not grow with the
number of its (large) inputs: each image is decoded, cut to the model's size and let go
(six 8000 x 8000 JPEGs once took 2 GB). Measured with tracemalloc, which sees
the NumPy arrays OpenCV decodes into."""

import os
import tracemalloc

import cv2
import numpy as np
import tensorflow as tf

from dfadv_tf import scoring
from tests.testing import tools as utils

SIDE = 3000  # one decoded image: 27 MB


def write_large_jpegs(folder, count):
  y, x = np.mgrid[0:SIDE, 0:SIDE]
  image = np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)
  paths = []
  for i in range(count):
    paths.append(os.path.join(folder, f"{i}.jpg"))
    cv2.imwrite(paths[-1], np.roll(image, i, axis=0))
  return paths


def peak_bytes(function):
  tracemalloc.start()
  try:
    function()
    return tracemalloc.get_traced_memory()[1]
  finally:
    tracemalloc.stop()


class ScoringMemoryTest(tf.test.TestCase):

  def test_peak_memory_does_not_grow_with_the_number_of_images(self):
    tmp = self.get_temp_dir()
    detector = utils.save_tiny_detector(os.path.join(tmp, "d.keras"))
    paths = write_large_jpegs(tmp, 5)
    scoring.score_images(detector, paths[:1], batch_size=4)  # traces the model once
    two = peak_bytes(lambda: scoring.score_images(detector, paths[:2], batch_size=4))
    five = peak_bytes(lambda: scoring.score_images(detector, paths, batch_size=4))
    self.assertGreater(two, SIDE * SIDE * 3)  # the measure sees a decoded image
    # Bounded by a few decoded images at a time (the one being decoded, its RGB copy and
    # the previous one until it is replaced), not by the number of images (+ 81 MB).
    self.assertLess(five, two + 8 * 2**20,
                    f"peak {five / 2**20:.0f} MB for 5 images, {two / 2**20:.0f} MB for 2")


if __name__ == "__main__":
  tf.test.main()
