"""TFRecord schema, an atomic sharded writer and the `load_split` tf.data reader.

On disk, one folder per dataset:

  <root>/<dataset>/index.json
  <root>/<dataset>/<split>/<method>/<quality>/<name>.tfrecord

Every shard holds one (split, method, quality, label); `index.json` lists the completed
shards with their record counts, and totals per method / quality / split / label. A shard
is written to a temporary file and renamed (`os.replace`) when complete; the index is
then rewritten the same way, so a half-written shard is never listed and a resumed run
rewrites it.

Each record is a `tf.train.Example` with the features of `FEATURES`: `image` (encoded
PNG or JPEG bytes, RGB), `label` (0 real, 1 fake), `dataset`, `method` (youtube,
Deepfakes, Face2Face, FaceSwap, NeuralTextures, ...), `quality` (raw, c23, c40, ...),
`split` (train, val, test), `video_id`, `frame_index`, `height`, `width`, `mask`
(encoded single-channel PNG of the manipulated region, or empty bytes when absent) and
the face the crop was made from, in frame pixels: `face_box` (x, y, w, h), its
`face_confidence` (-1: unknown) and `face_landmarks` (x, y of the 5 MTCNN points in
`faces.LANDMARKS` order; -1 when absent). The face features have defaults, so records
written before them read as well. An index shard entry counts its records with a mask
(`"masks"`; absent in indexes written before, read it with `.get("masks", 0)`).
"""

import collections
import json
import os

import cv2
import numpy as np
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf import files
from dfadv_tf.data import images as image_lib
from dfadv_tf.data import provenance
from dfadv_tf.files import TEMP_PREFIX, atomic_write

INDEX_FILE = "index.json"
INDEX_VERSION = 1
SPLITS = ("train", "val", "test")
REAL_LABEL, FAKE_LABEL = 0, 1
_FORMATS = {"png": ".png", "jpeg": ".jpg"}

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "dataset": tf.io.FixedLenFeature([], tf.string),
    "method": tf.io.FixedLenFeature([], tf.string),
    "quality": tf.io.FixedLenFeature([], tf.string),
    "split": tf.io.FixedLenFeature([], tf.string),
    "video_id": tf.io.FixedLenFeature([], tf.string),
    "frame_index": tf.io.FixedLenFeature([], tf.int64),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "mask": tf.io.FixedLenFeature([], tf.string, default_value=b""),
    "face_box": tf.io.FixedLenFeature([4], tf.int64, default_value=[0, 0, 0, 0]),
    "face_confidence": tf.io.FixedLenFeature([], tf.float32, default_value=-1.0),
    "face_landmarks": tf.io.FixedLenFeature([10], tf.float32, default_value=[-1.0] * 10),
}
_SHARD_KEYS = ("dataset", "split", "method", "quality", "label")


def encode_image(image, image_format="png", jpeg_quality=95):
  """Encodes a uint8 RGB image (H, W, 3) or mask (H, W) as PNG or JPEG bytes."""
  if image_format not in _FORMATS:
    raise ValueError(f"image_format must be one of {sorted(_FORMATS)}, got {image_format!r}")
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.ndim not in (2, 3) or (
      image.ndim == 3 and image.shape[-1] != 3):
    raise ValueError(f"image must be uint8 (H, W, 3) or (H, W), got {image.dtype} "
                     f"{image.shape}")
  bgr = image[..., ::-1] if image.ndim == 3 else image
  params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if image_format == "jpeg" else []
  ok, data = cv2.imencode(_FORMATS[image_format], np.ascontiguousarray(bgr), params)
  if not ok:
    raise ValueError(f"OpenCV could not encode a {image.shape} image as {image_format}")
  return data.tobytes()


