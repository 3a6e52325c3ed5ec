r"""Scores faces with a trained detector: one image, a folder of images, or a video.

  dfadv-detect --detector=runs/demo/two_gen_bat/best_detector.keras --input=clip.mp4
  dfadv-detect --detector=best_detector.keras --input=faces/ --output=scores.json

Images are scored as they are (they should be face crops like the training data; pass
--crop_faces to detect and crop the largest face first). A video is sampled
(--frames evenly spaced frames), faces are detected and cropped like the training data
(dfadv_tf.data.faces), and each frame gets a fake probability; the video score is
their mean. JSON goes to stdout or --output (written atomically).
"""

import json
import os

import cv2
import numpy as np
import tensorflow as tf
from absl import app
from absl import flags

from dfadv_tf import serving
from dfadv_tf.data import faces
from dfadv_tf.files import atomic_write_text

flags.DEFINE_string("detector", None, "Saved .keras detector.", required=True)
flags.DEFINE_string("input", None, "An image, a folder of images or a video file.",
                    required=True)
flags.DEFINE_string("output", None, "Write the JSON here instead of stdout.")
flags.DEFINE_integer("frames", 32, "Frames sampled evenly from a video.")
flags.DEFINE_enum("face_detector", "mtcnn", list(faces.DETECTORS), "Face detector.")
flags.DEFINE_float("margin", 1.3, "Face box enlargement for the crop.")
flags.DEFINE_bool("crop_faces", False, "Detect and crop the largest face of images too.")
flags.DEFINE_float("threshold", 0.5, "Fake if the probability is >= this.")
flags.DEFINE_integer("batch_size", 32, "Images per forward pass.")
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers.")
FLAGS = flags.FLAGS

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def read_image(path):
  """uint8 RGB (H, W, 3); gray and RGBA are converted. IOError names the file."""
  image = cv2.imread(path, cv2.IMREAD_COLOR)
  if image is None:
    raise IOError(f"{path} is not a readable image.")
  return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def score_crops(detector, crops, batch_size):
  """Fake probabilities of uint8 crops (list of (H, W, 3))."""
  size = serving.detector_image_size(detector)
  scores = []
  for start in range(0, len(crops), batch_size):
    batch = np.stack([cv2.resize(c, size[::-1], interpolation=cv2.INTER_AREA)
                      if c.shape[:2] != size else c for c in crops[start:start + batch_size]])
    probability = serving.fake_probability(detector, serving.preprocess(batch, size))
    scores.extend(float(p) for p in probability.numpy())
  return scores


def score_images(detector, paths, face_detector=None):
  crops, entries = [], []
  for path in paths:
    image = read_image(path)
    if face_detector is not None:
      boxes = face_detector.detect(image)
      if not boxes:
        entries.append({"path": path, "face": False})
        continue
      image = faces.crop_face(image, max(boxes, key=lambda b: b[2] * b[3]), FLAGS.margin,
                              max(serving.detector_image_size(detector)))
    crops.append(image)
    entries.append({"path": path})
  scores = iter(score_crops(detector, crops, FLAGS.batch_size))
  for entry in entries:
    if entry.get("face", True):
      p = next(scores)
      entry.update(fake_probability=p, fake=p >= FLAGS.threshold)
  return entries


def score_video(detector, path, face_detector):
  size = max(serving.detector_image_size(detector))
  result = faces.extract_faces(path, face_detector, num=FLAGS.frames, margin=FLAGS.margin,
                               size=size)
  out = {"path": path, "frames_read": result.frames_read,
         "faces_missed": result.faces_missed, "error": result.error, "frames": []}
  if result.crops:
    scores = score_crops(detector, [c for _, c, _ in result.crops], FLAGS.batch_size)
    out["frames"] = [{"frame_index": int(i), "box": [int(v) for v in box],
                      "fake_probability": p}
                     for (i, _, box), p in zip(result.crops, scores)]
    out["fake_probability"] = float(np.mean(scores))
    out["fake"] = out["fake_probability"] >= FLAGS.threshold
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  detector = serving.load_detector(FLAGS.detector, safe_mode=not FLAGS.unsafe_load)
  path = FLAGS.input
  lower = path.lower()
  if os.path.isdir(path):
    paths = sorted(os.path.join(path, f) for f in os.listdir(path)
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
      raise app.UsageError(f"--input folder {path} holds no images {IMAGE_EXTENSIONS}.")
    detector_ = faces.make_detector(FLAGS.face_detector) if FLAGS.crop_faces else None
    report = {"images": score_images(detector, paths, detector_)}
  elif lower.endswith(VIDEO_EXTENSIONS):
    report = {"video": score_video(detector, path, faces.make_detector(FLAGS.face_detector))}
  elif lower.endswith(IMAGE_EXTENSIONS):
    detector_ = faces.make_detector(FLAGS.face_detector) if FLAGS.crop_faces else None
    report = {"images": score_images(detector, [path], detector_)}
  else:
    raise app.UsageError(f"--input {path} is neither a folder, an image {IMAGE_EXTENSIONS} "
                         f"nor a video {VIDEO_EXTENSIONS}.")
  text = json.dumps(report, indent=2)
  if FLAGS.output:
    atomic_write_text(FLAGS.output, text + "\n")
  else:
    print(text)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
