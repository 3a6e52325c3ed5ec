"""Scoring media with a trained detector: images, folders of images and videos ->
JSON-able reports with a fake probability per image, per face, per frame and per video.

Images are scored as they are (they should be face crops like the training data) unless
a face detector is given, which crops the image's main face first (as the training data
was made, `dfadv_tf.data.faces`); an image scored whole that does not look like a face
crop (much larger than the model's input, or far from square) gets a `warning`. A video
is sampled (`frames` evenly spaced frames), its faces detected and tracked across the
frames, every tracked face scored frame by frame, and the video score aggregates them
(`AGGREGATIONS`). Inputs are decoded one at a time and only model-size crops are kept,
so memory does not grow with the size or the number of the inputs.

`image_crop` and `video_crops` give the crops that are scored (for explanations and
robustness checks on exactly what the detector sees); `score_images` and `score_video`
also hand each scored crop, at the model's size, to an `on_crop(entry, crop)` callback
(`dfadv-detect --explain` writes its Grad-CAM overlays from them, without decoding or
detecting faces twice).
"""

import os

import cv2
import numpy as np

from dfadv_tf import checks
from dfadv_tf import serving
from dfadv_tf.data import faces

IMAGE_EXTENSIONS = faces.IMAGE_EXTENSIONS
VIDEO_EXTENSIONS = faces.VIDEO_EXTENSIONS
# How a video's score is made from its faces' per-frame scores:
#   mean: the mean over every scored crop (every face, every frame);
#   max_face: the largest of the faces' means over their frames (one fake face among
#     real ones makes the video fake);
#   sbi: the mean over frames of the largest score in each frame (Self-Blended Images'
#     inference_dataset.py);
#   confident: the DFDC winner's "confident strategy" over every crop
#     (`confident_strategy`).
AGGREGATIONS = ("mean", "max_face", "sbi", "confident")


def read_image(path):
  """uint8 RGB (H, W, 3); gray and RGBA are converted. IOError names the file."""
  return faces.read_image(path)


def _fit(crop, size):
  """`crop` resized to the detector's (height, width) (area interpolation)."""
  if crop.shape[:2] == tuple(size):
    return crop
  return cv2.resize(crop, tuple(size)[::-1], interpolation=cv2.INTER_AREA)


class NonFiniteScore(ValueError):
  """A detector gave NaN or an infinity: never reported as a score."""


def score_crops(detector, crops, batch_size=32):
  """Fake probabilities (list of float) of uint8 RGB crops (a sequence of (H, W, 3));
  `NonFiniteScore` (a ValueError naming the detector) when one is not finite."""
  size = serving.detector_image_size(detector)
  scores = []
  for start in range(0, len(crops), batch_size):
    batch = np.stack([_fit(c, size) for c in crops[start:start + batch_size]])
    probability = serving.fake_probability(detector, serving.preprocess(batch, size))
    values = probability.numpy()
    if not np.all(np.isfinite(values)):
      raise NonFiniteScore(f"detector {detector.name!r} gave a non-finite fake probability "
                           f"({values[~np.isfinite(values)][0]}) for crop "
                           f"{start + int(np.argmin(np.isfinite(values)))}: its weights or "
                           "its computation are broken (no score is reported).")
    scores.extend(float(p) for p in values)
  return scores


def whole_frame_warning(path, shape, size):
  """A warning (str) when an image of `shape` scored whole at `size` (h, w) does not look
  like a face crop: a side more than twice the model's, or an aspect ratio beyond 4:3;
  None otherwise."""
  height, width = shape[:2]
  aspect = max(height, width) / max(min(height, width), 1)
  if max(height / size[0], width / size[1]) <= 2.0 and aspect <= 4 / 3:
    return None
  return (f"{path}: a {width}x{height} image scored whole (resized to {size[1]}x{size[0]}) "
          "without face cropping; the detector was trained on face crops: pass "
          "--crop_faces (or a face detector) unless it is a face crop")


def image_crop(image, face_detector=None, size=256, margin=1.3, align=False):
  """(uint8 crop (size, size, 3), `faces.Face` or None, faces found) of one RGB image:
  the main face (`faces.track_faces` on its detections) cropped as the training data,
  or, without a face detector, the image itself unchanged (face None). The crop is None
  when no face is found."""
  if face_detector is None:
    return image, None, 0
  found = face_detector.detect(image)
  if not found:
    return None, None, 0
  face = next(iter(faces.track_faces([found])[0].values()))
  if align and face.landmarks is not None:
    return faces.align_face(image, face.landmarks, size, margin), face, len(found)
  return faces.crop_face(image, face.box, margin, size), face, len(found)


def score_images(detector, paths, face_detector=None, margin=1.3, threshold=0.5,
                 batch_size=32, align=False, on_crop=None, skip_unreadable=False):
  """[{"path", "fake_probability", "fake", "face", "faces_found"[, "warning"]}] for image
  files; with `face_detector` the main face of each image is cropped first ("face": its
  box, confidence and landmarks; an image without a face has "face": None and no
  score); without, an image that does not look like a face crop gets a "warning".
  `on_crop(entry, crop)`, if given, is called for every scored image, after its entry
  has its score, with the uint8 crop that was scored (the model's size). An image that
  cannot be read (missing, truncated, too large) raises OSError naming it, or with
  `skip_unreadable` gets an entry {"path", "error"} and no score."""
  size = serving.detector_image_size(detector)
  entries, pending = [], []

  def flush():
    crops = [e.pop("_crop") for e in pending]
    for entry, crop, p in zip(pending, crops, score_crops(detector, crops, batch_size)):
      entry.update(fake_probability=p, fake=p >= threshold)
      if on_crop is not None:
        on_crop(entry, crop)
    pending.clear()

  for path in paths:
    try:
      image = read_image(path)
    except OSError as error:
      if not skip_unreadable:
        raise
      entries.append({"path": path, "error": str(error)})
      continue
    crop, face, found = image_crop(image, face_detector, max(size), margin, align)
    entry = {"path": path, "face": None if face is None else face.to_json(),
             "faces_found": found}
    if face_detector is None:
      warning = whole_frame_warning(path, image.shape, size)
      if warning:
        entry["warning"] = warning
    if crop is None:
      entries.append(entry)
      continue
    entry["_crop"] = _fit(crop, size)  # only the model-size crop is kept
    entries.append(entry)
    pending.append(entry)
    if len(pending) == batch_size:
      flush()
  flush()
  return entries


