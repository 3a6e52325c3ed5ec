"""Face crops from videos, image sequences and images: frame sampling, batched face
detection, tracking across frames, margin crops or landmark alignment, and masks.

Detectors (`make_detector`): MTCNN (the `mtcnn` wheel, default; its weights ship inside
it; boxes, a confidence and 5 landmarks), OpenCV's Haar cascade (fast; boxes only, no
confidence) and "none" (the frames are face crops already: each is kept whole). MTCNN
keeps faces with confidence >= `min_confidence` and runs on frames scaled down to at
most `max_side` pixels (boxes are scaled back), several frames per call.

Choosing the face (`track_faces`): the detections of a video's sampled frames are linked
into tracks, each detection joining the track whose last box it is most consistent with
(centre within `max_shift` box sides, size within a factor `max_scale`), so a stray box
(the upper body, a floor patch) starts a track of its own instead of replacing the face
in its frame. The main face is the longest track (ties: the larger, more confident one);
`extract_faces(all_faces=True)` keeps every track at least `min_track_ratio` as long.

Crops: a square `margin` x the box's larger side centred on the box (zero padding
outside the frame), resized to `size` x `size`; or with `align=True` (MTCNN) the
similarity transform (scikit-image) taking the 5 landmarks onto the ArcFace 5-point
template placed in the same `margin`. A mask video (FF++'s manipulation masks) is read
at the same frames and cropped with the same box or transform.
"""

import contextlib
import dataclasses
import os
import tempfile

import cv2
import numpy as np

from dfadv_tf.data import images as image_lib

DETECTORS = ("mtcnn", "haar", "none")
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
# The 5-point template of ArcFace (InsightFace) for a 112 x 112 crop, in the order of
# LANDMARKS: a tight face crop, about the detector's box.
_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                          [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)


