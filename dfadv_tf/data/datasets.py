"""Video indexes of the field's datasets and of your own folders, and their preprocessing.

Each `<layout>_videos(root, ...)` lists the videos (or folders of frames, or images) of
a download as `Video`s with their method, quality, split and label; `preprocess` turns
such a list into face crops in TFRecord shards (`records.ShardedWriter`), in parallel
over videos, resumable (complete shards are skipped), with a progress line
(`dfadv_tf.progress`: one per 5% in a log file) and a `Summary`. `dfadv_tf.data.layouts`
registers each layout (how a download is organised, e.g. ffpp, folder) with its function
here and describes it.

Where a dataset has no official split (or no val split) one is drawn here by
`group_split`: seeded, by group (an identity, a video's source, a file stem), so that
the frames of one video, and the videos of one group, never straddle two splits.
"""

import collections
import csv
import dataclasses
import functools
import json
import multiprocessing
import os
import re

from absl import logging
import numpy as np

from dfadv_tf.data import codecs
from dfadv_tf.data import faces
from dfadv_tf.data import provenance
from dfadv_tf.data import records
from dfadv_tf import startup
from dfadv_tf.progress import Progress

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
FFPP_REAL = "youtube"
DFD_REAL, DFD_FAKE = "actors", "DeepFakeDetection"
CELEBDF_REAL, CELEBDF_FAKE = ("Celeb-real", "YouTube-real"), "Celeb-synthesis"
CELEBDF_LIST = "List_of_testing_videos.txt"
ORIGINAL = "original"  # the quality name of datasets shipped at one quality
REAL, FAKE = "real", "fake"  # method names where a dataset names no method
DFDCP_METHODS = {"original_videos": records.REAL_LABEL, "method_A": records.FAKE_LABEL,
                 "method_B": records.FAKE_LABEL}
DEEPERFORENSICS_FAKE = "DF-VAE"
DEEPERFORENSICS_QUALITY = "end_to_end"
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)
_SPLITS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ffpp_splits")


@dataclasses.dataclass(frozen=True)
class Video:
  """One input to preprocess: a video file, a folder of frames or an image.

  sampling: `faces.extract_faces` frame arguments; mask_path: a mask video of the same
  frames (FF++); source / crf: `path` is made from the video `source` by re-encoding it
  with H.264 at `crf` (`--recompress`) when it does not exist yet.
  """
  path: str
  method: str
  quality: str
  split: str
  label: int
  video_id: str
  sampling: tuple = ()
  mask_path: str = None
  source: str = None
  crf: int = None


@dataclasses.dataclass(frozen=True)
class Sampling:
  """Frames per video: `frames` evenly spaced for train/val; for test, `test_frames`
  at one stride spanning the whole video (the reference's test lists: 100 per video,
  `faces.sample_frame_indices(span=...)`), or with `test_every` > 0 every
  `test_every`-th frame from the first, at most `test_frames` (the draw before, which
  covers only the first ~300 frames)."""
  frames: int = 32
  test_frames: int = 100
  test_every: int = 0

  def for_split(self, split):
    if split == "test":
      if self.test_every:
        return (("num", self.test_frames), ("every", self.test_every))
      return (("span", self.test_frames),)
    return (("num", self.frames),)


@dataclasses.dataclass(frozen=True)
class Splitting:
  """How splits are drawn where a dataset has none: train / val / test `fractions` of
  the groups, a `seed`; `group_pattern` (folder layout) is a regular expression whose
  first group (or whole match) in an item's name is its group id (default: the name)."""
  fractions: tuple = SPLIT_FRACTIONS
  seed: int = 0
  group_pattern: str = None

  def __post_init__(self):
    if (len(self.fractions) != 3 or any(f < 0 for f in self.fractions)
        or not np.isclose(sum(self.fractions), 1.0) or self.fractions[0] <= 0):
      raise ValueError(f"split fractions must be 3 numbers >= 0 (train > 0) summing to 1, "
                       f"got {self.fractions}")
    if self.group_pattern is not None:
      try:
        re.compile(self.group_pattern)
      except re.error as error:
        raise ValueError(f"group pattern {self.group_pattern!r} is not a regular "
                         f"expression: {error}") from error

  def group_of(self, name):
    """The group id of an item name (`group_pattern`'s match, or the name)."""
    if self.group_pattern is None:
      return name
    match = re.search(self.group_pattern, name)
    if match is None:
      return name
    return match.group(1) if match.groups() else match.group(0)


def group_split(groups, fractions=SPLIT_FRACTIONS, seed=0):
  """{group: split} for (group, stratum) pairs: the groups of each stratum (say the set
  of labels a group has) shuffled with `seed` and cut by `fractions` (train / val /
  test), so every split gets some of each stratum; val and test get at least one group
  of a stratum of 3 or more when their fraction is not 0. Independent of input order."""
  strata = collections.defaultdict(set)
  for group, stratum in groups:
    strata[stratum].add(group)
  out = {}
  for stratum in sorted(strata, key=repr):
    members = sorted(strata[stratum])
    order = np.random.default_rng([seed, len(members), *map(ord, repr(stratum)[:32])]
                                  ).permutation(len(members))
    n = len(members)
    counts = [int(round(f * n)) for f in fractions[1:]]
    counts = [max(c, 1) if f > 0 and n >= 3 else c for c, f in zip(counts, fractions[1:])]
    while sum(counts) >= n and sum(counts) > 0:  # train keeps at least one group
      counts[int(np.argmax(counts))] -= 1
    cuts = {"val": order[:counts[0]], "test": order[counts[0]:counts[0] + counts[1]]}
    for i in order:
      out[members[i]] = "train"
    for split, picked in cuts.items():
      for i in picked:
        out[members[i]] = split
  return out