def confident_strategy(scores, threshold=0.8, low=0.2, min_confident=11):
  """The DFDC winner's video score (Seferbekov, kernel_utils.confident_strategy): the
  mean of the scores above `threshold` when more than max(len / 2.5 (floored),
  `min_confident`) of them are; else the mean of those below `low` when they are more
  than 90 %; else the mean of all."""
  scores = np.asarray(scores, np.float64)
  confident = scores > threshold
  if confident.sum() > np.floor(scores.size / 2.5) and confident.sum() > min_confident:
    return float(scores[confident].mean())
  if (scores < low).sum() > 0.9 * scores.size:
    return float(scores[scores < low].mean())
  return float(scores.mean())


def aggregate(frames, aggregation="mean"):
  """The video score of scored crops [{"frame_index", "face", "fake_probability"}] by one
  of `AGGREGATIONS`."""
  checks.one_of(aggregation, AGGREGATIONS, "aggregation")
  scores = np.array([f["fake_probability"] for f in frames], np.float64)
  if aggregation == "mean":
    return float(scores.mean())
  if aggregation == "confident":
    return confident_strategy(scores)
  key = "face" if aggregation == "max_face" else "frame_index"
  groups = {}
  for frame, score in zip(frames, scores):
    groups.setdefault(frame[key], []).append(score)
  if aggregation == "max_face":
    return float(max(np.mean(g) for g in groups.values()))
  return float(np.mean([max(g) for g in groups.values()]))


def video_crops(path, face_detector, frames=32, size=256, margin=1.3, align=False,
                batch_size=8):
  """`faces.FaceCrops` of every tracked face of `frames` evenly spaced frames of a video
  (`faces.extract_faces(all_faces=True)`); face_detector None keeps the frames whole.
  IOError naming the video when it cannot be read."""
  result = faces.extract_faces(path, face_detector, num=frames, margin=margin, size=size,
                               align=align, all_faces=True, batch_size=batch_size)
  if result.error and not result.crops:
    raise IOError(result.error)
  return result


def score_video(detector, path, face_detector, frames=32, margin=1.3, threshold=0.5,
                batch_size=32, aggregation="mean", align=False, on_crop=None):
  """{"path", "frames_read", "faces_missed", "error", "faces": [{"face", "frames",
  "fake_probability"}], "frames": [{"frame_index", "face", "box", "confidence",
  "landmarks", "fake_probability"}], "aggregation", "fake_probability", "fake"[,
  "warning"]} of one video: every tracked face ("face" 0 is the main one) scored in
  each frame it was found, the video score by `aggregation`; a video where no face is
  found has "fake_probability" and "fake" None and a "warning". IOError naming the video
  when it cannot be read. `on_crop(frame_entry, crop)`, if given, is called for every
  entry of "frames" with the uint8 crop that was scored (the model's size)."""
  checks.one_of(aggregation, AGGREGATIONS, "aggregation")
  size = serving.detector_image_size(detector)
  result = video_crops(path, face_detector, frames, max(size), margin, align)
  out = {"path": path, "frames_read": result.frames_read,
         "faces_missed": result.faces_missed, "error": result.error, "faces": [],
         "frames": [], "aggregation": aggregation}
  if face_detector is None:
    out["warning"] = (f"{path}: frames scored whole without face cropping; the detector "
                      "was trained on face crops")
  if result.crops:
    crops = [_fit(c.image, size) for c in result.crops]
    scores = score_crops(detector, crops, batch_size)
    out["frames"] = [{"frame_index": int(c.frame_index), "face": int(c.track),
                      **c.face.to_json(), "fake_probability": p}
                     for c, p in zip(result.crops, scores)]
    if on_crop is not None:
      for entry, crop in zip(out["frames"], crops):
        on_crop(entry, crop)
    for track in sorted({c.track for c in result.crops}):
      own = [f["fake_probability"] for f in out["frames"] if f["face"] == track]
      out["faces"].append({"face": track, "frames": len(own),
                           "fake_probability": float(np.mean(own))})
    out["fake_probability"] = aggregate(out["frames"], aggregation)
    out["fake"] = out["fake_probability"] >= threshold
  else:  # an explicit "no result", never a silent one
    out["fake_probability"], out["fake"] = None, None
    out["warning"] = (f"{path}: no face found in the {result.frames_read} frames read; "
                      "the video has no score")
  return out


def kind_of(path):
  """"folder", "video" or "image" by what `path` is; ValueError for anything else."""
  if os.path.isdir(path):
    return "folder"
  if faces.is_video(path):
    return "video"
  if faces.is_image(path):
    return "image"
  raise ValueError(f"--input {path} is neither a folder, an image {IMAGE_EXTENSIONS} nor a "
                   f"video {VIDEO_EXTENSIONS}.")
