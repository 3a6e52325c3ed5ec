"""Tests for dfadv_tf.data.codecs: H.264 through the bundled ffmpeg, JPEG, video files."""

import os

import cv2
import numpy as np
import skimage.data
import tensorflow as tf

from dfadv_tf.data import codecs
from dfadv_tf.data import faces


def clip(frames=6, height=47, width=63):
  """A moving crop of the astronaut: uint8 (frames, height, width, 3), odd sides."""
  astronaut = skimage.data.astronaut()
  return np.stack([cv2.resize(astronaut[8 * i:8 * i + 300, 8 * i:8 * i + 400],
                              (width, height), interpolation=cv2.INTER_AREA)
                   for i in range(frames)])


def error(a, b):
  return np.abs(a.astype(np.float64) - b).mean()


class CodecsTest(tf.test.TestCase):

  def test_h264_round_trip_degrades_with_the_crf(self):
    frames = clip()
    c23, c40 = codecs.h264(frames, 23), codecs.h264(frames, 40)
    self.assertEqual((c23.shape, c23.dtype), (frames.shape, np.uint8))
    self.assertBetween(error(c23, frames), 0.5, 12)
    self.assertGreater(error(c40, frames), 1.5 * error(c23, frames))
    self.assertAllEqual(codecs.h264(frames, 23), c23)  # deterministic
    self.assertLess(error(codecs.h264(frames, 0), frames), error(c23, frames))
    two_videos = codecs.h264(np.concatenate([frames, frames[::-1]]), 23, keyint=6)
    self.assertEqual(two_videos.shape[0], 12)

  def test_quality_names_and_bad_arguments(self):
    self.assertEqual([codecs.crf_of(q) for q in ("c23", "c40", "c0", "c51")], [23, 40, 0, 51])
    for bad in ("raw", "c52", "q23"):
      with self.assertRaisesRegex(ValueError, "names no H.264 CRF"):
        codecs.crf_of(bad)
    with self.assertRaisesRegex(ValueError, r"crf must be in \[0, 51\]"):
      codecs.h264(clip(1), 60)
    with self.assertRaisesRegex(ValueError, r"uint8 RGB \(N, H, W, 3\)"):
      codecs.h264(clip(1)[0], 23)
    with self.assertRaisesRegex(ValueError, "preset must be one of"):
      codecs.h264(clip(1), 23, preset="quick")

  def test_jpeg(self):
    frames = clip(2)
    q75, q25 = codecs.jpeg(frames, 75), codecs.jpeg(frames, 25)
    self.assertEqual(q75.shape, frames.shape)
    self.assertLess(error(q75, frames), error(q25, frames))
    self.assertEqual(codecs.jpeg(frames[0], 75).shape, frames[0].shape)

  def test_video_files_and_recompression(self):
    frames = clip(5, 48, 64)
    path = codecs.write_video(os.path.join(self.get_temp_dir(), "a.mp4"), frames, crf=18)
    self.assertEqual(faces.frame_count(path), 5)
    read = np.stack([f for _, f in faces.read_frames(path, range(5))])
    self.assertLess(error(read, frames), 8)
    target = os.path.join(self.get_temp_dir(), "c40", "a.mp4")
    codecs.recompress_video(path, target, 40)
    again = np.stack([f for _, f in faces.read_frames(target, range(5))])
    self.assertGreater(error(again, frames), error(read, frames))
    self.assertLess(os.path.getsize(target), os.path.getsize(path))
    self.assertEqual([n for n in os.listdir(os.path.dirname(target))], ["a.mp4"])
    broken = os.path.join(self.get_temp_dir(), "broken.mp4")
    with open(broken, "wb") as f:
      f.write(b"not a video")
    with self.assertRaisesRegex(OSError, "recompressing .*broken.mp4 failed"):
      codecs.recompress_video(broken, os.path.join(self.get_temp_dir(), "out.mp4"), 23)
    self.assertFalse(os.path.exists(os.path.join(self.get_temp_dir(), "out.mp4")))
    with self.assertRaisesRegex(OSError, "cannot recompress .*missing.mp4: no such file"):
      codecs.recompress_video("missing.mp4", target, 23)


if __name__ == "__main__":
  tf.test.main()