def _resplit(videos, group_of, splits, fractions, seed):
  """`videos` whose split is in `splits` ("train" and the missing ones), drawn again by
  `group_split` over `group_of(video)` (strata: the labels of a group)."""
  labels = collections.defaultdict(set)
  for video in videos:
    if video.split in splits:
      labels[group_of(video)].add(video.label)
  wanted = [f if s in splits else 0.0 for s, f in zip(records.SPLITS, fractions)]
  total = sum(wanted)
  assigned = group_split(((g, tuple(sorted(l))) for g, l in labels.items()),
                         tuple(f / total for f in wanted), seed)
  return [v if v.split not in splits else dataclasses.replace(v, split=assigned[group_of(v)])
          for v in videos]


def _sampled(videos, sampling):
  return [dataclasses.replace(v, sampling=sampling.for_split(v.split)) for v in videos]


def _warn_empty_splits(videos, dataset, splits=records.SPLITS):
  for split in splits:
    labels = {v.label for v in videos if v.split == split}
    missing = [n for label, n in ((records.REAL_LABEL, "real"), (records.FAKE_LABEL, "fake"))
               if label not in labels]
    if missing:
      logging.warning("%s: the %s split has no %s videos: training needs both classes in "
                      "train and val, the test grids in test.", dataset, split,
                      " and ".join(missing))


# ---- FF++ and DFD ----------------------------------------------------------------------

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
  return sorted(name for name in os.listdir(folder) if faces.is_video(name))


def _layout_videos(root, top, method, quality, layout):
  """(folder, video names) of `<root>/<top>/<method>/<quality>/videos`; a ValueError
  naming the folder and the expected `layout` if it holds no video."""
  folder = os.path.join(root, top, method, quality, "videos")
  names = _list_videos(folder)
  if not names:
    raise ValueError(f"{layout}: no videos in {folder}: expected the {layout} layout "
                     f"{top}/{method}/{quality}/videos/*.mp4 under {root}")
  return folder, names


def ffpp_mask_folder(root, method):
  """`<root>/manipulated_sequences/<method>/masks/videos` (FF++'s manipulation masks)."""
  return os.path.join(root, "manipulated_sequences", method, "masks", "videos")


def ffpp_videos(root, qualities=("c23",), methods=None, sampling=Sampling(), masks=True):
  """Videos of an FF++ download at `root` in the official split.

  methods: fake methods to include (None: every one of `FFPP_METHODS` present); the
  real videos (`youtube`) are always included. masks: attach each fake's mask video
  (`ffpp_mask_folder`) where present; a method without masks is a warning (its fake
  records get none, so map supervision cannot use them). Raises ValueError naming the
  folder when a requested quality or method is missing.
  """
  originals, fakes = ffpp_splits()
  split_of = {v: s for s, ids in originals.items() for v in ids}
  split_of.update({v: s for s, ids in fakes.items() for v in ids})
  if methods is None:
    methods = [m for m in FFPP_METHODS
               if os.path.isdir(os.path.join(root, "manipulated_sequences", m))]
  folders = [(FFPP_REAL, records.REAL_LABEL, "original_sequences")] + [
      (m, records.FAKE_LABEL, "manipulated_sequences") for m in methods]
  mask_names = {}
  for method in methods if masks else ():
    mask_names[method] = set(_list_videos(ffpp_mask_folder(root, method)))
    if not mask_names[method]:
      logging.warning("FF++ %s: no masks in %s: its fake records get no mask (map "
                      "supervision, Table VI, cannot use them).", method,
                      ffpp_mask_folder(root, method))
  videos = []
  for quality in qualities:
    for method, label, top in folders:
      folder, names = _layout_videos(root, top, method, quality, "FF++")
      for name in names:
        video_id = os.path.splitext(name)[0]
        split = split_of.get(video_id)
        if split is None:
          continue
        mask = (os.path.join(ffpp_mask_folder(root, method), name)
                if name in mask_names.get(method, ()) else None)
        videos.append(Video(os.path.join(folder, name), method, quality, split, label,
                            video_id, sampling.for_split(split), mask_path=mask))
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


# ---- Celeb-DF --------------------------------------------------------------------------

def _find_child(folder, name):
  """The child of `folder` named `name` ignoring case, '-' / '_' and spaces, or None."""
  if not os.path.isdir(folder):
    return None
  key = re.sub(r"[-_ ]", "", name.lower())
  for child in sorted(os.listdir(folder)):
    if re.sub(r"[-_ ]", "", child.lower()) == key:
      return os.path.join(folder, child)
  return None


