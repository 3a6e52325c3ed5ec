"""Face crops from videos: OpenCV frame sampling, face detection, margin crop.

Detectors: MTCNN (the `mtcnn` package, default; its weights ship inside the wheel, so
nothing is downloaded; built lazily on first use) and OpenCV's Haar cascade (fast,
`cv2.data.haarcascades` ships with the wheel). The largest face of a frame is kept and
cropped as a square `margin` times its larger side, centred on the box (zero padding
outside the frame), then resized to `size` x `size`.
"""

import dataclasses
import os

import cv2
import numpy as np

DETECTORS = ("mtcnn", "haar")


def sample_frame_indices(frame_count, num=None, every=None, random=None, seed=0):
  """Frame indices to read from a video of `frame_count` frames (sorted, unique).

  Exactly one of: `num` evenly spaced frames (all if fewer), `every` k-th frame from 0
  (at most `num` of them if both are given), or `random` frames drawn without
  replacement with `seed`.
  """
  if frame_count <= 0:
    return []
  if random is not None:
    if num is not None or every is not None:
      raise ValueError("random cannot be combined with num or every")
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(frame_count, min(random, frame_count), False))
  if every is not None:
    if every < 1:
      raise ValueError(f"every must be >= 1, got {every}")
    indices = list(range(0, frame_count, every))
    return indices[:num] if num is not None else indices
  if num is None or num < 1:
    raise ValueError(f"give num >= 1, every or random; got num={num}")
  if num >= frame_count:
    return list(range(frame_count))
  return sorted({int(round(i)) for i in np.linspace(0, frame_count - 1, num)})


def read_frames(path, indices):
  """Yields (index, uint8 RGB frame (H, W, 3)) for the given sorted indices.

  Reads sequentially (grab/retrieve, robust for codecs without exact seeking). Raises
  IOError naming the file if it cannot be opened.
  """
  capture = cv2.VideoCapture(path)
  if not capture.isOpened():
    raise IOError(f"cannot open video {path}")
  try:
    wanted, position = iter(indices), 0
    target = next(wanted, None)
    while target is not None:
      if not capture.grab():
        break
      if position == target:
        ok, frame = capture.retrieve()
        if ok:
          yield position, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        target = next(wanted, None)
      position += 1
  finally:
    capture.release()


def frame_count(path):
  """Number of frames OpenCV reports for a video (0 if unknown or unreadable)."""
  capture = cv2.VideoCapture(path)
  try:
    return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if capture.isOpened() else 0
  finally:
    capture.release()


class HaarDetector:
  """OpenCV frontal-face Haar cascade. `detect(rgb)` -> [(x, y, w, h)] in pixels."""

  def __init__(self, min_size=24, min_neighbors=8):
    path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
    self.cascade = cv2.CascadeClassifier(path)
    if self.cascade.empty():
      raise IOError(f"cannot load the Haar cascade {path}")
    self.min_size, self.min_neighbors = min_size, min_neighbors

  def detect(self, image):
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1,
                                          minNeighbors=self.min_neighbors,
                                          minSize=(self.min_size, self.min_size))
    return [tuple(int(v) for v in box) for box in boxes]


class MtcnnDetector:
  """MTCNN (package `mtcnn`), built on first use. `detect(rgb)` -> [(x, y, w, h)]."""

  def __init__(self, min_confidence=0.9):
    self.min_confidence = min_confidence
    self._model = None

  def detect(self, image):
    if self._model is None:
      from mtcnn import MTCNN  # pylint: disable=g-import-not-at-top
      self._model = MTCNN(stages="face_detection_only")
    faces = self._model.detect_faces(image)
    return [tuple(int(v) for v in face["box"]) for face in faces
            if face["confidence"] >= self.min_confidence]


def make_detector(name="mtcnn"):
  """A face detector by name: "mtcnn" (default, accurate) or "haar" (fast)."""
  if name == "mtcnn":
    return MtcnnDetector()
  if name == "haar":
    return HaarDetector()
  raise ValueError(f"detector must be one of {DETECTORS}, got {name!r}")


def square_box(box, margin=1.3):
  """(x0, y0, side) of the square of `margin` x max(w, h) centred on box (x, y, w, h)."""
  x, y, w, h = box
  side = int(round(max(w, h) * margin))
  return int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2)), side


def crop_face(image, box, margin=1.3, size=256):
  """uint8 (size, size, 3) square crop of box (x, y, w, h), zero padded off-frame."""
  x0, y0, side = square_box(box, margin)
  height, width = image.shape[:2]
  crop = np.zeros((side, side, 3), np.uint8)
  sx0, sy0 = max(x0, 0), max(y0, 0)
  sx1, sy1 = min(x0 + side, width), min(y0 + side, height)
  if sx1 > sx0 and sy1 > sy0:
    crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
  interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
  return cv2.resize(crop, (size, size), interpolation=interpolation)


@dataclasses.dataclass
class FaceCrops:
  """What `extract_faces` got from one video.

  crops: [(frame index, uint8 (size, size, 3) RGB crop, face box (x, y, w, h))].
  frames_read: frames decoded; faces_missed: frames without a face;
  error: None, or why the video could not be read (not fatal).
  """
  path: str
  crops: list = dataclasses.field(default_factory=list)
  frames_read: int = 0
  faces_missed: int = 0
  error: str = None


def extract_faces(path, detector, num=None, every=None, random=None, seed=0, margin=1.3,
                  size=256):
  """Largest-face crops of sampled frames of one video (see `sample_frame_indices`).

  Frames without a face are skipped and counted; an unreadable video returns a
  `FaceCrops` with `error` set instead of raising.
  """
  result = FaceCrops(path)
  count = frame_count(path)
  if count == 0:
    result.error = f"cannot read video {path} (no frames)"
    return result
  try:
    for index, frame in read_frames(path, sample_frame_indices(count, num, every, random,
                                                               seed)):
      result.frames_read += 1
      boxes = detector.detect(frame)
      if not boxes:
        result.faces_missed += 1
        continue
      box = max(boxes, key=lambda b: b[2] * b[3])
      result.crops.append((index, crop_face(frame, box, margin, size), box))
  except (IOError, cv2.error) as e:
    result.error = f"{type(e).__name__}: {e}"
  if result.frames_read == 0 and result.error is None:
    result.error = f"no frame of {path} could be decoded"
  return result
