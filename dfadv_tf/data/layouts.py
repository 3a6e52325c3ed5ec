"""The dataset layouts that `dfadv-preprocess --layout` reads: one registry, `LAYOUTS`.

A layout is how a download (or your own folder) is organised on disk. Its `Layout`
lists the videos of an input folder (`dfadv_tf.data.datasets`' `<layout>_videos`, with
method, quality, split and label) from the preprocessing `Options`. Adding a layout =
its `<layout>_videos` function in `datasets` and one `register(...)` call here; the
preprocessing binary's `--layout` choices and its help come from this registry. The
layouts (as the datasets ship them, checked against their READMEs and DeepfakeBench's
preprocessing; docs say which details could not be confirmed) are each `Layout.doc`.
"""

import dataclasses
import typing

from dfadv_tf.data import datasets
from dfadv_tf.registry import Registry


@dataclasses.dataclass(frozen=True)
class Options:
  """What a layout's video lister may read (the preprocessing flags).

  input: the input folder. qualities / methods: those to read (None: the layout's
  default). masks: FF++'s manipulation masks too. sampling / splitting:
  `datasets.Sampling` / `datasets.Splitting`. dfd_frames, seed: DFD's random frames per
  video and their seed. real_input: DeeperForensics' FF++ folder holding its real videos.
  whole_split: the folder layout's one split for a folder without train/ val/ test/.
  """
  input: str
  qualities: typing.Optional[list] = None
  methods: typing.Optional[list] = None
  masks: bool = True
  sampling: datasets.Sampling = datasets.Sampling()
  splitting: datasets.Splitting = datasets.Splitting()
  dfd_frames: int = 10
  seed: int = 0
  real_input: typing.Optional[str] = None
  whole_split: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Layout:
  """A registered layout: `videos(options)` -> [`datasets.Video`]; `face_crops`: its
  images are face crops already (preprocessed without a face detector by default)."""
  name: str
  videos: typing.Callable
  doc: str
  face_crops: bool = False


LAYOUTS = Registry("dataset layout")


def register(name, videos, doc, face_crops=False):
  """Registers layout `name` (ValueError if the name is taken)."""
  return LAYOUTS.add(name, Layout(name, videos, doc, face_crops))


def names():
  """The layouts' names, in registration order."""
  return LAYOUTS.names()


def get(name):
  """The `Layout` called `name` (ValueError listing the names otherwise)."""
  return LAYOUTS.get(name)


def face_crop_layouts():
  """The names of the layouts whose images are face crops already."""
  return tuple(layout.name for layout in LAYOUTS.values() if layout.face_crops)


def _split_by_us(lister, **kwargs):
  """A lister of a layout without (full) official split: (input, sampling, splitting)."""
  return lambda o: lister(o.input, o.sampling, o.splitting, **kwargs)


register("ffpp", lambda o: datasets.ffpp_videos(o.input, o.qualities or ["c23"], o.methods,
                                                o.sampling, masks=o.masks),
         "FaceForensics++: `original_sequences/youtube/<q>/videos/071.mp4`, "
         "`manipulated_sequences/<Method>/<q>/videos/071_054.mp4`, q in raw / c23 / c40, and "
         "where present `manipulated_sequences/<Method>/masks/videos/071_054.mp4` (the "
         "manipulation masks); the official split (package data `ffpp_splits/*.json`).")
register("dfd", lambda o: datasets.dfd_videos(o.input, o.qualities or ["c23"], o.dfd_frames,
                                              o.seed),
         "DeepFakeDetection (hosted with FF++): `original_sequences/actors/<q>/videos`, "
         "`manipulated_sequences/DeepFakeDetection/<q>/videos`; a test set only.")
_CELEBDF = ("`Celeb-real/`, `YouTube-real/`, `Celeb-synthesis/`, "
            "`List_of_testing_videos.txt` (lines `<1 real | 0 fake> <folder>/<file>.mp4`): "
            "the listed videos are the test split; val is carved from the rest by identity.")
register("celebdf", _split_by_us(datasets.celebdf_videos, version="v2"),
         "Celeb-DF v2: " + _CELEBDF)
register("celebdf_v1", _split_by_us(datasets.celebdf_videos, version="v1"),
         "Celeb-DF v1: " + _CELEBDF)
register("dfdc", _split_by_us(datasets.dfdc_videos),
         "DFDC (Kaggle): `dfdc_train_part_<N>/{metadata.json, *.mp4}` (labels REAL / FAKE "
         "and each fake's `original`), the labelled public test set "
         "`test/{labels.csv, *.mp4}`.")
register("dfdc_preview", _split_by_us(datasets.dfdc_preview_videos),
         "DFDC preview: `dataset.json` (`{\"<folder>/.../<file>.mp4\": {\"label\", \"set\"}}`) "
         "over `original_videos/`, `method_A/`, `method_B/`.")
register("uadfv", _split_by_us(datasets.uadfv_videos),
         "UADFV: `real/<n>.mp4`, `fake/<n>_fake.mp4` (no official split).")
register("deeperforensics",
         lambda o: datasets.deeperforensics_videos(
             o.input, o.qualities or [datasets.DEEPERFORENSICS_QUALITY], o.real_input,
             o.sampling, o.splitting),
         "DeeperForensics-1.0: `manipulated_videos/<variant>/<target>_<source>.mp4` "
         "(variants as qualities: end_to_end, end_to_end_level_<1-5>, ...), "
         "`lists/splits/{train,val,test}.txt`; its real part is FF++'s youtube c23 videos "
         "(`real_input`).")
register("wilddeepfake", _split_by_us(datasets.wilddeepfake_videos),
         "WildDeepfake: `{real,fake}_{train,test}/.../<sequence>/<frame>.png` (face crops).",
         face_crops=True)
register("folder", lambda o: datasets.folder_videos(o.input, o.sampling, o.splitting,
                                                    whole_split=o.whole_split),
         "Your own: `real/` and `fake/` (or `fake/<method>/`) of videos, images or folders "
         "of frames, optionally under `train/ val/ test/` (see `datasets.folder_videos`).")