def _unwrap(root, marker):
  """`root`, or its only subfolder when `root` holds no `marker` folder but that one does
  (an archive extracted into a folder of its own)."""
  if _find_child(root, marker) is not None or not os.path.isdir(root):
    return root
  children = [os.path.join(root, c) for c in os.listdir(root)
              if os.path.isdir(os.path.join(root, c))]
  if len(children) == 1 and _find_child(children[0], marker) is not None:
    return children[0]
  return root


def _videos_in(folder):
  """(folder that holds them, names) of the videos in `folder` or in its `videos/`
  subfolder (the re-packaged layouts of DeepfakeBench and SBI)."""
  for candidate in (folder, os.path.join(folder, "videos")):
    names = _list_videos(candidate)
    if names:
      return candidate, names
  return folder, []


def celebdf_identity(name):
  """`id0` of Celeb-DF's `id0_0001` / `id0_id16_0001`; the stem of YouTube-real's."""
  stem = os.path.splitext(name)[0]
  return stem.split("_")[0] if stem.startswith("id") else stem


def celebdf_videos(root, sampling=Sampling(), splitting=Splitting(), version="v2"):
  """Videos of Celeb-DF (v1 and v2 have the same layout).

  `List_of_testing_videos.txt` is the test split; val is drawn from the other videos by
  identity (`group_split`, val's share of `splitting.fractions`), the rest is train.
  Tolerates the common re-packaged layouts: one extra top folder, `<folder>/videos/`,
  `Youtube-real` spelling. Without the list (a warning) test is drawn by identity too.
  """
  layout = f"Celeb-DF {version}"
  root = _unwrap(root, CELEBDF_FAKE)
  folders = {name: _find_child(root, name) for name in CELEBDF_REAL + (CELEBDF_FAKE,)}
  missing = [name for name, path in folders.items() if path is None]
  if missing:
    raise ValueError(f"{layout}: no {'/, '.join(missing)}/ in {root}: expected the "
                     f"{layout} layout Celeb-real/, YouTube-real/, Celeb-synthesis/ (*.mp4, "
                     f"or */videos/*.mp4) and {CELEBDF_LIST}")
  listing = _find_child(root, CELEBDF_LIST)
  test = None
  if listing is None:
    logging.warning("%s: no %s in %s: no official test split; the test split is drawn "
                    "by identity instead (results not comparable to the paper's).",
                    layout, CELEBDF_LIST, root)
  else:
    with open(listing, encoding="utf-8") as f:
      lines = [line.split() for line in f if line.strip()]
    bad = [" ".join(parts) for parts in lines if len(parts) != 2]
    if bad:
      raise ValueError(f"{layout}: {listing} line {bad[0]!r}: expected '<1 real | 0 fake> "
                       "<folder>/<file>.mp4'")
    test = {(re.sub(r"[-_ ]", "", p[1].split("/")[0].lower()), p[1].split("/")[-1])
            for p in lines}
  videos = []
  for method, path in folders.items():
    label = records.FAKE_LABEL if method == CELEBDF_FAKE else records.REAL_LABEL
    folder, names = _videos_in(path)
    key = re.sub(r"[-_ ]", "", method.lower())
    for name in names:
      split = "test" if test is not None and (key, name) in test else "train"
      videos.append(Video(os.path.join(folder, name), method, ORIGINAL, split, label,
                          f"{method}/{os.path.splitext(name)[0]}"))
  if not videos:
    raise ValueError(f"{layout}: no videos in {root}/{{{', '.join(folders)}}}")
  group = lambda v: celebdf_identity(os.path.basename(v.path))
  videos = _resplit(videos, group, ("train", "val") if test is not None else records.SPLITS,
                    splitting.fractions, splitting.seed)
  return _sampled(videos, sampling)


# ---- DFDC and DFDC-preview -------------------------------------------------------------

def _dfdc_parts(root):
  """Folders holding a metadata.json: `root` itself, its children, `train/*`."""
  candidates = [root] + [os.path.join(root, c) for c in sorted(os.listdir(root))]
  train = os.path.join(root, "train")
  if os.path.isdir(train):
    candidates += [os.path.join(train, c) for c in sorted(os.listdir(train))]
  return [c for c in candidates if os.path.isfile(os.path.join(c, "metadata.json"))
          and os.path.basename(c) != "test"]


def _dfdc_test(root):
  """{file name: label} and the folder of the labelled test set (`test/labels.csv` with
  columns filename,label (1 fake) or `test/metadata.json`), or (None, None)."""
  folder = _find_child(root, "test")
  if folder is None:
    return None, None
  labels_csv, metadata = os.path.join(folder, "labels.csv"), os.path.join(folder,
                                                                          "metadata.json")
  if os.path.isfile(labels_csv):
    with open(labels_csv, encoding="utf-8", newline="") as f:
      rows = list(csv.DictReader(f))
    if rows and not {"filename", "label"} <= set(rows[0]):
      raise ValueError(f"DFDC: {labels_csv} has columns {sorted(rows[0])}: expected "
                       "filename,label (label 1 fake, 0 real)")
    labels = {r["filename"]: int(float(r["label"])) for r in rows}
  elif os.path.isfile(metadata):
    with open(metadata, encoding="utf-8") as f:
      labels = {k: _dfdc_label(v, metadata, k) for k, v in json.load(f).items()}
  else:
    return None, None
  videos_folder, _ = _videos_in(folder)
  return labels, videos_folder