def make_example(image, *, label, dataset, method, quality, split, video_id, frame_index,
                 mask=None, face=None, image_format="png"):
  """Builds one record.

  Args:
    image: uint8 RGB array (H, W, 3), or already encoded PNG/JPEG bytes (then its
      height and width are read from the bytes).
    label: 0 real, 1 fake.
    dataset, method, quality, split, video_id: strings (split in `SPLITS`).
    frame_index: index of the frame in its video.
    mask: optional uint8 (H, W) array (or encoded PNG bytes) of the manipulated region.
    face: optional `faces.Face` (or anything with `box`, `confidence`, `landmarks`) the
      crop was made from: kept as `face_box`, `face_confidence`, `face_landmarks`.
    image_format: "png" (lossless) or "jpeg", for arrays.
  Returns:
    A `tf.train.Example`.
  """
  label = check_label(label, f"video {video_id!r} frame {frame_index}")
  if split not in SPLITS:
    raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
  if isinstance(image, bytes):
    decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
      raise ValueError(f"image bytes of {video_id!r} frame {frame_index} are not PNG/JPEG")
    encoded, (height, width) = image, decoded.shape[:2]
  else:
    encoded, (height, width) = encode_image(image, image_format), np.shape(image)[:2]
  if mask is not None and not isinstance(mask, bytes):
    mask = encode_image(mask, "png")

  def _bytes(value):
    value = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

  def _int(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

  feature = {
      "image": _bytes(encoded), "label": _int(label), "dataset": _bytes(dataset),
      "method": _bytes(method), "quality": _bytes(quality), "split": _bytes(split),
      "video_id": _bytes(video_id), "frame_index": _int(frame_index),
      "height": _int(height), "width": _int(width), "mask": _bytes(mask or b""),
  }
  if face is not None:
    points = np.full(10, -1.0) if face.landmarks is None else np.ravel(face.landmarks)
    if len(face.box) != 4 or points.size != 10:
      raise ValueError(f"face of {video_id!r} frame {frame_index}: expected a box (x, y, w, "
                       f"h) and 5 (x, y) landmarks, got {face.box} and {points.size // 2}")
    feature.update(
        face_box=tf.train.Feature(int64_list=tf.train.Int64List(
            value=[int(round(v)) for v in face.box])),
        face_confidence=tf.train.Feature(float_list=tf.train.FloatList(
            value=[-1.0 if face.confidence is None else float(face.confidence)])),
        face_landmarks=tf.train.Feature(float_list=tf.train.FloatList(
            value=[float(v) for v in points])))
  return tf.train.Example(features=tf.train.Features(feature=feature))


def check_label(label, where=None):
  """`label` as an int; ValueError (naming `where`, e.g. the shard and record) unless it
  is 0 (real) or 1 (fake)."""
  if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or (
      label not in (REAL_LABEL, FAKE_LABEL)):
    raise ValueError(f"label must be 0 (real) or 1 (fake), got {label!r}"
                     + (f" ({where})" if where else ""))
  return int(label)


def parse_example(serialized):
  """Parses one serialized record into the dict of `FEATURES` (tensors, no decoding)."""
  return tf.io.parse_single_example(serialized, FEATURES)


class ShardedWriter:
  """Writes the shards of one dataset and keeps its `index.json`.

  `write(split, method, quality, name, examples)` writes one shard atomically and then
  records it in the index (also atomically); `is_complete(...)` tells a resumed run which
  shards to skip. Not safe for concurrent use by several processes: run the encoding in
  workers, write from one process. Records are serialised deterministically (same
  examples, same bytes); the temporary files that a killed writer left behind are removed
  when the next writer of the dataset starts.

  Used as a context manager (`with ShardedWriter(root, dataset, built_from, restart)`),
  it also owns the dataset (its output lock) and checks what it was built from
  (`__enter__`); `dataset` must name a folder under `root` (`files.under_root`).
  """

  def __init__(self, root, dataset, built_from=None, restart=False):
    self.root, self.dataset = root, dataset
    self.target = files.under_root(root, dataset, "dataset")
    self.folder, self.built_from, self.restart = self.target, built_from, restart
    self._locks, self._staging = [], None
    if built_from is None and not restart:
      self._open()

  def _open(self):
    self._shards = {s["path"]: s for s in _read_index(self.folder, missing_ok=True)["shards"]}
    for top, _, names in os.walk(self.folder):
      for name in names:
        if name.startswith(TEMP_PREFIX):
          os.remove(os.path.join(top, name))

  def __enter__(self):
    """Owns the dataset (`files.OutputLock`, the lock of train / evaluate) and checks
    what it was built from: a dataset of other inputs or options (`built_from`,
    `provenance.compare`) is refused unless `restart`, which builds a new one in a
    staging folder beside it that replaces it whole when the block ends without an
    error (a killed rebuild resumes there; the old dataset stays until the swap)."""
    self._locks.append(files.OutputLock(self.target, "dataset").acquire())
    try:
      has_index = os.path.exists(os.path.join(self.target, INDEX_FILE))
      stored = provenance.read(self.target)
      if has_index and not self.restart and self.built_from is not None:
        if stored is None:
          raise ValueError(f"dataset {self.target} holds records without a record of what "
                           "they were built from (an older version wrote them); pass "
                           "--restart to rebuild it.")
        changed = provenance.compare(stored, self.built_from)
        if changed:
          raise ValueError(f"dataset {self.target} was built from other inputs or "
                           f"options ({changed}); pass --restart to rebuild it, or "
                           "choose another --dataset.")
      if self.restart and (has_index or stored is not None):
        self._staging = os.path.join(os.path.dirname(self.target),
                                     f".rebuild-{os.path.basename(self.target)}")
        self._locks.append(files.OutputLock(self._staging, "dataset").acquire())
        if provenance.read(self._staging) != self.built_from:  # another rebuild's
          for name in os.listdir(self._staging):
            if name != files.LOCK_FILE:
              files.remove_path(os.path.join(self._staging, name))
        self.folder = self._staging
      if self.built_from is not None:
        if provenance.read(self.folder) != self.built_from:
          files.atomic_write_text(os.path.join(self.folder, provenance.SOURCES_FILE),
                                  json.dumps(self.built_from, indent=1) + "\n")
      self._open()
    except BaseException:
      self._release()
      raise
    return self

  def __exit__(self, exc_type, *exc):
    try:
      if exc_type is None and self._staging is not None and os.path.exists(
          os.path.join(self._staging, INDEX_FILE)):
        files.swap_folders(self._staging, self.target)
        self.folder, self._staging = self.target, None
    finally:
      self._release()
    return False

  def _release(self):
    for lock in reversed(self._locks):
      lock.release()
    self._locks = []

  @staticmethod
  def shard_path(split, method, quality, name):
    """Path of a shard relative to the dataset folder."""
    return f"{split}/{method}/{quality}/{name}.tfrecord"

  def is_complete(self, split, method, quality, name):
    path = self.shard_path(split, method, quality, name)
    return path in self._shards and os.path.exists(os.path.join(self.folder, path))

  def write(self, split, method, quality, name, examples):
    """Writes `examples` (iterable of `tf.train.Example`) as one shard; returns its entry
    (path, split, method, quality, label, records, videos, masks: records with a mask).

    Every example must have this shard's split, method and quality, the writer's
    dataset, and one label throughout (ValueError otherwise).
    """
    path = self.shard_path(split, method, quality, name)
    entry = {"path": path, "split": split, "method": method, "quality": quality,
             "label": None, "records": 0, "videos": 0, "masks": 0}
    videos = set()

    def write_records(temp):
      with tf.io.TFRecordWriter(temp) as writer:
        for example in examples:
          feature = example.features.feature
          got = {k: feature[k].bytes_list.value[0].decode() for k in _SHARD_KEYS[:-1]}
          label = check_label(feature["label"].int64_list.value[0],
                              f"shard {path}, record {entry['records']}")
          entry["label"] = label if entry["label"] is None else entry["label"]
          want = {"dataset": self.dataset, "split": split, "method": method,
                  "quality": quality}
          if got != want or label != entry["label"]:
            raise ValueError(f"shard {path}: record of {dict(got, label=label)} does not "
                             f"match the shard's {dict(want, label=entry['label'])}")
          videos.add(feature["video_id"].bytes_list.value[0])
          entry["masks"] += int(bool(feature["mask"].bytes_list.value[0]))
          writer.write(example.SerializeToString(deterministic=True))
          entry["records"] += 1

    atomic_write(os.path.join(self.folder, path), write_records)
    entry["videos"] = len(videos)
    self._shards[path] = entry
    self._write_index()
    return entry

  def _write_index(self):
    shards = sorted(self._shards.values(), key=lambda s: s["path"])
    counts = {key: collections.Counter() for key in ("method", "quality", "split", "label")}
    for shard in shards:
      for key, counter in counts.items():
        counter[str(shard[key])] += shard["records"]
    index = {"version": INDEX_VERSION, "dataset": self.dataset, "shards": shards,
             "records": sum(s["records"] for s in shards),
             "counts": {k: dict(sorted(c.items())) for k, c in counts.items()}}

    def dump(temp):
      with open(temp, "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1)

    atomic_write(os.path.join(self.folder, INDEX_FILE), dump)


def _read_index(folder, missing_ok=False):
  path = os.path.join(folder, INDEX_FILE)
  if not os.path.exists(path):
    if missing_ok:
      return {"shards": []}
    raise FileNotFoundError(f"no dataset index at {path}: write the dataset first "
                            "(tools/preprocess.py or tools/make_demo_data.py)")
  try:
    with open(path, encoding="utf-8") as f:
      index = json.load(f)
  except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
    why = "nested too deeply" if isinstance(e, RecursionError) else str(e)
    raise ValueError(f"dataset index {path} is not valid JSON ({why}); rewrite it with "
                     "the tool that wrote the dataset") from None
  _check_index(index, path)
  return index


_ENTRY_KEYS = {"path": str, "split": str, "method": str, "quality": str, "label": int,
               "records": int}


def _check_index(index, path):
  """ValueError naming `path` and the first bad entry unless `index` has the shape that
  `ShardedWriter` writes: {"shards": [{path, split, method, quality, label, records}]},
  labels 0 or 1."""
  shards = index.get("shards") if isinstance(index, dict) else None
  if not isinstance(shards, list):
    raise ValueError(f"dataset index {path}: expected an object with a list 'shards', "
                     f"got {type(index).__name__}{' without it' if shards is None else ''}")
  for i, shard in enumerate(shards):
    bad = ([k for k, kind in _ENTRY_KEYS.items()
            if not isinstance(shard.get(k), kind) or isinstance(shard.get(k), bool)]
           if isinstance(shard, dict) else list(_ENTRY_KEYS))
    if bad:
      expected = ", ".join(f"{k}: {kind.__name__}" for k, kind in _ENTRY_KEYS.items())
      raise ValueError(f"dataset index {path}: shard entry {i} lacks valid {bad} "
                       f"(expected {{{expected}}})")
    check_label(shard["label"], f"dataset index {path}, shard {shard['path']}")


def read_index(root, dataset):
  """The parsed `index.json` of `<root>/<dataset>`: FileNotFoundError if absent,
  ValueError naming the file if it is not an index (bad JSON, entries, labels) or
  when `dataset` leads outside `root`."""
  files.under_root(root, dataset, "dataset")
  return _read_index(os.path.join(root, dataset))


def real_methods(root, dataset):
  """The methods of `<root>/<dataset>` whose records are real (label 0), sorted: the
  dataset's index, not a constant, says what its real class is called (FF++: youtube)."""
  return sorted({s["method"] for s in read_index(root, dataset)["shards"]
                 if s["label"] == REAL_LABEL})


def select_shards(root, dataset, methods=None, qualities=None, split="train"):
  """Index entries of the shards of `split` with a method and quality in the lists.

  None selects every method / quality the index has for that split. An unknown split,
  method or quality raises ValueError listing what the index has; a selected shard
  whose file is missing raises FileNotFoundError naming it (a reader would otherwise
  wait for it).
  """
  shards = read_index(root, dataset)["shards"]
  requested = {"split": [split], "method": methods, "quality": qualities}
  for key, wanted in requested.items():
    if isinstance(wanted, str):
      raise ValueError(f"{key}s must be a list of strings, got the string {wanted!r}")
    have = sorted({s[key] for s in shards})
    unknown = sorted(set(wanted or ()) - set(have))
    if unknown:
      raise ValueError(f"{key} {unknown} not in dataset {dataset!r} at {root}; "
                       f"its index has {key}s {have}")
  selected = [s for s in shards if all(wanted is None or s[key] in wanted
                                       for key, wanted in requested.items())]
  folder = os.path.join(root, dataset)
  missing = [s["path"] for s in selected if not os.path.isfile(os.path.join(folder, s["path"]))]
  if missing:
    raise FileNotFoundError(
        f"TFRecord shard {os.path.join(folder, missing[0])} is listed in "
        f"{os.path.join(folder, INDEX_FILE)} but does not exist"
        + (f" ({len(missing) - 1} more missing)" if len(missing) > 1 else "")
        + "; restore it or rewrite the dataset (dfadv-preprocess resumes and rewrites it)")
  return selected


class SkipCounter:
  """Counts the records that `load_split(on_error="skip")` dropped (a tf.Variable)."""

  def __init__(self):
    self.variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_records")

  def count(self):
    return int(self.variable.numpy())


# The first bytes of the encodings that `tf.io.decode_image` reads.
_IMAGE_SIGNATURES = ((0, b"\x89PNG\r\n\x1a\n"), (0, b"\xff\xd8\xff"), (0, b"GIF87a"),
                     (0, b"GIF89a"), (0, b"BM"), (8, b"WEBP"))


def _glob_escaped(path):
  return tf.strings.regex_replace(path, r"([*?\[\]\\])", r"\\\1")


def _open_shard(path):
  """`TFRecordDataset(path)`, after an assertion that the file exists: a shard removed
  while a run reads its dataset is an error naming it (TFRecordDataset's NotFound would
  be retried forever under `ignore_errors`)."""
  exists = tf.size(tf.io.matching_files(_glob_escaped(path))) > 0
  found = tf.debugging.Assert(exists, [tf.strings.join([
      "TFRecord shard ", path, " is listed in its dataset index but does not exist"])])
  with tf.control_dependencies([found]):
    return tf.data.TFRecordDataset(tf.identity(path))


def _is_image(encoded):
  """Whether each of `encoded` (a string vector) starts like a PNG, JPEG, GIF, BMP or
  WebP file."""
  return tf.reduce_any(tf.stack([
      tf.equal(tf.strings.substr(encoded, offset, len(magic)), magic)
      for offset, magic in _IMAGE_SIGNATURES]), axis=0)


_CHECK_BATCH = 64  # records checked together (vectorised parse and checks)


def _checked_records(records, path, label, on_error, skip_counter):
  """`records` (serialized, in shard order) checked: a record whose label is not the
  shard's `label` (from the index) raises InvalidArgumentError naming the shard, the
  record number, its video and frame; a record whose image bytes are no image raises
  the same way (on_error="raise") or is dropped and counted (on_error="skip")."""
  schema = {key: FEATURES[key] for key in ("image", "label", "video_id", "frame_index")}

  def where(features, numbers, first):
    return ["TFRecord shard ", path, " record ", tf.strings.as_string(numbers[first]),
            " (video ", features["video_id"][first], " frame ",
            tf.strings.as_string(features["frame_index"][first]), "): "]

  def check(index, batch):
    features = tf.io.parse_example(batch, schema)
    numbers = index * _CHECK_BATCH + tf.range(tf.size(batch, out_type=tf.int64))
    labelled = tf.equal(features["label"], label)
    first = tf.argmin(tf.cast(labelled, tf.int32))
    labels_ok = tf.debugging.Assert(tf.reduce_all(labelled), [tf.strings.join([
        *where(features, numbers, first), "label ",
        tf.strings.as_string(features["label"][first]), " but the index lists the shard "
        "with label ", tf.strings.as_string(label), " (0 real, 1 fake)"])])
    images = _is_image(features["image"])
    first = tf.argmin(tf.cast(images, tf.int32))
    message = tf.strings.join([*where(features, numbers, first),
                               "its image bytes are no PNG/JPEG/GIF/BMP/WebP image"])
    if on_error == "raise":
      images_ok = tf.debugging.Assert(tf.reduce_all(images), [message])
    else:
      def warn():
        tf.print("WARNING:", message, "and", tf.reduce_sum(1 - tf.cast(images, tf.int64)) - 1,
                 "more in this block (skipped)")
        return skip_counter.variable.assign_add(
            tf.reduce_sum(1 - tf.cast(images, tf.int64)))
      images_ok = tf.cond(tf.reduce_all(images), skip_counter.variable.read_value, warn)
    with tf.control_dependencies([labels_ok, images_ok]):
      return tf.boolean_mask(batch, images)

  return records.batch(_CHECK_BATCH).enumerate().map(check).unbatch()


def _records_of_shard(path, expected, label, on_error, skip_counter):
  """Serialized records of one shard, checked against the index's record count and
  label (`_checked_records`).

  A missing shard raises InvalidArgumentError naming it (`_open_shard`). A corrupted or
  truncated shard raises InvalidArgumentError naming the file (on_error="raise"), or
  loses the unreadable records, which are added to `skip_counter` with a warning naming
  the file (on_error="skip").
  """
  records = _open_shard(path).ignore_errors()
  records = records.map(lambda r: (r, True)).concatenate(
      tf.data.Dataset.from_tensors((tf.constant(b""), False)))

  def count(read, element):
    record, is_record = element
    read = read + tf.cast(is_record, tf.int64)
    return read, (record, is_record, read)

  def check(record, is_record, read):
    missing = tf.where(is_record, tf.constant(0, tf.int64), expected - read)
    message = tf.strings.join([
        "corrupted TFRecord shard ", path, ": read ", tf.strings.as_string(read), " of ",
        tf.strings.as_string(expected), " records listed in its index"])
    if on_error == "raise":
      done = tf.debugging.Assert(tf.equal(missing, 0), [message])
    else:
      def warn():
        tf.print("WARNING:", message, "(skipped)")
        return skip_counter.variable.assign_add(missing)
      done = tf.cond(missing > 0, warn, skip_counter.variable.read_value)
    with tf.control_dependencies([done]):
      return tf.identity(record), is_record

  records = records.scan(tf.constant(0, tf.int64), count).map(check)
  records = records.filter(lambda record, is_record: is_record).map(lambda r, _: r)
  return _checked_records(records, path, label, on_error, skip_counter)


_VIDEO_ID = {"video_id": FEATURES["video_id"]}


def _draw_frames(records, frames_per_video, seed):
  """`frames_per_video` random records of every video of one shard's `records` (all of
  a video with fewer), drawn with a reservoir over each video's consecutive records
  (a shard holds a video's frames together: `ShardedWriter`'s users write them so).
  `seed`: int64 scalar of this draw; memory: `frames_per_video` records."""
  k = frames_per_video
  ids = records.map(lambda r: (r, tf.io.parse_single_example(r, _VIDEO_ID)["video_id"],
                               False))
  ids = ids.concatenate(tf.data.Dataset.from_tensors((tf.constant(b""), tf.constant(""),
                                                      True)))  # flushes the last video
  slots = tf.range(k, dtype=tf.int64)

  def step(state, element):
    current, reservoir, count, position = state
    record, video, is_end = element
    new = tf.logical_or(tf.not_equal(video, current), is_end)
    emitted = (reservoir, tf.logical_and(new, slots < tf.minimum(count, k)))
    count = tf.where(new, tf.constant(1, tf.int64), count + 1)
    draw = tf.random.stateless_uniform([], tf.stack([seed, position]), 0, 2**62,
                                       dtype=tf.int64) % count
    slot = tf.where(count <= k, count - 1, draw)  # reservoir sampling: keep w.p. k/count
    base = tf.where(new, tf.fill([k], ""), reservoir)
    reservoir = tf.where(tf.equal(slots, slot), record, base)
    return (video, reservoir, count, position + 1), emitted

  start = (tf.constant(""), tf.fill([k], ""), tf.constant(0, tf.int64),
           tf.constant(0, tf.int64))
  drawn = ids.scan(start, step).unbatch()
  return drawn.filter(lambda record, keep: keep).map(lambda record, keep: record)


def _decode_mask(features, image_size):
  """The record's mask (image_size, image_size, 1) float32 in [0, 1]: decoded and resized
  when present, zeros for a real record without one, -1 everywhere for a fake record
  without one (unknown region: map losses skip such rows)."""
  def decoded():
    mask = tf.io.decode_png(features["mask"], channels=1)
    return tf.image.resize(tf.cast(mask, tf.float32) / 255.0, (image_size, image_size))
  def absent():
    fill = tf.where(tf.equal(features["label"], FAKE_LABEL), -1.0, 0.0)
    return tf.fill((image_size, image_size, 1), fill)
  mask = tf.cond(tf.strings.length(features["mask"]) > 0, decoded, absent)
  mask.set_shape((image_size, image_size, 1))
  return mask


def _decode(features, image_size, with_mask=False):
  """Decodes, resizes (bilinear, antialiased) and scales one record's image to [-1, 1]
  (and its mask, `_decode_mask`, with `with_mask`)."""
  out = {"image": image_lib.decode(features["image"], image_size),
         "label": tf.cast(features["label"], tf.int32),
         "video_id": features["video_id"], "dataset": features["dataset"],
         "method": features["method"], "quality": features["quality"],
         "frame_index": features["frame_index"]}
  if with_mask:
    out["mask"] = _decode_mask(features, image_size)
  return out


BALANCES = (None, "oversample", "halves")


def _check_balance(balance, batch_size):
  if balance not in BALANCES:
    raise ValueError(f"balance must be one of {BALANCES}, got {balance!r}")
  if balance == "halves" and batch_size % 2:
    raise ValueError(f"balance='halves' needs an even batch_size (B/2 real and B/2 fake "
                     f"rows), got batch_size={batch_size}")


def _balanced(streams, balance, seed):
  """One stream from the endless [real, fake] streams: drawn 50/50 at random
  ("oversample") or taken in turn, real, fake, real, ... ("halves")."""
  if balance == "oversample":
    return tf.data.Dataset.sample_from_datasets(streams, [0.5, 0.5], seed=seed)
  turns = tf.data.Dataset.range(2).repeat()
  return tf.data.Dataset.choose_from_datasets(streams, turns)


def load_split(root, dataset, methods=None, qualities=None, split="train", image_size=256,
               batch_size=32, shuffle=True, balance=None, augment=None, seed=None,
               repeat=False, with_metadata=False, drop_remainder=False, on_error="raise",
               shuffle_buffer=1024, skip_counter=None, with_mask=False,
               frames_per_video=None):
  """Streams one split of a dataset written by `ShardedWriter` as a `tf.data.Dataset`.

  Shards are interleaved (8 open at a time) and records shuffled in a bounded buffer, so
  memory stays flat whatever the number of shards.

  Args:
    root, dataset: the dataset folder is `<root>/<dataset>` (with its `index.json`).
    methods, qualities: lists of names to keep (None: all the index has for the split);
      an unknown name raises ValueError listing the index's names.
    split: "train", "val" or "test".
    image_size: output side in pixels (bilinear, antialiased resize).
    batch_size: images per batch.
    shuffle: shuffle shard order and records (buffer of `shuffle_buffer` records).
    balance: None (the records as they are), "oversample" (real and fake drawn 50/50
      with `tf.data.Dataset.sample_from_datasets`, the minority class repeated; one
      pass then has 2 x (majority count) records) or "halves" (the same records, but
      exactly B/2 real and B/2 fake in every batch, alternating real, fake, real, ...,
      the reference's sampling: every even-sized contiguous slice of a batch, e.g. each
      replica's share under `tf.distribute`, is half real; `batch_size` must be even).
    augment: optional callable `images -> images` on a float32 batch (B, H, W, 3) in
      [-1, 1] (traced into the pipeline: use TF ops; it must keep the shape and range).
    seed: int for a deterministic pipeline (same batches for the same seed), or None.
    repeat: repeat forever.
    with_metadata: yield dicts {"image", "label", "video_id", "dataset", "method",
      "quality", "frame_index"} (for video-level evaluation) instead of (images, labels).
    drop_remainder: drop the last incomplete batch.
    on_error: "raise" (a corrupted shard, or a record whose bytes are no image, raises
      InvalidArgumentError naming the file, the record, its video and frame) or "skip"
      (such records are dropped, counted in `skip_counter`, and a warning names them).
      A missing shard (FileNotFoundError, up front) and a record whose label is not its
      shard's (InvalidArgumentError) are errors either way.
    shuffle_buffer: records held by the shuffle buffer.
    skip_counter: optional `SkipCounter` that on_error="skip" adds the dropped records to.
    with_mask: yield dicts {"image", "label", "mask"} (+ the metadata with
      `with_metadata`), masks (B, image_size, image_size, 1) float32 in [0, 1]: the
      record's mask, zeros for real records without one, -1 for fake records without
      one (for map supervision, `AttentionXception`).
    frames_per_video: which records a stream draws. None: every record of its shards
      in each pass. An int k >= 1: each pass draws k random frames of every video (all
      of a video with fewer), a new draw every pass, so every video counts the same
      whatever its number of frames and a stream that `repeat` or `balance` runs again
      draws other frames; k = 1 is the reference's draw, a random frame of a video per
      sample (its minority class repeated by `balance="oversample"`). A pass still reads
      every record (TFRecords are sequential) to decode k per video. Needs each video's
      records consecutive in its shard.
  Returns:
    A dataset of (images float32 (B, image_size, image_size, 3) in [-1, 1], labels
    int32 (B,)), or of dicts with `with_metadata` / `with_mask`.
  """
  _check_balance(balance, batch_size)
  if on_error not in ("raise", "skip"):
    raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
  if augment is not None and not callable(augment):
    raise ValueError(f"augment must be a callable images -> images, got {augment!r}")
  image_size = checks.integer(image_size, "image_size")
  batch_size = checks.integer(batch_size, "batch_size")
  shuffle_buffer = checks.integer(shuffle_buffer, "shuffle_buffer")
  shards = select_shards(root, dataset, methods, qualities, split)
  if not shards:
    raise ValueError(f"dataset {dataset!r} at {root} has no shards for split={split!r}, "
                     f"methods={methods}, qualities={qualities}")
  if on_error == "skip" and skip_counter is None:
    skip_counter = SkipCounter()
  if frames_per_video is not None:
    frames_per_video = checks.integer(frames_per_video, "frames_per_video")
  folder = os.path.join(root, dataset)

  def stream(group, stream_seed):
    paths = [os.path.join(folder, s["path"]) for s in group]
    files = tf.data.Dataset.from_tensor_slices(
        (paths, np.array([s["records"] for s in group], np.int64),
         np.array([s["label"] for s in group], np.int64)))
    if frames_per_video is not None:  # one seed per shard and pass
      draws = tf.data.Dataset.random(seed=stream_seed, rerandomize_each_iteration=True)
      files = tf.data.Dataset.zip(files, draws).map(lambda f, draw: (*f, draw))
    if shuffle:
      files = files.shuffle(len(paths), seed=stream_seed)

    def shard_records(path, n, label, draw=None):
      shard = _records_of_shard(path, n, label, on_error, skip_counter)
      return shard if draw is None else _draw_frames(shard, frames_per_video, draw)

    # Drawing per video, a shard gives a video's k frames in a row: more shards open
    # (each holds k records) mix more videos into the shuffle buffer.
    records = files.interleave(
        shard_records, cycle_length=min(len(paths), 8 if frames_per_video is None else 64),
        block_length=1, deterministic=True, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
      records = records.shuffle(shuffle_buffer, seed=stream_seed)
    return records

  if balance is not None:
    by_label = {label: [s for s in shards if s["label"] == label]
                for label in (REAL_LABEL, FAKE_LABEL)}
    missing = [name for label, name in ((REAL_LABEL, "real"), (FAKE_LABEL, "fake"))
               if not by_label[label]]
    if missing:
      raise ValueError(f"balance={balance!r} needs real and fake records; split "
                       f"{split!r} of {dataset!r} with methods={methods} has no {missing}")
    streams = [stream(by_label[label], None if seed is None else seed + label).repeat()
               for label in (REAL_LABEL, FAKE_LABEL)]
    records = _balanced(streams, balance, seed)
    if not repeat:
      records = records.take(2 * max(sum(_pass_size(s, frames_per_video) for s in group)
                                      for group in by_label.values()))
  else:
    records = stream(shards, seed)
    if repeat:
      records = records.repeat()

  elements = records.map(lambda r: _decode(parse_example(r), image_size, with_mask),
                         num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  elements = elements.batch(batch_size, drop_remainder=drop_remainder)
  if augment is not None:
    elements = elements.map(lambda e: dict(e, image=augment(e["image"])),
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if with_mask and not with_metadata:
    elements = elements.map(lambda e: {k: e[k] for k in ("image", "label", "mask")})
  elif not with_metadata:
    elements = elements.map(lambda e: (e["image"], e["label"]))
  return elements.prefetch(tf.data.AUTOTUNE)


def _pass_size(shard, frames_per_video=None):
  """Records that one pass over `shard` yields: all, or k per video (at most)."""
  if frames_per_video is None:
    return shard["records"]
  return min(shard["records"], frames_per_video * shard["videos"])


def pass_size(shards, frames_per_video=None):
  """Records that one pass over the index entries `shards` yields in `load_split`
  (`frames_per_video` as there; an upper bound when some videos have fewer frames)."""
  return sum(_pass_size(s, frames_per_video) for s in shards)


def _segment_indices(count, segments, random):
  """TSN sampling (Wang et al. 2016, Sec. 3.1): `count` frames cut into `segments`
  equal segments, one index per segment, a random one (`random`) or the middle one."""
  offsets = tf.random.uniform([segments]) if random else tf.fill([segments], 0.5)
  length = tf.cast(count, tf.float32) / segments
  starts = tf.range(segments, dtype=tf.float32) * length
  return tf.minimum(tf.cast(starts + offsets * length, tf.int32), count - 1)


def load_clips(root, dataset, methods=None, qualities=None, split="train", image_size=256,
               batch_size=8, segments=3, shuffle=True, balance=None, seed=None,
               repeat=False, with_metadata=False, drop_remainder=False, max_frames=1024):
  """Streams one split as clips: one example per video, `segments` frames per clip.

  The clip mode of `load_split` for `TSNDetector`: the frames of each video (frames
  sorted by `frame_index`) are cut into `segments` equal segments and one frame is taken
  per segment, a random one when `shuffle` (TSN training) and the middle one otherwise
  (evaluation: one deterministic clip per video, i.e. video-level scores). A video with
  fewer frames than segments repeats frames. Shards are read one after another per
  stream; a shard's videos are held (as encoded bytes) until the shard ends, so memory
  grows with the largest shard. Args as `load_split`, plus `segments` (K >= 1) and
  `max_frames` (frames kept per video, the first ones by reading order).

  Returns:
    A dataset of (clips float32 (B, K, image_size, image_size, 3) in [-1, 1], labels
    int32 (B,)), or with `with_metadata` dicts {"image", "label", "video_id", "dataset",
    "method", "quality"}.
  """
  segments = checks.integer(segments, "segments")
  image_size = checks.integer(image_size, "image_size")
  batch_size = checks.integer(batch_size, "batch_size")
  max_frames = checks.integer(max_frames, "max_frames")
  _check_balance(balance, batch_size)
  shards = select_shards(root, dataset, methods, qualities, split)
  if not shards:
    raise ValueError(f"dataset {dataset!r} at {root} has no shards for split={split!r}, "
                     f"methods={methods}, qualities={qualities}")
  folder = os.path.join(root, dataset)

  def videos_of_shard(path, label):
    def keyed(record):
      features = parse_example(record)
      return tf.strings.to_hash_bucket_fast(features["video_id"], 2**62), record
    records = _checked_records(_open_shard(path), path, label, "raise", None)
    return (records.map(keyed).group_by_window(
        key_func=lambda key, record: key,
        reduce_func=lambda key, window: window.map(lambda k, r: r).batch(max_frames),
        window_size=max_frames))

  def clip(records):
    features = tf.io.parse_example(records, FEATURES)
    order = tf.argsort(features["frame_index"])
    picked = tf.gather(records, tf.gather(order, _segment_indices(
        tf.size(records), segments, random=shuffle)))
    frames = tf.map_fn(lambda r: _decode(parse_example(r), image_size)["image"], picked,
                       fn_output_signature=tf.TensorSpec((image_size, image_size, 3)))
    return {"image": frames, "label": tf.cast(features["label"][0], tf.int32),
            "video_id": features["video_id"][0], "dataset": features["dataset"][0],
            "method": features["method"][0], "quality": features["quality"][0]}

  def stream(group, stream_seed):
    paths = tf.data.Dataset.from_tensor_slices(
        ([os.path.join(folder, s["path"]) for s in group],
         np.array([s["label"] for s in group], np.int64)))
    if shuffle:
      paths = paths.shuffle(len(group), seed=stream_seed)
    videos = paths.flat_map(videos_of_shard)
    if shuffle:
      videos = videos.shuffle(256, seed=stream_seed)
    return videos

  if balance is not None:
    groups = [[s for s in shards if s["label"] == label] for label in (REAL_LABEL,
                                                                       FAKE_LABEL)]
    if not all(groups):
      raise ValueError(f"balance={balance!r} needs real and fake videos; split {split!r} "
                       f"of {dataset!r} with methods={methods} lacks one class")
    streams = [stream(group, None if seed is None else seed + label).repeat()
               for label, group in enumerate(groups)]
    videos = _balanced(streams, balance, seed)
    if not repeat:
      videos = videos.take(2 * max(sum(s.get("videos", 0) for s in g) for g in groups))
  else:
    videos = stream(shards, seed)
    if repeat:
      videos = videos.repeat()
  clips = videos.map(clip, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  clips = clips.batch(batch_size, drop_remainder=drop_remainder)
  if not with_metadata:
    clips = clips.map(lambda e: (e["image"], e["label"]))
  return clips.prefetch(tf.data.AUTOTUNE)
