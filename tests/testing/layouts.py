"""Tiny downloads of the supported datasets, each in its own folder layout (as it ships,
or as commonly re-packaged), of real H.264 `.mp4` clips (`tests.testing.video`), PNG
images, labels and split lists. Every function writes under `root` and returns it."""

import csv
import json
import os

import cv2
import numpy as np

from tests.testing.video import write_video


def clip(path, frames=2, size=16, value=90):
  """A tiny H.264 clip: `frames` flat gray frames of `size` px."""
  write_video(path, [np.full((size, size, 3), value + 10 * i, np.uint8)
                     for i in range(frames)])
  return path


def image(path, size=16, value=120):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  cv2.imwrite(path, np.full((size, size, 3), value, np.uint8))
  return path


def _write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)


def dfdc(root, with_test=True):
  """dfdc_train_part_0/ with metadata.json (3 real videos, each with a fake), and the
  labelled public test set test/labels.csv with 2 videos."""
  part = os.path.join(root, "dfdc_train_part_0")
  metadata = {}
  for real, fake in (("aaa", "bbb"), ("ccc", "ddd"), ("eee", "fff")):
    clip(os.path.join(part, f"{real}.mp4"))
    clip(os.path.join(part, f"{fake}.mp4"))
    metadata[f"{real}.mp4"] = {"label": "REAL", "split": "train"}
    metadata[f"{fake}.mp4"] = {"label": "FAKE", "split": "train", "original": f"{real}.mp4"}
  metadata["gone.mp4"] = {"label": "REAL", "split": "train"}  # listed, not downloaded
  _write(os.path.join(part, "metadata.json"), json.dumps(metadata))
  if with_test:
    test = os.path.join(root, "test")
    clip(os.path.join(test, "t1.mp4"))
    clip(os.path.join(test, "t2.mp4"))
    with open(os.path.join(test, "labels.csv"), "w", encoding="utf-8", newline="") as f:
      csv.writer(f).writerows([("filename", "label"), ("t1.mp4", 0), ("t2.mp4", 1)])
  return root


def dfdc_preview(root):
  """dataset.json over original_videos/, method_A/, method_B/: identities 1-3 in train
  (a real and a fake each), identity 9 in test."""
  entries = {}
  for identity, split in (("1", "train"), ("2", "train"), ("3", "train"), ("9", "test")):
    for folder, label, suffix in (("original_videos", "real", "0"), ("method_A", "fake", "A"),
                                  ("method_B", "fake", "B")):
      if folder == "method_B" and identity != "9":
        continue
      key = f"{folder}/{identity}/{identity}_{suffix}.mp4"
      clip(os.path.join(root, key))
      entries[key] = {"label": label, "set": split}
  _write(os.path.join(root, "dataset.json"), json.dumps(entries))
  return root


CELEBDF_TEST = ("1 Celeb-real/id2_0000.mp4", "1 YouTube-real/00001.mp4",
                "0 Celeb-synthesis/id2_id0_0000.mp4")


def celebdf(root, repackaged=False, with_list=True):
  """Celeb-DF as shipped (Celeb-real/, YouTube-real/, Celeb-synthesis/ of *.mp4 and
  List_of_testing_videos.txt), or re-packaged: inside a Celeb-DF-v2/ folder, every
  folder's videos under videos/ and YouTube-real spelt Youtube-real."""
  top = os.path.join(root, "Celeb-DF-v2") if repackaged else root
  names = {"Celeb-real": ["id0_0000", "id1_0000", "id2_0000", "id3_0000"],
           "YouTube-real": ["00000", "00001"],
           "Celeb-synthesis": ["id0_id1_0000", "id1_id2_0000", "id2_id0_0000",
                               "id3_id0_0000"]}
  for folder, stems in names.items():
    name = "Youtube-real" if repackaged and folder == "YouTube-real" else folder
    where = os.path.join(top, name, "videos") if repackaged else os.path.join(top, name)
    for stem in stems:
      clip(os.path.join(where, f"{stem}.mp4"))
  if with_list:
    _write(os.path.join(top, "List_of_testing_videos.txt"), "\n".join(CELEBDF_TEST) + "\n")
  return root


def uadfv(root, pairs=4):
  """real/<n>.mp4 and fake/<n>_fake.mp4."""
  for n in range(pairs):
    clip(os.path.join(root, "real", f"{n:04d}.mp4"))
    clip(os.path.join(root, "fake", f"{n:04d}_fake.mp4"))
  return root


DEEPERFORENSICS_SPLITS = {"train": ("000_M101", "001_W102"), "val": ("002_M103",),
                          "test": ("003_W104",)}


def deeperforensics(root, ffpp_root, variants=("end_to_end", "end_to_end_level_3")):
  """manipulated_videos/<variant>/<target>_<source>.mp4, lists/splits/*.txt, and the
  FF++ youtube c23 target videos under `ffpp_root`."""
  for split, names in DEEPERFORENSICS_SPLITS.items():
    _write(os.path.join(root, "lists", "splits", f"{split}.txt"),
           "".join(f"{n}.mp4\n" for n in names))
    for name in names:
      for variant in variants:
        clip(os.path.join(root, "manipulated_videos", variant, f"{name}.mp4"))
      clip(os.path.join(ffpp_root, "original_sequences", "youtube", "c23", "videos",
                        f"{name.split('_')[0]}.mp4"))
  os.makedirs(os.path.join(root, "source_videos", "M101"), exist_ok=True)
  return root


def wilddeepfake(root, archives_only=False):
  """{real,fake}_{train,test}/<archive>/<sequence>/<frame>.png (extracted archives);
  train has archives 0-2, test archive 0, two frames per sequence. `archives_only`:
  the .tar.gz files, not extracted."""
  for label in ("real", "fake"):
    for split, archives in (("train", 3), ("test", 1)):
      folder = os.path.join(root, f"{label}_{split}")
      for archive in range(archives):
        if archives_only:
          _write(os.path.join(folder, f"{archive}.tar.gz"), "")
          continue
        for frame in (3, 17):
          image(os.path.join(folder, str(archive), "seq1", f"{frame}.png"))
  return root


def folder(root, presplit=False, methods=("Deepfakes", "FaceSwap")):
  """Your own folder: real/ with 3 videos, fake/<method>/ with 3 videos each;
  `presplit`: train/ and test/ (no val/) each holding real/ and fake/."""
  tops = [os.path.join(root, s) for s in ("train", "test")] if presplit else [root]
  for t, top in enumerate(tops):
    for n in range(3):
      clip(os.path.join(top, "real", f"r{t}{n}.mp4"))
      for method in methods:
        clip(os.path.join(top, "fake", method, f"f{t}{n}.mp4"))
  return root