def _dfdc_label(entry, path, name):
  label = str(entry.get("label", "")).upper() if isinstance(entry, dict) else ""
  if label not in ("REAL", "FAKE"):
    raise ValueError(f"DFDC: {path} entry {name!r} has label {label!r}: expected REAL or "
                     "FAKE")
  return records.FAKE_LABEL if label == "FAKE" else records.REAL_LABEL


def dfdc_videos(root, sampling=Sampling(), splitting=Splitting()):
  """Videos of the DFDC (full, Kaggle layout): every `dfdc_train_part_<N>/metadata.json`
  (also under `train/`, or a single part given as `root`) labels its videos; the
  labelled public test set `test/labels.csv` (or `test/metadata.json`) is the test
  split. Val (and test, with a warning, when no test set is there) is drawn by group:
  a fake goes with its `original`. Methods `real` / `fake`, quality `original`."""
  if not os.path.isdir(root):
    raise ValueError(f"DFDC: {root} is not a folder: expected the DFDC layout "
                     "dfdc_train_part_<N>/{metadata.json,*.mp4} [test/labels.csv]")
  videos, origin = [], {}
  for part in _dfdc_parts(root):
    path = os.path.join(part, "metadata.json")
    with open(path, encoding="utf-8") as f:
      metadata = json.load(f)
    present = set(_list_videos(part))
    for name, entry in sorted(metadata.items()):
      if name not in present:
        continue
      label = _dfdc_label(entry, path, name)
      stem = os.path.splitext(name)[0]
      origin[stem] = os.path.splitext(entry.get("original") or name)[0]
      videos.append(Video(os.path.join(part, name), FAKE if label else REAL, ORIGINAL,
                          "train", label, stem))
  labels, test_folder = _dfdc_test(root)
  if labels is not None:
    present = set(_list_videos(test_folder))
    for name, label in sorted(labels.items()):
      if name in present:
        stem = os.path.splitext(name)[0]
        videos.append(Video(os.path.join(test_folder, name), FAKE if label else REAL,
                            ORIGINAL, "test", label, stem))
  if not any(v.split == "train" for v in videos):
    raise ValueError(f"DFDC: no labelled videos under {root}: expected the DFDC layout "
                     "dfdc_train_part_<N>/{metadata.json,*.mp4} (metadata.json "
                     "{\"<file>.mp4\": {\"label\": \"REAL\"|\"FAKE\", \"original\": ...}})")
  if labels is None:
    logging.warning("DFDC: no labelled test set (test/labels.csv or test/metadata.json) "
                    "in %s: the test split is drawn from the training parts instead "
                    "(results not comparable to the DFDC benchmark's).", root)
  splits = ("train", "val") if labels is not None else records.SPLITS
  videos = _resplit(videos, lambda v: origin.get(v.video_id, v.video_id), splits,
                    splitting.fractions, splitting.seed)
  return _sampled(videos, sampling)


def dfdc_preview_videos(root, sampling=Sampling(), splitting=Splitting()):
  """Videos of the DFDC preview: `dataset.json` labels ("real" / "fake") and sets
  ("train" / "test") every video by its path under `root`; methods `original_videos`
  (real), `method_A`, `method_B`. Val is drawn from train by the identity folder (the
  path's second part)."""
  index = os.path.join(root, "dataset.json")
  if not os.path.isfile(index):
    raise ValueError(f"DFDC-preview: no {index}: expected the DFDC-preview layout "
                     "dataset.json with original_videos/, method_A/, method_B/")
  with open(index, encoding="utf-8") as f:
    entries = json.load(f)
  videos, missing = [], 0
  for key, entry in sorted(entries.items()):
    parts = key.replace("\\", "/").split("/")
    label = str(entry.get("label", "")).lower()
    split = {"train": "train", "test": "test", "val": "val"}.get(entry.get("set"))
    if label not in (REAL, FAKE) or split is None or parts[0] not in DFDCP_METHODS:
      raise ValueError(f"DFDC-preview: {index} entry {key!r} = {entry}: expected a path "
                       f"under {tuple(DFDCP_METHODS)} with label real|fake and set "
                       "train|test")
    path = os.path.join(root, *parts)
    if not os.path.isfile(path):
      missing += 1
      continue
    videos.append(Video(path, parts[0], ORIGINAL, split, int(label == FAKE),
                        os.path.splitext("/".join(parts))[0]))
  if missing:
    logging.warning("DFDC-preview: %d videos listed in %s are missing: left out.",
                    missing, index)
  if not videos:
    raise ValueError(f"DFDC-preview: none of the {len(entries)} videos of {index} is under "
                     f"{root}")
  group = lambda v: v.video_id.split("/")[1] if v.video_id.count("/") >= 2 else v.video_id
  return _sampled(_resplit(videos, group, ("train", "val"), splitting.fractions,
                           splitting.seed), sampling)


# ---- UADFV, DeeperForensics-1.0, WildDeepfake ------------------------------------------