@dataclasses.dataclass(frozen=True)
class Face:
  """One detection in frame pixels: box (x, y, w, h); confidence (MTCNN's probability,
  None for Haar and "none"); landmarks ((x, y) x 5 in `LANDMARKS` order, or None)."""
  box: tuple
  confidence: float = None
  landmarks: tuple = None

  @property
  def side(self):
    return float(max(self.box[2], self.box[3]))

  @property
  def centre(self):
    x, y, w, h = self.box
    return np.array([x + w / 2, y + h / 2], np.float64)

  def to_json(self):
    """{"box", "confidence", "landmarks"} with plain Python numbers (JSON-able)."""
    return {"box": [int(v) for v in self.box],
            "confidence": None if self.confidence is None else round(float(self.confidence), 4),
            "landmarks": None if self.landmarks is None else [
                [round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks]}


# ---- media: videos, folders of frames, single images -----------------------------------

def is_image(path):
  return path.lower().endswith(IMAGE_EXTENSIONS)


def is_video(path):
  return path.lower().endswith(VIDEO_EXTENSIONS)


def image_sequence(folder):
  """[(frame number, path)] of the images of a folder of frames, sorted; the frame
  number is the file's numeric stem where every stem is a number, else its position."""
  names = sorted(n for n in os.listdir(folder) if is_image(n))
  stems = [os.path.splitext(n)[0] for n in names]
  if stems and all(s.isdigit() for s in stems):
    order = sorted(zip((int(s) for s in stems), names))
  else:
    order = list(enumerate(names))
  return [(number, os.path.join(folder, name)) for number, name in order]


def read_image(path):
  """uint8 RGB (H, W, 3) of an image file (gray and RGBA converted); IOError naming it
  (`images.read_file`: any file name, a pixel limit, truncated files refused)."""
  return image_lib.read_file(path)


def sample_frame_indices(frame_count, num=None, every=None, random=None, seed=0, span=None):
  """Frame positions to read from media of `frame_count` frames (sorted, unique).

  Exactly one of: `num` evenly spaced frames (all if fewer), `every` k-th frame from 0
  (at most `num` of them if both are given), `random` frames drawn without
  replacement with `seed`, or `span` frames at one integer stride
  max(1, frame_count // span) spanning the whole media, the last at its last frame (all
  if fewer; the draw of the reference's test lists,
  docs/reference.md, "Labels and evaluation").
  """
  if frame_count <= 0:
    return []
  if span is not None:
    if num is not None or every is not None or random is not None:
      raise ValueError("span cannot be combined with num, every or random")
    if span < 1:
      raise ValueError(f"span must be >= 1, got {span}")
    if span >= frame_count:
      return list(range(frame_count))
    stride = max(1, frame_count // span)
    return [frame_count - 1 - stride * i for i in range(span - 1, -1, -1)]
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


@contextlib.contextmanager
def opencv_path(path):
  """A name of `path` that OpenCV can open: `path` itself, or, for a name that is not
  valid UTF-8 (which crashes `cv2.VideoCapture`), a symbolic link with an ASCII name in
  a temporary folder, removed after."""
  try:
    os.fsdecode(path).encode("utf-8")
    yield os.fsdecode(path)
    return
  except UnicodeEncodeError:
    pass
  with tempfile.TemporaryDirectory(prefix="dfadv-name-") as folder:
    link = os.path.join(folder, "media" + os.path.splitext(os.fsdecode(path))[1].encode(
        "ascii", "replace").decode("ascii").replace("?", "_"))
    os.symlink(os.path.abspath(path), link)
    yield link


def frame_count(path):
  """Frames of a video (what OpenCV reports; 0 if unknown or unreadable), a folder of
  frames (its images) or an image (1)."""
  if os.path.isdir(path):
    return len(image_sequence(path))
  if is_image(path):
    return 1 if os.path.isfile(path) else 0
  with opencv_path(path) as name:
    capture = cv2.VideoCapture(name)
    try:
      return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if capture.isOpened() else 0
    finally:
      capture.release()


def read_frames(path, indices, skipped=None):
  """Yields (frame index, uint8 RGB frame (H, W, 3)) at the given sorted positions of a
  video, a folder of frames (frame index: `image_sequence`'s number) or an image.

  Videos are read sequentially (grab/retrieve, robust for codecs without exact
  seeking). Raises IOError naming the file if it cannot be opened; with a `skipped`
  list, a frame of a folder that cannot be read is skipped and its message appended.
  """
  if os.path.isdir(path) or is_image(path):
    sequence = image_sequence(path) if os.path.isdir(path) else [(0, path)]
    for position in indices:
      if position < len(sequence):
        number, file = sequence[position]
        try:
          image = read_image(file)
        except OSError as error:
          if skipped is None or not os.path.isdir(path):
            raise
          skipped.append(str(error))
          continue
        yield number, image
    return
  with opencv_path(path) as name:
    yield from _read_video_frames(path, name, indices)


def _read_video_frames(path, name, indices):
  capture = cv2.VideoCapture(name)
  if not capture.isOpened():
    raise IOError(f"cannot open video {image_lib.display_name(path)}")
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


# ---- detectors -------------------------------------------------------------------------

class HaarDetector:
  """OpenCV frontal-face Haar cascade: boxes only (confidence and landmarks None)."""
  name, has_landmarks = "haar", False

  def __init__(self, min_size=24, min_neighbors=8):
    path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
    self.cascade = cv2.CascadeClassifier(path)
    if self.cascade.empty():
      raise IOError(f"cannot load the Haar cascade {path}")
    self.min_size, self.min_neighbors = min_size, min_neighbors

  def detect(self, image):
    """[Face] of one uint8 RGB image."""
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1,
                                          minNeighbors=self.min_neighbors,
                                          minSize=(self.min_size, self.min_size))
    return [Face(tuple(int(v) for v in box)) for box in boxes]

  def detect_batch(self, images):
    """[[Face]] of a list of uint8 RGB images."""
    return [self.detect(image) for image in images]


class MtcnnDetector:
  """MTCNN (package `mtcnn`, all three stages), built on first use.

  min_confidence: faces below this probability are dropped. max_side: frames are
  scaled down (area interpolation) so that their larger side is at most this before
  detection (0: full size), boxes and landmarks scaled back: a 1080p frame at 960 px
  takes a third of the time and still finds faces of 40 px and more. Frames of one
  size go to MTCNN together (`detect_batch`).
  """
  name, has_landmarks = "mtcnn", True

  def __init__(self, min_confidence=0.9, max_side=960):
    self.min_confidence, self.max_side = float(min_confidence), int(max_side)
    self._model = None

  def _scale(self, image):
    side = max(image.shape[:2])
    return min(1.0, self.max_side / side) if self.max_side > 0 else 1.0

  def detect_batch(self, images):
    """[[Face]] of a list of uint8 RGB images (one MTCNN call per distinct size)."""
    if self._model is None:
      from mtcnn import MTCNN  # pylint: disable=g-import-not-at-top
      self._model = MTCNN(stages="face_and_landmarks_detection")
    out = [None] * len(images)
    groups = {}
    for i, image in enumerate(images):
      groups.setdefault(image.shape, []).append(i)
    for members in groups.values():
      scale = self._scale(images[members[0]])
      batch = [images[i] if scale == 1.0 else cv2.resize(
          images[i], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
               for i in members]
      found = self._model.detect_faces(batch)
      for i, faces in zip(members, found):
        out[i] = [self._face(f, scale) for f in faces
                  if f["confidence"] >= self.min_confidence]
    return out

  @staticmethod
  def _face(found, scale):
    x, y, w, h = (float(v) / scale for v in found["box"])
    points = found.get("keypoints") or {}
    landmarks = (tuple((float(points[k][0]) / scale, float(points[k][1]) / scale)
                       for k in LANDMARKS) if all(k in points for k in LANDMARKS)
                 else None)
    return Face((int(round(x)), int(round(y)), int(round(w)), int(round(h))),
                float(found["confidence"]), landmarks)

  def detect(self, image):
    """[Face] of one uint8 RGB image."""
    return self.detect_batch([image])[0]


def make_detector(name="mtcnn", min_confidence=0.9, max_side=960):
  """A face detector by name: "mtcnn" (default, accurate; `min_confidence`,
  `max_side`), "haar" (fast) or "none" (None: frames are face crops already)."""
  if name == "mtcnn":
    return MtcnnDetector(min_confidence, max_side)
  if name == "haar":
    return HaarDetector()
  if name == "none":
    return None
  raise ValueError(f"detector must be one of {DETECTORS}, got {name!r}")


# ---- tracking --------------------------------------------------------------------------

def _match_cost(face, reference, max_shift, max_scale):
  """How far `face` is from a track's last face `reference` (None when too far)."""
  side = max(reference.side, face.side, 1.0)
  shift = float(np.linalg.norm(face.centre - reference.centre)) / side
  scale = max(face.side, 1.0) / max(reference.side, 1.0)
  if shift > max_shift or not 1.0 / max_scale <= scale <= max_scale:
    return None
  return shift + abs(np.log(scale))


def track_faces(detections, max_shift=1.5, max_scale=1.8):
  """Links per-frame detections into tracks.

  Args:
    detections: [[Face]] per sampled frame, in frame order.
    max_shift: a detection joins a track when its centre is within this many box sides
      (the larger of the two boxes) of the track's last box...
    max_scale: ...and its side within this factor of that box's side.
  Returns:
    [{position in `detections`: Face}], the main face first: longest track, then the
    larger total of confidence x side.
  """
  tracks = []
  for position, faces in enumerate(detections):
    pairs = sorted((cost, t, f) for t, track in enumerate(tracks)
                   for f, face in enumerate(faces)
                   if (cost := _match_cost(face, track[max(track)], max_shift, max_scale))
                   is not None)
    used_tracks, used_faces = set(), set()
    for _, t, f in pairs:
      if t not in used_tracks and f not in used_faces:
        tracks[t][position] = faces[f]
        used_tracks.add(t)
        used_faces.add(f)
    tracks += [{position: face} for f, face in enumerate(faces) if f not in used_faces]

  def weight(track):
    return (len(track), sum((1.0 if f.confidence is None else f.confidence) * f.side
                            for f in track.values()))
  return sorted(tracks, key=weight, reverse=True)


# ---- crops -----------------------------------------------------------------------------

def square_box(box, margin=1.3):
  """(x0, y0, side) of the square of `margin` x max(w, h) centred on box (x, y, w, h)."""
  x, y, w, h = box
  side = int(round(max(w, h) * margin))
  return int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2)), side


