"""Seconds per 1080p frame of face detection, and of `extract_faces` on a 1080p video.

  python benchmarks/faces.py [--frames=8 --height=1080 --width=1920]

Frames: the skimage astronaut (a face of ~130 px) pasted at moving places on a gray
1080p canvas. Times MTCNN (`faces.MtcnnDetector`) as preprocessing used it before
(full size, one frame per call, boxes only), full size with landmarks one frame per
call and batched, and scaled down to --max_side (the default) one frame per call and
batched, then Haar, then `extract_faces` on an H.264 video of the frames (decode +
detect + track + crop, the defaults). Median of --repeats.
"""

import os
import tempfile
import time

import cv2
import numpy as np
import skimage.data
from absl import app
from absl import flags

from dfadv_tf.data import codecs
from dfadv_tf.data import faces

FLAGS = flags.FLAGS
flags.DEFINE_integer("frames", 8, "Frames per timed call.")
flags.DEFINE_integer("height", 1080, "Frame height in pixels.")
flags.DEFINE_integer("width", 1920, "Frame width in pixels.")
flags.DEFINE_integer("max_side", 960, "MTCNN's detection size (faces.MtcnnDetector).")
flags.DEFINE_integer("repeats", 3, "Timed repeats (median).")


def make_frames():
  astronaut = cv2.resize(skimage.data.astronaut(), (600, 600))
  frames = []
  for i in range(FLAGS.frames):
    frame = np.full((FLAGS.height, FLAGS.width, 3), 90, np.uint8)
    y, x = 100 + 20 * i, 400 + 60 * i
    frame[y:y + 600, x:x + 600] = astronaut
    frames.append(frame)
  return frames


def per_frame(fn, count):
  fn()  # warm-up (builds MTCNN, traces its stages)
  times = []
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return float(np.median(times)) / count


def main(argv):
  del argv
  from mtcnn import MTCNN  # pylint: disable=g-import-not-at-top
  frames = make_frames()
  boxes_only = MTCNN(stages="face_detection_only")
  full = faces.MtcnnDetector(max_side=0)
  scaled = faces.MtcnnDetector(max_side=FLAGS.max_side)
  haar = faces.HaarDetector()
  rows = [
      ("MTCNN boxes only, full size, 1 frame / call (before)",
       lambda: [boxes_only.detect_faces(f) for f in frames]),
      ("MTCNN + landmarks, full size, 1 frame / call", lambda: [full.detect(f) for f in frames]),
      ("MTCNN + landmarks, full size, batched", lambda: full.detect_batch(frames)),
      (f"MTCNN + landmarks, max side {FLAGS.max_side}, 1 frame / call",
       lambda: [scaled.detect(f) for f in frames]),
      (f"MTCNN + landmarks, max side {FLAGS.max_side}, batched (default)",
       lambda: scaled.detect_batch(frames)),
      ("Haar", lambda: haar.detect_batch(frames)),
  ]
  print(f"{FLAGS.width}x{FLAGS.height}, {FLAGS.frames} frames per call, median of "
        f"{FLAGS.repeats}")
  print("| detection | s / frame |\n| --- | ---: |")
  for name, fn in rows:
    print(f"| {name} | {per_frame(fn, len(frames)):.3f} |")
  path = os.path.join(tempfile.mkdtemp(), "video.mp4")
  codecs.write_video(path, np.stack(frames), crf=23)
  extract = lambda: faces.extract_faces(path, scaled, num=len(frames))
  found = extract()
  print(f"| extract_faces on the H.264 video (decode, detect, track, crop) | "
        f"{per_frame(extract, len(frames)):.3f} |")
  print(f"(faces found in {len(found.crops)} of {found.frames_read} frames)")


if __name__ == "__main__":
  app.run(main)