def uadfv_videos(root, sampling=Sampling(), splitting=Splitting()):
  """Videos of UADFV: `real/<n>.mp4` and `fake/<n>_fake.mp4` (or `*/videos/`); no
  official split, so train / val / test are drawn by pair (a fake with its real)."""
  root = _unwrap(root, FAKE)
  videos = []
  for method, label in ((REAL, records.REAL_LABEL), (FAKE, records.FAKE_LABEL)):
    path = _find_child(root, method)
    folder, names = _videos_in(path) if path else (None, [])
    if not names:
      raise ValueError(f"UADFV: no videos in {os.path.join(root, method)}: expected the "
                       "UADFV layout real/<n>.mp4 and fake/<n>_fake.mp4")
    videos += [Video(os.path.join(folder, n), method, ORIGINAL, "train", label,
                     f"{method}/{os.path.splitext(n)[0]}") for n in names]
  logging.info("UADFV has no official split: drawing train/val/test %s by pair (seed %d).",
               splitting.fractions, splitting.seed)
  pair = lambda v: re.sub(r"_fake$", "", v.video_id.split("/")[-1])
  return _sampled(_resplit(videos, pair, records.SPLITS, splitting.fractions,
                           splitting.seed), sampling)


def _read_list(path):
  with open(path, encoding="utf-8") as f:
    return {os.path.splitext(os.path.basename(line.strip()))[0]
            for line in f if line.strip()}


def deeperforensics_videos(root, qualities=(DEEPERFORENSICS_QUALITY,), real_root=None,
                           sampling=Sampling(), splitting=Splitting()):
  """Videos of DeeperForensics-1.0: the manipulated videos of each variant in
  `qualities` (`manipulated_videos/<variant>/`: end_to_end is the raw one, the
  perturbation levels end_to_end_level_<1-5>, end_to_end_random_level, mixes
  end_to_end_mix_<2-4>_distortions) as method `DF-VAE` in the split of
  `lists/splits/{train,val,test}.txt`. Its real part is not in the dataset: the FF++
  youtube c23 target videos under `real_root` (an FF++ download), the target id being
  a fake's first 3 digits, in that fake's split, written for every variant (they carry
  no perturbation). Without `real_root` (a warning) only fakes are written."""
  folder = os.path.join(root, "manipulated_videos")
  if not os.path.isdir(folder):
    raise ValueError(f"DeeperForensics-1.0: no {folder}: expected the DeeperForensics-1.0 "
                     "layout manipulated_videos/<variant>/<target>_<source>.mp4, "
                     "lists/splits/{train,val,test}.txt")
  lists = {s: os.path.join(root, "lists", "splits", f"{s}.txt") for s in records.SPLITS}
  split_of = None
  if all(os.path.isfile(p) for p in lists.values()):
    split_of = {name: s for s, path in lists.items() for name in _read_list(path)}
  else:
    logging.warning("DeeperForensics-1.0: no %s: no official split; drawing one by "
                    "source identity.", " / ".join(p for p in lists.values()
                                                   if not os.path.isfile(p)))
  real_folder = None
  if real_root is None:
    logging.warning("DeeperForensics-1.0 ships no real videos (its real part is FF++'s "
                    "youtube c23 videos): pass real_root / --real_input=<FF++ root>; "
                    "writing the fakes only (training needs real records).")
  else:
    real_folder = os.path.join(real_root, "original_sequences", FFPP_REAL, "c23", "videos")
    if not _list_videos(real_folder):
      raise ValueError(f"DeeperForensics-1.0: no real videos in {real_folder}: expected "
                       "the FF++ layout original_sequences/youtube/c23/videos/<target>.mp4 "
                       f"under {real_root}")
  reals = set(_list_videos(real_folder)) if real_folder else set()
  videos = []
  for quality in qualities:
    names = _list_videos(os.path.join(folder, quality))
    if not names:
      have = sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)))
      raise ValueError(f"DeeperForensics-1.0: no videos in {os.path.join(folder, quality)}: "
                       f"expected manipulated_videos/<variant>/*.mp4, variants here {have}")
    for name in names:
      stem = os.path.splitext(name)[0]
      split = "train" if split_of is None else split_of.get(stem)
      if split is None:
        continue
      videos.append(Video(os.path.join(folder, quality, name), DEEPERFORENSICS_FAKE,
                          quality, split, records.FAKE_LABEL, stem))
      target = f"{stem.split('_')[0]}.mp4"
      if target in reals:
        videos.append(Video(os.path.join(real_folder, target), FFPP_REAL, quality, split,
                            records.REAL_LABEL, f"{FFPP_REAL}/{stem.split('_')[0]}"))
  if split_of is None:  # a real target goes with the source identity of its fake
    source_of = {v.video_id.split("_")[0]: v.video_id.split("_")[-1]
                 for v in videos if v.label}
    source = lambda v: (v.video_id.split("_")[-1] if v.label
                        else source_of.get(v.video_id.split("/")[-1], v.video_id))
    videos = _resplit(videos, source, records.SPLITS, splitting.fractions, splitting.seed)
  return _sampled(videos, sampling)


def _wilddeepfake_folder(root, label, split):
  for name in (f"{label}_{split}", f"{label} {split}", f"{label}-{split}"):
    path = os.path.join(root, name)
    if os.path.isdir(path):
      return path
  return None


def _sequences(folder):
  """Relative paths of the folders under `folder` that hold images (face sequences)."""
  out = []
  for top, dirs, names in os.walk(folder):
    dirs.sort()
    if any(faces.is_image(n) for n in names):
      out.append(os.path.relpath(top, folder))
  return sorted(out)