def crop_face(image, box, margin=1.3, size=256):
  """uint8 (size, size[, C]) square crop of box (x, y, w, h) of an (H, W[, C]) image
  (a frame or a mask), zero padded off-frame."""
  x0, y0, side = square_box(box, margin)
  side = max(side, 1)
  height, width = image.shape[:2]
  crop = np.zeros((side, side) + image.shape[2:], image.dtype)
  sx0, sy0 = max(x0, 0), max(y0, 0)
  sx1, sy1 = min(x0 + side, width), min(y0 + side, height)
  if sx1 > sx0 and sy1 > sy0:
    crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
  interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
  return cv2.resize(crop, (size, size), interpolation=interpolation)


def alignment_matrix(landmarks, size=256, margin=1.3):
  """2 x 3 similarity transform (scikit-image, least squares) taking the 5 landmarks
  ((x, y) in `LANDMARKS` order) onto the ArcFace template, scaled to a `size` crop
  whose face spans 1 / `margin` of it (as `crop_face`'s box does)."""
  from skimage import transform  # pylint: disable=g-import-not-at-top
  target = (0.5 + (_TEMPLATE_112 / 112.0 - 0.5) / margin) * size
  similarity = transform.SimilarityTransform.from_estimate(
      np.asarray(landmarks, np.float64), target)
  if not similarity:
    raise ValueError(f"cannot align landmarks {landmarks}: {similarity}")
  return similarity.params[:2]


