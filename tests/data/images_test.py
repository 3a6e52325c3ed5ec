"""Tests for dfadv_tf.data.images: the one mapping from pixels to [-1, 1]."""

import os
import struct
import zlib

import cv2
import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.data import faces
from dfadv_tf.data import images
from dfadv_tf.data import records
from tests.testing.video import write_video


def png_claiming(width, height):
  """A valid small PNG whose IHDR claims width x height (CRC fixed): a decompression
  bomb's header without its pixels."""
  data = bytearray(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes())
  data[16:24] = struct.pack(">II", width, height)
  data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
  return bytes(data)


class ReadFileTest(tf.test.TestCase):

  def write(self, name, data):
    path = os.path.join(os.fsencode(self.get_temp_dir()), name)
    with open(path, "wb") as f:
      f.write(data)
    return os.fsdecode(path)

  def test_header_sizes_without_decoding(self):
    pixels = np.zeros((30, 50, 3), np.uint8)
    for extension in (".png", ".jpg", ".bmp", ".webp"):
      data = cv2.imencode(extension, pixels)[1].tobytes()
      self.assertEqual(tuple(images.header_size(data)), (50, 30), extension)
    self.assertIsNone(images.header_size(b"not an image"))

  def test_pixel_limit_is_checked_before_decoding(self):
    path = self.write(b"bomb.png", png_claiming(20000, 20000))
    with self.assertRaisesRegex(OSError, "bomb.png: a 20000x20000 image \\(400 megapixels\\) "
                                "is larger than the limit of 67 megapixels"):
      images.read_file(path)
    with self.assertRaisesRegex(OSError, "bomb.png: a 20000x20000 image"):
      images.check_header(path)  # the attack tool's images, decoded by TensorFlow

  def test_truncated_and_undecodable_files_are_named(self):
    pixels = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    for extension in (".jpg", ".png"):
      data = cv2.imencode(extension, pixels)[1].tobytes()
      path = self.write(b"cut" + extension.encode(), data[:len(data) // 2])
      with self.assertRaisesRegex(OSError, f"cut{extension}: the image file is truncated"):
        images.read_file(path)
    with self.assertRaisesRegex(OSError, "junk.png is not a readable image"):
      junk = bytearray(cv2.imencode(".png", pixels)[1].tobytes())
      junk[40:120] = b"x" * 80  # the pixels' data destroyed, header and end intact
      images.read_file(self.write(b"junk.png", bytes(junk)))

  def test_names_that_are_not_utf8(self):
    pixels = np.full((8, 8, 3), 77, np.uint8)
    path = self.write(b"\xff\xfe.png", cv2.imencode(".png", pixels)[1].tobytes())
    self.assertAllEqual(faces.read_image(path), pixels)
    with self.assertRaisesRegex(OSError, r"\\xff\\xfe.jpg is not a readable image"):
      images.read_file(self.write(b"\xff\xfe.jpg", b"nothing"))
    video = os.path.join(self.get_temp_dir(), "clip.avi")
    write_video(video, [pixels] * 3)
    odd = os.fsdecode(os.path.join(os.fsencode(self.get_temp_dir()), b"\xe9t\xe9.avi"))
    os.rename(video, odd)
    self.assertEqual(faces.frame_count(odd), 3)  # cv2.VideoCapture crashed on it
    self.assertLen(list(faces.read_frames(odd, [0, 2])), 2)


class ImagesTest(tf.test.TestCase):

  def test_range_size_and_the_same_result_from_every_path(self):
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    mapped = images.to_model_range(pixels, 16)
    self.assertEqual(mapped.shape, (16, 16, 3))
    self.assertAllInRange(mapped, -1.0, 1.0)
    self.assertAllClose(images.to_model_range(np.full((4, 4, 3), 255, np.uint8), 4),
                        np.ones((4, 4, 3)))
    decoded = images.decode(tf.constant(records.encode_image(pixels, "png")), 16)
    self.assertAllClose(decoded, mapped, atol=1e-6)
    served = serving.preprocess(pixels[None], (16, 16))[0]
    self.assertAllClose(served, mapped, atol=1e-6)
    self.assertEqual(images.to_model_range(pixels, (8, 12)).shape, (8, 12, 3))

  def test_gray_is_replicated(self):
    gray = np.full((6, 6), 128, np.uint8)
    decoded = images.decode(tf.constant(records.encode_image(gray, "png")), 6)
    self.assertEqual(decoded.shape, (6, 6, 3))
    self.assertAllClose(decoded[..., 0], decoded[..., 2])


if __name__ == "__main__":
  tf.test.main()