def wilddeepfake_videos(root, sampling=Sampling(), splitting=Splitting()):
  """Face sequences of WildDeepfake: `{real,fake}_{train,test}/` (also "real train"),
  each holding (extracted from its `<n>.tar.gz`) folders of face images named by frame
  number; each folder is one sequence. Val is drawn from train by the sequence's top
  folder (its archive). Methods `real` / `fake`, quality `original`; the images are face
  crops already (preprocess them with no face detector)."""
  root = _unwrap(root, "real_train")
  videos = []
  for label_name, label in ((REAL, records.REAL_LABEL), (FAKE, records.FAKE_LABEL)):
    for split in ("train", "test"):
      folder = _wilddeepfake_folder(root, label_name, split)
      if folder is None:
        raise ValueError(f"WildDeepfake: no {label_name}_{split}/ in {root}: expected the "
                         "WildDeepfake layout {real,fake}_{train,test}/<archive>/.../"
                         "<sequence>/<frame>.png")
      sequences = _sequences(folder)
      if not sequences:
        archives = [n for n in os.listdir(folder) if n.endswith((".tar.gz", ".tgz", ".tar"))]
        hint = (f" ({len(archives)} archives: extract them first, e.g. "
                f"tar -xzf {archives[0]})" if archives else "")
        raise ValueError(f"WildDeepfake: no face sequences (folders of images) in "
                         f"{folder}{hint}")
      videos += [Video(os.path.join(folder, s), label_name, ORIGINAL, split, label,
                       f"{label_name}/{s.replace(os.sep, '/')}") for s in sequences]
  archive = lambda v: v.video_id.split("/")[1]
  return _sampled(_resplit(videos, archive, ("train", "val"), splitting.fractions,
                           splitting.seed), sampling)


# ---- your own folders ------------------------------------------------------------------

def _folder_items(folder):
  """[(name, path)] of the media directly in `folder`: videos, images, and folders
  holding images only (one video as frames)."""
  items = []
  for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    if os.path.isfile(path) and (faces.is_video(name) or faces.is_image(name)):
      items.append((os.path.splitext(name)[0], path))
    elif os.path.isdir(path) and any(faces.is_image(n) for n in os.listdir(path)):
      items.append((name, path))
  return items


def _is_method_folder(path, real_has_images):
  """A subfolder of fake/ is a method unless it holds images only while real/ holds
  folders of frames (then it is one fake video as frames)."""
  names = os.listdir(path)
  if any(faces.is_video(n) or os.path.isdir(os.path.join(path, n)) for n in names):
    return True
  return real_has_images


def _class_items(root, where):
  """{method: [(name, path)]} of one folder holding real/ and fake/."""
  real, fake = _find_child(root, REAL), _find_child(root, FAKE)
  missing = [n for n, p in ((REAL, real), (FAKE, fake)) if p is None]
  if missing:
    raise ValueError(f"folder dataset: no {' or '.join(m + '/' for m in missing)} in "
                     f"{root}: expected {where}real/ and {where}fake/ (or fake/<method>/) "
                     "of videos, images or folders of frames")
  real_items = _folder_items(real)
  real_has_images = any(os.path.isfile(p) for _, p in real_items)
  out, loose = {REAL: real_items}, []
  for name in sorted(os.listdir(fake)):
    path = os.path.join(fake, name)
    if os.path.isdir(path) and _is_method_folder(path, real_has_images):
      out[name] = _folder_items(path)
    elif os.path.isdir(path) and any(faces.is_image(n) for n in os.listdir(path)):
      loose.append((name, path))
    elif os.path.isfile(path) and (faces.is_video(name) or faces.is_image(name)):
      loose.append((os.path.splitext(name)[0], path))
  if loose:
    out[FAKE] = loose
  empty = [m for m, items in out.items() if not items]
  if empty or len(out) < 2:
    where_empty = ", ".join(os.path.join(root, m if m in (REAL, FAKE) else f"fake/{m}")
                            for m in empty or [FAKE])
    raise ValueError(f"folder dataset: no videos or images in {where_empty}: expected "
                     f"{where}real/ and {where}fake/ (or fake/<method>/) of videos "
                     "(*.mp4, ...), images (*.png, *.jpg) or folders of frames")
  return out