def align_face(image, landmarks, size=256, margin=1.3):
  """uint8 (size, size[, C]) crop of an (H, W[, C]) image (a frame or a mask) warped by
  `alignment_matrix`, zero outside the frame."""
  return cv2.warpAffine(image, alignment_matrix(landmarks, size, margin), (size, size),
                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def whole_frame(image, size=256):
  """The whole (H, W[, C]) image padded to a centred square and resized to `size`."""
  height, width = image.shape[:2]
  return crop_face(image, (0, 0, width, height), 1.0, size)


def _to_mask(frame):
  """uint8 (H, W) of a mask video frame (max over channels)."""
  return frame.max(axis=-1) if frame.ndim == 3 else frame


@dataclasses.dataclass
class FaceCrop:
  """One crop: the frame index, the uint8 RGB crop (size, size, 3), its `Face` in frame
  pixels, its track (0: the main face) and its uint8 mask (size, size) in {0, 255} (None
  without a mask video)."""
  frame_index: int
  image: np.ndarray
  face: Face
  track: int = 0
  mask: np.ndarray = None


@dataclasses.dataclass
class FaceCrops:
  """What `extract_faces` got from one video (or folder of frames, or image).

  crops: [FaceCrop] of the kept tracks, by frame then track; frames_read: frames
  decoded; faces_missed: frames without a kept face; tracks: faces found (all tracks,
  stray ones included); masks_missed: frames whose mask frame could not be read;
  frames_skipped: [message] of the frames of a folder that could not be read
  (truncated, too large, no image), skipped; error: None, or why the media could not
  be read (not fatal).
  """
  path: str
  crops: list = dataclasses.field(default_factory=list)
  frames_read: int = 0
  faces_missed: int = 0
  tracks: int = 0
  masks_missed: int = 0
  frames_skipped: list = dataclasses.field(default_factory=list)
  error: str = None


def _crop(frame, face, margin, size, align):
  if align and face.landmarks is not None:
    return align_face(frame, face.landmarks, size, margin)
  return crop_face(frame, face.box, margin, size)


def extract_faces(path, detector, num=None, every=None, random=None, seed=0, margin=1.3,
                  size=256, align=False, mask_path=None, all_faces=False, batch_size=8,
                  min_track_ratio=0.5, span=None):
  """Face crops of the sampled frames (see `sample_frame_indices`) of a video, a folder
  of frames or an image.

  Args:
    path: the media.
    detector: from `make_detector`; None keeps each frame whole (`whole_frame`).
    num, every, random, seed, span: the frame sampling.
    margin, size: the square crop (`crop_face`) and its side in pixels.
    align: warp by the 5 landmarks (`align_face`; needs a detector with landmarks).
    mask_path: optional video of masks (FF++'s `masks/videos/<id>.mp4`), read at the
      same frames and cropped the same way (binarised at 128).
    all_faces: keep every track at least `min_track_ratio` x the main one's length
      (tracks numbered from 0, the main face); False keeps the main face only.
    batch_size: frames decoded and detected together.
  Returns:
    `FaceCrops`. Frames without a kept face are skipped and counted; an unreadable
    input returns a `FaceCrops` with `error` set instead of raising.
  """
  if align and detector is not None and not detector.has_landmarks:
    raise ValueError(f"align=True needs landmarks; the {detector.name} detector has "
                     "none (use mtcnn)")
  result = FaceCrops(path)
  count = frame_count(path)
  if count == 0:
    kind = ("folder of frames" if os.path.isdir(path) else
            "image" if is_image(path) else "video")
    result.error = f"cannot read {kind} {path} (no frames: missing, empty or unreadable)"
    return result
  indices = sample_frame_indices(count, num, every, random, seed, span)
  masks = read_frames(mask_path, indices) if mask_path else None
  pending_mask = None
  candidates, detections = [], []  # per sampled frame: (index, [crops], [mask crops])

  def mask_at(index):
    nonlocal pending_mask
    while masks is not None:
      if pending_mask is None:
        pending_mask = next(masks, None)
        if pending_mask is None:
          return None
      if pending_mask[0] == index:
        return _to_mask(pending_mask[1])
      if pending_mask[0] > index:
        return None
      pending_mask = None
    return None

  def process(batch):
    found = ([[Face((0, 0, f.shape[1], f.shape[0]))] for _, f in batch]
             if detector is None else detector.detect_batch([f for _, f in batch]))
    for (index, frame), faces in zip(batch, found):
      mask = mask_at(index) if mask_path else None
      if mask_path and mask is None:
        result.masks_missed += 1
      if mask is not None and mask.shape != frame.shape[:2]:
        mask = cv2.resize(mask, frame.shape[1::-1], interpolation=cv2.INTER_NEAREST)
      if detector is None:
        crops = [whole_frame(frame, size)]
        mask_crops = [None if mask is None else whole_frame(mask, size)]
      else:
        crops = [_crop(frame, face, margin, size, align) for face in faces]
        mask_crops = [None if mask is None else _crop(mask, face, margin, size, align)
                      for face in faces]
      candidates.append((index, crops, [None if m is None else np.where(m >= 128, 255, 0)
                                        .astype(np.uint8) for m in mask_crops]))
      detections.append(faces)

  try:
    batch = []
    for index, frame in read_frames(path, indices, result.frames_skipped):
      result.frames_read += 1
      batch.append((index, frame))
      if len(batch) == batch_size:
        process(batch)
        batch = []
    if batch:
      process(batch)
  except (IOError, cv2.error) as e:
    result.error = f"{type(e).__name__}: {e}"
  if result.frames_read == 0 and result.error is None:
    result.error = f"no frame of {path} could be decoded"
  tracks = track_faces(detections)
  result.tracks = len(tracks)
  if tracks and all_faces:
    tracks = [t for t in tracks if len(t) >= min_track_ratio * len(tracks[0])]
  elif tracks:
    tracks = tracks[:1]
  position_of = [{id(face): i for i, face in enumerate(faces)} for faces in detections]
  for position, (index, crops, mask_crops) in enumerate(candidates):
    kept = [(t, track[position]) for t, track in enumerate(tracks) if position in track]
    if not kept:
      result.faces_missed += 1
    for t, face in kept:
      i = position_of[position][id(face)]
      result.crops.append(FaceCrop(index, crops[i], face, t, mask_crops[i]))
  return result
