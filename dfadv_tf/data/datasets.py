"""Video indexes of FaceForensics++, DFD and Celeb-DF v2, and their preprocessing.

`ffpp_videos`, `dfd_videos` and `celebdf_videos` list the videos of a downloaded dataset
with their method, quality, split and label; `preprocess` turns such a list into face
crops in TFRecord shards (`records.ShardedWriter`), in parallel over videos, resumable
(complete shards are skipped), with a progress bar and a `Summary`.

Layouts (as the datasets' download scripts write them):
- FF++: `original_sequences/youtube/<q>/videos/071.mp4`,
  `manipulated_sequences/<Method>/<q>/videos/071_054.mp4`, q in raw / c23 / c40; the
  official split (package data `ffpp_splits/*.json`) lists pairs [target, source].
- DFD (hosted with FF++): `original_sequences/actors/<q>/videos`,
  `manipulated_sequences/DeepFakeDetection/<q>/videos`; a test set only.
- Celeb-DF v2: `Celeb-real/`, `YouTube-real/`, `Celeb-synthesis/`,
  `List_of_testing_videos.txt` (lines `<1 real | 0 fake> <folder>/<file>.mp4`): the listed
  videos are the test split, the others train. One quality, named "original".
"""

import collections
import dataclasses
import functools
import json
import multiprocessing
import os

from dfadv_tf.data import faces
from dfadv_tf.data import records

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
FFPP_QUALITIES = ("raw", "c23", "c40")
FFPP_REAL = "youtube"
DFD_REAL, DFD_FAKE = "actors", "DeepFakeDetection"
CELEBDF_REAL, CELEBDF_FAKE = ("Celeb-real", "YouTube-real"), "Celeb-synthesis"
CELEBDF_QUALITY = "original"
_SPLITS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ffpp_splits")
_VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")


@dataclasses.dataclass(frozen=True)
class Video:
  """One video to preprocess; `sampling` holds `faces.extract_faces` frame arguments."""
  path: str
  method: str
  quality: str
  split: str
  label: int
  video_id: str
  sampling: tuple = ()


@dataclasses.dataclass(frozen=True)
class Sampling:
  """Frames per video: `frames` evenly spaced for train/val; for test, every
  `test_every`-th frame, at most `test_frames` (the reference: 100, every 3rd)."""
  frames: int = 32
  test_frames: int = 100
  test_every: int = 3

  def for_split(self, split):
    if split == "test":
      return (("num", self.test_frames), ("every", self.test_every))
    return (("num", self.frames),)


def ffpp_splits():
  """{split: set of original video ids} and {split: set of 'target_source' ids}."""
  originals, fakes = {}, {}
  for split in records.SPLITS:
    with open(os.path.join(_SPLITS_DIR, f"{split}.json"), encoding="utf-8") as f:
      pairs = json.load(f)
    originals[split] = {v for pair in pairs for v in pair}
    fakes[split] = {f"{a}_{b}" for a, b in pairs} | {f"{b}_{a}" for a, b in pairs}
  return originals, fakes


def _list_videos(folder):
  if not os.path.isdir(folder):
    return []
  return sorted(name for name in os.listdir(folder)
                if name.lower().endswith(_VIDEO_EXTENSIONS))


def _layout_videos(root, top, method, quality, layout):
  """(folder, video names) of `<root>/<top>/<method>/<quality>/videos`; a ValueError
  naming the folder and the expected `layout` if it holds no video."""
  folder = os.path.join(root, top, method, quality, "videos")
  names = _list_videos(folder)
  if not names:
    raise ValueError(f"no videos in {folder}: expected the {layout} layout "
                     f"{top}/{method}/{quality}/videos/*.mp4 under {root}")
  return folder, names


def ffpp_videos(root, qualities=("c23",), methods=None, sampling=Sampling()):
  """Videos of an FF++ download at `root` in the official split.

  methods: fake methods to include (None: every one of `FFPP_METHODS` present); the
  real videos (`youtube`) are always included. Raises ValueError naming the folder when
  a requested quality or method is missing.
  """
  originals, fakes = ffpp_splits()
  split_of = {v: s for s, ids in originals.items() for v in ids}
  split_of.update({v: s for s, ids in fakes.items() for v in ids})
  if methods is None:
    methods = [m for m in FFPP_METHODS
               if os.path.isdir(os.path.join(root, "manipulated_sequences", m))]
  folders = [(FFPP_REAL, records.REAL_LABEL, "original_sequences")] + [
      (m, records.FAKE_LABEL, "manipulated_sequences") for m in methods]
  videos = []
  for quality in qualities:
    for method, label, top in folders:
      folder, names = _layout_videos(root, top, method, quality, "FF++")
      for name in names:
        video_id = os.path.splitext(name)[0]
        split = split_of.get(video_id)
        if split is not None:
          videos.append(Video(os.path.join(folder, name), method, quality, split, label,
                              video_id, sampling.for_split(split)))
  return videos


def dfd_videos(root, qualities=("c23",), frames=10, seed=0):
  """Videos of DFD (FF++ hosting layout), all in the test split, `frames` random frames
  each, drawn with a seed derived from `seed` and the video name."""
  videos = []
  for quality in qualities:
    for method, label, top in ((DFD_REAL, records.REAL_LABEL, "original_sequences"),
                               (DFD_FAKE, records.FAKE_LABEL, "manipulated_sequences")):
      folder, names = _layout_videos(root, top, method, quality, "DFD")
      for name in names:
        video_id = os.path.splitext(name)[0]
        draw = seed * 1_000_003 + sum(ord(c) * 31**i for i, c in enumerate(name)) % 2**31
        videos.append(Video(os.path.join(folder, name), method, quality, "test", label,
                            video_id, (("random", frames), ("seed", draw))))
  return videos