def folder_videos(root, sampling=Sampling(), splitting=Splitting(), quality=ORIGINAL,
                  whole_split=None):
  """Your own labelled folder: `real/` and `fake/` (or `fake/<method>/`, one method per
  folder) holding videos, images (each its own item) or folders of frames (one video),
  optionally already split as `train/`, `val/`, `test/` (each holding real/ and fake/;
  with train/, a missing val/ or test/ is drawn from train/ with a warning; without
  train/, the folder is evaluation-only: its splits are kept as they are, for
  dfadv-evaluate). Otherwise the split is drawn by `splitting` over groups: an item's
  name (file stem or folder), or the match of `splitting.group_pattern` in it (e.g.
  r"^(.+)_\\d+$" groups `clip7_0001.png` and `clip7_0002.png`), so the frames of one
  video never straddle splits; or, with `whole_split` (e.g. "test"), every item goes to
  that split (a labelled folder evaluated whole). Real records get method `real`, fake
  ones `fake` or their folder's name; `quality` names them all.
  """
  if not os.path.isdir(root):
    raise ValueError(f"folder dataset: {root} is not a folder: expected real/ and fake/ "
                     "(or train/ val/ test/ holding them)")
  if whole_split is not None and whole_split not in records.SPLITS:
    raise ValueError(f"folder dataset: whole_split must be one of {records.SPLITS}, got "
                     f"{whole_split!r}")
  presplit = {s: _find_child(root, s) for s in records.SPLITS}
  presplit = {s: p for s, p in presplit.items() if p is not None}
  if presplit and whole_split is not None:
    raise ValueError(f"folder dataset: whole_split={whole_split!r} puts a folder of real/ "
                     f"and fake/ into one split, but {root} is split already "
                     f"({', '.join(s + '/' for s in sorted(presplit))}); drop whole_split")
  evaluation_only = bool(presplit) and "train" not in presplit
  if evaluation_only or whole_split not in (None, "train"):
    logging.warning("folder dataset: %s has no train/ split, only %s: evaluation-only "
                    "records (dfadv-evaluate; dfadv-train needs train/ and val/).", root,
                    " / ".join(s + "/" for s in sorted(presplit) or [whole_split]))
  groups = presplit or {whole_split or "train": root}
  videos = []
  for split, folder in groups.items():
    where = f"{os.path.basename(folder)}/" if presplit else ""
    for method, items in _class_items(folder, where).items():
      label = records.REAL_LABEL if method == REAL else records.FAKE_LABEL
      videos += [Video(path, method, quality, split, label, f"{method}/{name}")
                 for name, path in items]
  def group_of(video):
    return splitting.group_of(video.video_id.split("/")[-1])
  if presplit and not evaluation_only:
    missing = tuple(s for s in ("val", "test") if s not in presplit)
    if missing:
      logging.warning("folder dataset: no %s in %s: drawing %s from train/ by group.",
                      " / ".join(m + "/" for m in missing), root, " and ".join(missing))
      videos = _resplit(videos, group_of, ("train",) + missing, splitting.fractions,
                        splitting.seed)
  elif not presplit and whole_split is None:
    videos = _resplit(videos, group_of, records.SPLITS, splitting.fractions, splitting.seed)
  _warn_empty_splits(videos, "folder dataset",
                     tuple(groups) if evaluation_only or whole_split else records.SPLITS)
  return _sampled(videos, sampling)


# ---- recompression ---------------------------------------------------------------------

def recompressed(videos, folder, qualities):
  """`videos` re-encoded as FF++ made its c23 / c40: for each quality of `qualities`
  naming a CRF (`codecs.crf_of`: c23, c40, c<N>) a copy of every video at that quality,
  made on first use as `<folder>/<quality>/<method>/<video id>.mp4`; a quality equal to
  the videos' own keeps them as they are. The videos must share one quality (the
  source, e.g. raw) and be video files (ValueError)."""
  sources = sorted({v.quality for v in videos})
  if len(sources) > 1:
    raise ValueError(f"--recompress re-encodes videos of one quality, got {sources}: "
                     "read one (e.g. --qualities=raw)")
  out = []
  for quality in qualities:
    if quality in sources:
      out += videos
      continue
    crf = codecs.crf_of(quality)
    for video in videos:
      if not faces.is_video(video.path):
        raise ValueError(f"--recompress: {video.path} is not a video file (only videos are "
                         "re-encoded)")
      name = video.video_id.replace("/", "_") + ".mp4"
      out.append(dataclasses.replace(
          video, path=os.path.join(folder, quality, video.method, name), quality=quality,
          source=video.path, crf=crf))
  return out


# ---- preprocessing ---------------------------------------------------------------------

def plan_shards(videos, videos_per_shard=32):
  """Groups videos into shards: [((split, method, quality, name), [Video])], each shard
  one (split, method, quality), videos in sorted order (stable names for resuming)."""
  groups = collections.defaultdict(list)
  for video in sorted(videos, key=lambda v: (v.path, v.quality)):
    groups[(video.split, video.method, video.quality)].append(video)
  return [((*key, f"{i // videos_per_shard:05d}"), group[i:i + videos_per_shard])
          for key, group in sorted(groups.items())
          for i in range(0, len(group), videos_per_shard)]


def printable(text):
  """`text` with the undecodable bytes of file names (surrogate escapes) as \\xNN."""
  return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclasses.dataclass
class Summary:
  """Totals of a preprocessing run; failures: [(video path, reason)], one per video that
  gave no record (unreadable, or no face in any frame); frames_skipped: the messages
  of the frames of folders that could not be read (counted in one warning line)."""
  videos_done: int = 0
  videos_resumed: int = 0
  frames_written: int = 0
  faces_missed: int = 0
  masks_written: int = 0
  shards_written: int = 0
  failures: list = dataclasses.field(default_factory=list)
  frames_skipped: list = dataclasses.field(default_factory=list)  # unreadable frames

  def __str__(self):
    lines = [f"videos done: {self.videos_done} (+{self.videos_resumed} in shards already "
             f"complete), shards written: {self.shards_written}, frames written: "
             f"{self.frames_written} ({self.masks_written} with a mask), faces missed: "
             f"{self.faces_missed}, failures: {len(self.failures)}"]
    lines += [f"  {path}: {reason}" for path, reason in self.failures]
    if self.frames_skipped:
      lines.append(f"WARNING: {len(self.frames_skipped)} unreadable frame(s) of folders "
                   f"skipped; first: {self.frames_skipped[0]}")
    return printable("\n".join(lines))


