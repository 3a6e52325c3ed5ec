"""Scoring media with a trained detector: images, folders of images and videos ->
JSON-able reports with a fake probability per image, per frame and per video.

Images are scored as they are (they should be face crops like the training data) unless
a face detector is given, which crops the largest face first (as the training data was
made, `dfadv_tf.data.faces`). A video is sampled (`frames` evenly spaced frames), its
faces detected and cropped, and the video score is the mean of its frames'. Inputs are
decoded one at a time and only model-size crops are kept, so memory does not grow with
the size or the number of the inputs.
"""

import os

import cv2
import numpy as np

from dfadv_tf import serving
from dfadv_tf.data import faces

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def read_image(path):
  """uint8 RGB (H, W, 3); gray and RGBA are converted. IOError names the file."""
  image = cv2.imread(path, cv2.IMREAD_COLOR)
  if image is None:
    raise IOError(f"{path} is not a readable image.")
  return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _fit(crop, size):
  """`crop` resized to the detector's (height, width) (area interpolation)."""
  if crop.shape[:2] == tuple(size):
    return crop
  return cv2.resize(crop, tuple(size)[::-1], interpolation=cv2.INTER_AREA)


def score_crops(detector, crops, batch_size=32):
  """Fake probabilities (list of float) of uint8 RGB crops (a sequence of (H, W, 3))."""
  size = serving.detector_image_size(detector)
  scores = []
  for start in range(0, len(crops), batch_size):
    batch = np.stack([_fit(c, size) for c in crops[start:start + batch_size]])
    probability = serving.fake_probability(detector, serving.preprocess(batch, size))
    scores.extend(float(p) for p in probability.numpy())
  return scores


def score_images(detector, paths, face_detector=None, margin=1.3, threshold=0.5,
                 batch_size=32):
  """[{"path", "fake_probability", "fake"} or {"path", "face": False}] for image files;
  with `face_detector` the largest face of each image is cropped first."""
  size = serving.detector_image_size(detector)
  entries, pending = [], []

  def flush():
    for entry, p in zip(pending, score_crops(detector, [e.pop("_crop") for e in pending],
                                             batch_size)):
      entry.update(fake_probability=p, fake=p >= threshold)
    pending.clear()

  for path in paths:
    image = read_image(path)
    entry = {"path": path}
    if face_detector is not None:
      boxes = face_detector.detect(image)
      if not boxes:
        entries.append(dict(entry, face=False))
        continue
      image = faces.crop_face(image, max(boxes, key=lambda b: b[2] * b[3]), margin,
                              max(size))
    entry["_crop"] = _fit(image, size)  # only the model-size crop is kept
    entries.append(entry)
    pending.append(entry)
    if len(pending) == batch_size:
      flush()
  flush()
  return entries


def score_video(detector, path, face_detector, frames=32, margin=1.3, threshold=0.5,
                batch_size=32):
  """{"path", "frames_read", "faces_missed", "error", "frames": [{"frame_index", "box",
  "fake_probability"}], "fake_probability", "fake"} of one video."""
  size = max(serving.detector_image_size(detector))
  result = faces.extract_faces(path, face_detector, num=frames, margin=margin, size=size)
  out = {"path": path, "frames_read": result.frames_read,
         "faces_missed": result.faces_missed, "error": result.error, "frames": []}
  if result.crops:
    scores = score_crops(detector, [c for _, c, _ in result.crops], batch_size)
    out["frames"] = [{"frame_index": int(i), "box": [int(v) for v in box],
                      "fake_probability": p}
                     for (i, _, box), p in zip(result.crops, scores)]
    out["fake_probability"] = float(np.mean(scores))
    out["fake"] = out["fake_probability"] >= threshold
  return out


def kind_of(path):
  """"folder", "video" or "image" by what `path` is; ValueError for anything else."""
  if os.path.isdir(path):
    return "folder"
  lower = path.lower()
  if lower.endswith(VIDEO_EXTENSIONS):
    return "video"
  if lower.endswith(IMAGE_EXTENSIONS):
    return "image"
  raise ValueError(f"--input {path} is neither a folder, an image {IMAGE_EXTENSIONS} nor a "
                   f"video {VIDEO_EXTENSIONS}.")