def celebdf_videos(root, sampling=Sampling()):
  """Videos of Celeb-DF v2: `List_of_testing_videos.txt` is the test split, the rest
  train."""
  listing = os.path.join(root, "List_of_testing_videos.txt")
  if not os.path.exists(listing):
    raise ValueError(f"no {listing}: expected the Celeb-DF v2 layout under {root}")
  with open(listing, encoding="utf-8") as f:
    test = {line.split()[1] for line in f if line.strip()}
  videos = []
  for method in CELEBDF_REAL + (CELEBDF_FAKE,):
    label = records.FAKE_LABEL if method == CELEBDF_FAKE else records.REAL_LABEL
    for name in _list_videos(os.path.join(root, method)):
      split = "test" if f"{method}/{name}" in test else "train"
      videos.append(Video(os.path.join(root, method, name), method, CELEBDF_QUALITY, split,
                          label, os.path.splitext(name)[0], sampling.for_split(split)))
  if not videos:
    raise ValueError(f"no videos in {root}/{{{', '.join(CELEBDF_REAL + (CELEBDF_FAKE,))}}}")
  return videos


def plan_shards(videos, videos_per_shard=32):
  """Groups videos into shards: [((split, method, quality, name), [Video])], each shard
  one (split, method, quality), videos in sorted order (stable names for resuming)."""
  groups = collections.defaultdict(list)
  for video in sorted(videos, key=lambda v: v.path):
    groups[(video.split, video.method, video.quality)].append(video)
  return [((*key, f"{i // videos_per_shard:05d}"), group[i:i + videos_per_shard])
          for key, group in sorted(groups.items())
          for i in range(0, len(group), videos_per_shard)]


@dataclasses.dataclass
class Summary:
  """Totals of a preprocessing run; failures: [(video path, reason)]."""
  videos_done: int = 0
  videos_resumed: int = 0
  frames_written: int = 0
  faces_missed: int = 0
  shards_written: int = 0
  failures: list = dataclasses.field(default_factory=list)

  def __str__(self):
    lines = [f"videos done: {self.videos_done} (+{self.videos_resumed} in shards already "
             f"complete), shards written: {self.shards_written}, frames written: "
             f"{self.frames_written}, faces missed: {self.faces_missed}, failures: "
             f"{len(self.failures)}"]
    lines += [f"  {path}: {reason}" for path, reason in self.failures]
    return "\n".join(lines)


_DETECTOR = {}


def _extract(video, dataset, detector, margin, size, image_format):
  """Worker: face crops of one video as examples. Returns (examples, FaceCrops)."""
  if detector not in _DETECTOR:
    _DETECTOR[detector] = faces.make_detector(detector)
  result = faces.extract_faces(video.path, _DETECTOR[detector], margin=margin, size=size,
                               **dict(video.sampling))
  examples = [records.make_example(crop, label=video.label, dataset=dataset,
                                   method=video.method, quality=video.quality,
                                   split=video.split, video_id=video.video_id,
                                   frame_index=index, image_format=image_format)
              for index, crop, _ in result.crops]
  result.crops = []
  return examples, result


def preprocess(videos, root, dataset, detector="mtcnn", workers=1, margin=1.3, size=256,
               image_format="png", videos_per_shard=32, progress=True):
  """Face crops of `videos` -> TFRecord shards of `<root>/<dataset>`; returns a Summary.

  Parallel over videos with `workers` processes (spawned; each builds its own
  detector); shards already complete in the index are skipped. An unreadable video is
  a failure in the summary, not an error. A shard whose videos gave no face at all is
  not written (a resumed run retries it).
  """
  writer = records.ShardedWriter(root, dataset)
  summary, jobs = Summary(), []
  for key, group in plan_shards(videos, videos_per_shard):
    if writer.is_complete(*key):
      summary.videos_resumed += len(group)
    else:
      jobs += [(key, video, len(group)) for video in group]
  work = functools.partial(_extract, dataset=dataset, detector=detector, margin=margin,
                           size=size, image_format=image_format)
  bar = None
  if progress and jobs:
    from keras.utils import Progbar  # pylint: disable=g-import-not-at-top
    bar = Progbar(len(jobs), unit_name="video")
  pool = (multiprocessing.get_context("spawn").Pool(workers) if workers > 1 and jobs
          else None)
  try:
    results = (pool.imap(work, [video for _, video, _ in jobs]) if pool
               else map(work, [video for _, video, _ in jobs]))
    pending = collections.defaultdict(list)
    for (key, video, group_size), (examples, result) in zip(jobs, results):
      pending[key].append(examples)
      summary.faces_missed += result.faces_missed
      if result.error:
        summary.failures.append((video.path, result.error))
      else:
        summary.videos_done += 1
      if len(pending[key]) == group_size:
        shard = [e for video_examples in pending.pop(key) for e in video_examples]
        if shard:
          writer.write(*key, shard)
          summary.shards_written += 1
          summary.frames_written += len(shard)
      if bar:
        bar.add(1)
  finally:
    if pool:
      pool.close()
      pool.join()
  return summary