@dataclasses.dataclass(frozen=True)
class FaceOptions:
  """How faces are found and cropped: `faces.make_detector(detector, min_confidence,
  max_side)`, the crop `margin` and `size`, `align` by landmarks, `batch_size` frames
  per detector call."""
  detector: str = "mtcnn"
  min_confidence: float = 0.9
  max_side: int = 960
  margin: float = 1.3
  size: int = 256
  align: bool = False
  batch_size: int = 8

  def __post_init__(self):
    if self.align and self.detector != "mtcnn":
      raise ValueError(f"align needs MTCNN's landmarks; the {self.detector!r} face detector "
                       "has none (use mtcnn)")


_DETECTOR = {}


def _extract(video, dataset, options, image_format):
  """Worker: face crops of one video as examples. Returns (examples, FaceCrops)."""
  key = (options.detector, options.min_confidence, options.max_side)
  if key not in _DETECTOR:
    _DETECTOR[key] = faces.make_detector(*key)
  if video.source is not None and not os.path.exists(video.path):
    try:
      codecs.recompress_video(video.source, video.path, video.crf)
    except OSError as error:
      return [], faces.FaceCrops(video.path, error=str(error))
  result = faces.extract_faces(video.path, _DETECTOR[key], margin=options.margin,
                               size=options.size, align=options.align,
                               mask_path=video.mask_path, batch_size=options.batch_size,
                               **dict(video.sampling))
  examples = [records.make_example(crop.image, label=video.label, dataset=dataset,
                                   method=video.method, quality=video.quality,
                                   split=video.split, video_id=video.video_id,
                                   frame_index=crop.frame_index, mask=crop.mask,
                                   face=crop.face, image_format=image_format)
              for crop in result.crops]
  if not examples and result.error is None:
    result.error = f"no face in the {result.frames_read} frames read"
  result.crops = []
  return examples, result


def preprocess(videos, root, dataset, faces_options=FaceOptions(), workers=1,
               image_format="png", videos_per_shard=32, progress=True, restart=False):
  """Face crops of `videos` -> TFRecord shards of `<root>/<dataset>`; returns a Summary.

  Parallel over videos with `workers` processes (spawned; each builds its own
  detector); shards already complete in the index are skipped. A video that gives no
  record (unreadable, no face) is a failure in the summary, not an error. A shard whose
  videos gave no face at all is not written (a resumed run retries it).

  The dataset is owned while it is written (the output lock of train / evaluate), its
  inputs are read once each (`provenance.read_once`), and what it is built from is
  recorded (`provenance.built_from`): a re-run with other inputs or options is refused
  naming what changed, unless `restart`, which rebuilds it and replaces index and
  shards whole. Shard names carry a hash of their inputs.
  """
  videos = provenance.read_once(videos)
  options = {**dataclasses.asdict(faces_options), "image_format": image_format,
             "videos_per_shard": videos_per_shard}
  built = provenance.built_from(videos, options)
  with records.ShardedWriter(root, dataset, built, restart) as writer:
    return _preprocess(writer, videos, built, dataset, faces_options, workers,
                       image_format, videos_per_shard, progress)


def _preprocess(writer, videos, built, dataset, faces_options, workers, image_format,
                videos_per_shard, progress):
  summary, jobs = Summary(), []
  for (*where, number), group in plan_shards(videos, videos_per_shard):
    key = (*where, provenance.shard_name(number, group, built))
    if writer.is_complete(*key):
      summary.videos_resumed += len(group)
    else:
      jobs += [(key, video, len(group)) for video in group]
  work = functools.partial(_extract, dataset=dataset, options=faces_options,
                           image_format=image_format)
  bar = Progress(len(jobs), unit="video") if progress and jobs else None
  pool = None
  if workers > 1 and jobs:  # each worker imports this module (TensorFlow) quietly
    pool = multiprocessing.get_context("spawn").Pool(
        workers, initializer=startup.quiet_worker)
  try:
    results = (pool.imap(work, [video for _, video, _ in jobs]) if pool
               else map(work, [video for _, video, _ in jobs]))
    pending = collections.defaultdict(list)
    for (key, video, group_size), (examples, result) in zip(jobs, results):
      pending[key].append(examples)
      summary.faces_missed += result.faces_missed
      summary.frames_skipped += result.frames_skipped
      if result.error:
        summary.failures.append((video.path, result.error))
      if examples:
        summary.videos_done += 1
      if len(pending[key]) == group_size:
        shard = [e for video_examples in pending.pop(key) for e in video_examples]
        if shard:
          entry = writer.write(*key, shard)
          summary.shards_written += 1
          summary.frames_written += len(shard)
          summary.masks_written += entry["masks"]
      if bar:
        bar.add(1)
  finally:
    if bar:
      bar.close()
    if pool:
      pool.close()
      pool.join()
  return summary
