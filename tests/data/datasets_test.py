"""Tests for dfadv_tf.data.datasets: every layout on a tiny download the test writes in
that layout, the seeded group split, recompression and the preprocessing."""

import collections
import os
import shutil

import numpy as np
import tensorflow as tf

from dfadv_tf.data import datasets
from dfadv_tf.data import records
from tests.testing import layouts
from tests.testing.video import FFPP_IDS, astronaut_frames, make_ffpp_tree, write_video


def summary_of(videos):
  return sorted((v.split, v.method, v.video_id, v.label, v.quality) for v in videos)


def split_of(videos):
  return {v.video_id: v.split for v in videos}


class GroupSplitTest(tf.test.TestCase):

  def test_fractions_strata_seed_and_order(self):
    groups = [(f"g{i}", i % 2) for i in range(40)]
    split = datasets.group_split(groups, (0.5, 0.25, 0.25), seed=3)
    for stratum in (0, 1):
      counts = collections.Counter(s for g, s in split.items() if int(g[1:]) % 2 == stratum)
      self.assertEqual(counts, {"train": 10, "val": 5, "test": 5})
    self.assertEqual(datasets.group_split(reversed(groups), (0.5, 0.25, 0.25), seed=3),
                     split)
    self.assertNotEqual(datasets.group_split(groups, (0.5, 0.25, 0.25), seed=4), split)
    small = datasets.group_split([("a", 0), ("b", 0), ("c", 0)])
    self.assertEqual(sorted(small.values()), ["test", "train", "val"])
    with self.assertRaisesRegex(ValueError, "fractions must be 3 numbers"):
      datasets.Splitting((0.5, 0.5))
    with self.assertRaisesRegex(ValueError, "is not a regular expression"):
      datasets.Splitting(group_pattern="(")


class LayoutsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.get_temp_dir()

  def test_official_splits(self):
    originals, fakes = datasets.ffpp_splits()
    self.assertEqual({k: len(v) for k, v in originals.items()},
                     {"train": 720, "val": 140, "test": 140})
    self.assertIn("071_054", fakes["train"])
    self.assertIn("054_071", fakes["train"])

  def test_ffpp_videos_and_masks(self):
    root = make_ffpp_tree(os.path.join(self.root, "ffpp"), frames=1)
    for video_id in ("071_054", "720_672", "953_974"):  # masks of one method only
      write_video(os.path.join(datasets.ffpp_mask_folder(root, "Deepfakes"),
                               f"{video_id}.mp4"), astronaut_frames(1)[0])
    with self.assertLogs(level="WARNING") as logs:
      videos = datasets.ffpp_videos(root, ["c23"], sampling=datasets.Sampling(frames=2))
    self.assertRegex("\n".join(logs.output), "FF\\+\\+ FaceSwap: no masks in .*FaceSwap/"
                     "masks/videos: its fake records get no mask")
    self.assertEqual([(v.split, v.method, v.video_id, v.label) for v in sorted(
        videos, key=lambda v: (v.split, v.method))], sorted(
            [(s, "youtube", t, 0) for s, (t, _) in FFPP_IDS.items()]
            + [(s, m, f"{t}_{u}", 1) for s, (t, u) in FFPP_IDS.items()
               for m in ("Deepfakes", "FaceSwap")]))
    masks = {v.method: v.mask_path for v in videos if v.split == "train"}
    self.assertEqual(masks["youtube"], None)
    self.assertEqual(masks["FaceSwap"], None)
    self.assertTrue(masks["Deepfakes"].endswith("Deepfakes/masks/videos/071_054.mp4"))
    test = [v for v in videos if v.split == "test"][0]
    self.assertEqual(dict(test.sampling), {"span": 100})
    self.assertEqual(dict(datasets.Sampling(test_every=3).for_split("test")),
                     {"num": 100, "every": 3})  # the draw before
    with self.assertRaisesRegex(ValueError, "FF\\+\\+: no videos in .*c40/videos"):
      datasets.ffpp_videos(root, ["c40"])

  def test_dfd(self):
    for folder in ("original_sequences/actors/c23/videos",
                   "manipulated_sequences/DeepFakeDetection/c23/videos"):
      layouts.clip(os.path.join(self.root, "dfd", folder, "01__a.mp4"))
    dfd = datasets.dfd_videos(os.path.join(self.root, "dfd"), seed=1)
    self.assertEqual([(v.method, v.split, v.label) for v in dfd],
                     [("actors", "test", 0), ("DeepFakeDetection", "test", 1)])
    self.assertEqual(dict(dfd[0].sampling)["random"], 10)

  def test_celebdf_as_shipped_and_repackaged(self):
    shipped = datasets.celebdf_videos(layouts.celebdf(os.path.join(self.root, "v2")))
    self.assertEqual({v.video_id for v in shipped if v.split == "test"},
                     {"Celeb-real/id2_0000", "YouTube-real/00001",
                      "Celeb-synthesis/id2_id0_0000"})
    # val: one of the 3 identities with a real and a fake outside the test list
    self.assertEqual(collections.Counter(v.split for v in shipped),
                     {"train": 5, "val": 2, "test": 3})
    by_identity = collections.defaultdict(set)  # val is drawn by identity
    for v in shipped:
      if v.split != "test":
        by_identity[datasets.celebdf_identity(os.path.basename(v.path))].add(v.split)
    self.assertTrue(all(len(s) == 1 for s in by_identity.values()), by_identity)
    self.assertEqual({v.method: v.label for v in shipped},
                     {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1})
    repackaged = datasets.celebdf_videos(
        layouts.celebdf(os.path.join(self.root, "repack"), repackaged=True), version="v1")
    self.assertEqual(split_of(repackaged), split_of(shipped))
    self.assertTrue(all("/videos/" in v.path for v in repackaged))
    os.rename(os.path.join(self.root, "v2", "Celeb-synthesis"),
              os.path.join(self.root, "v2", "synthesis"))
    with self.assertRaisesRegex(ValueError, r"Celeb-DF v2: no Celeb-synthesis/ in .*v2: "
                                "expected the Celeb-DF v2 layout"):
      datasets.celebdf_videos(os.path.join(self.root, "v2"))
    unlisted = layouts.celebdf(os.path.join(self.root, "nolist"), with_list=False)
    with self.assertLogs(level="WARNING") as logs:
      drawn = datasets.celebdf_videos(unlisted)
    self.assertIn("no List_of_testing_videos.txt", logs.output[0])
    self.assertEqual({v.split for v in drawn}, set(records.SPLITS))

  def test_dfdc(self):
    root = layouts.dfdc(os.path.join(self.root, "dfdc"))
    videos = datasets.dfdc_videos(root)
    self.assertEqual(summary_of(v for v in videos if v.split == "test"),
                     [("test", "fake", "t2", 1, "original"),
                      ("test", "real", "t1", 0, "original")])
    splits = split_of(videos)
    self.assertNotIn("gone", splits)  # listed in metadata.json, not on disk
    for real, fake in (("aaa", "bbb"), ("ccc", "ddd"), ("eee", "fff")):
      self.assertEqual(splits[real], splits[fake])  # a fake goes with its original
    self.assertEqual(sorted(splits[v] for v in ("aaa", "ccc", "eee")),
                     ["train", "train", "val"])
    no_test = layouts.dfdc(os.path.join(self.root, "dfdc2"), with_test=False)
    with self.assertLogs(level="WARNING") as logs:
      drawn = datasets.dfdc_videos(no_test)
    self.assertIn("no labelled test set", logs.output[0])
    self.assertEqual(sorted(v.split for v in drawn if v.label == 0),
                     ["test", "train", "val"])
    os.remove(os.path.join(no_test, "dfdc_train_part_0", "metadata.json"))
    with self.assertRaisesRegex(ValueError, "DFDC: no labelled videos under .*dfdc2: "
                                "expected the DFDC layout dfdc_train_part_<N>"):
      datasets.dfdc_videos(no_test)

  def test_dfdc_preview(self):
    videos = datasets.dfdc_preview_videos(layouts.dfdc_preview(os.path.join(self.root, "p")))
    self.assertEqual({v.method: v.label for v in videos},
                     {"original_videos": 0, "method_A": 1, "method_B": 1})
    self.assertEqual({v.video_id.split("/")[1] for v in videos if v.split == "test"}, {"9"})
    by_identity = collections.defaultdict(set)
    for v in videos:
      by_identity[v.video_id.split("/")[1]].add(v.split)
    self.assertEqual(sorted(s for i, (s,) in by_identity.items() if i != "9"),
                     ["train", "train", "val"])
    with self.assertRaisesRegex(ValueError, "DFDC-preview: no .*dataset.json: expected the "
                                "DFDC-preview layout"):
      datasets.dfdc_preview_videos(self.root)

  def test_uadfv(self):
    videos = datasets.uadfv_videos(layouts.uadfv(os.path.join(self.root, "u")))
    pairs = collections.defaultdict(set)
    for v in videos:
      pairs[v.video_id.split("/")[1].replace("_fake", "")].add(v.split)
    self.assertTrue(all(len(s) == 1 for s in pairs.values()), pairs)
    self.assertEqual(sorted(s for (s,) in pairs.values()), ["test", "train", "train", "val"])
    os.rename(os.path.join(self.root, "u", "fake"), os.path.join(self.root, "u", "fakes"))
    with self.assertRaisesRegex(ValueError, "UADFV: no videos in .*u/fake: expected the "
                                "UADFV layout real/<n>.mp4 and fake/<n>_fake.mp4"):
      datasets.uadfv_videos(os.path.join(self.root, "u"))

  def test_deeperforensics(self):
    ffpp = os.path.join(self.root, "ffpp")
    root = layouts.deeperforensics(os.path.join(self.root, "df"), ffpp)
    videos = datasets.deeperforensics_videos(root, ["end_to_end", "end_to_end_level_3"],
                                             real_root=ffpp)
    self.assertLen(videos, 2 * 2 * 4)  # variants x (fake + its real) x videos
    self.assertEqual({v.quality for v in videos}, {"end_to_end", "end_to_end_level_3"})
    for split, names in layouts.DEEPERFORENSICS_SPLITS.items():
      for name in names:
        got = {(v.method, v.label) for v in videos if v.split == split and (
            v.video_id == name or v.video_id == f"youtube/{name.split('_')[0]}")}
        self.assertEqual(got, {("DF-VAE", 1), ("youtube", 0)})
    with self.assertLogs(level="WARNING") as logs:
      fakes_only = datasets.deeperforensics_videos(root)
    self.assertIn("ships no real videos", logs.output[0])
    self.assertEqual({(v.label, v.quality) for v in fakes_only}, {(1, "end_to_end")})
    with self.assertRaisesRegex(ValueError, r"no videos in .*manipulated_videos/"
                                r"end_to_end_level_9: .*variants here \['end_to_end', "):
      datasets.deeperforensics_videos(root, ["end_to_end_level_9"], real_root=ffpp)

  def test_wilddeepfake(self):
    videos = datasets.wilddeepfake_videos(layouts.wilddeepfake(os.path.join(self.root, "w")))
    self.assertLen(videos, 2 * 4)  # classes x archives
    self.assertEqual({v.video_id for v in videos if v.label == 0},
                     {f"real/{a}/seq1" for a in range(3)})
    self.assertTrue(all(os.path.isdir(v.path) and v.quality == "original" for v in videos))
    self.assertEqual(sorted(v.split for v in videos if v.label == 0),
                     ["test", "train", "train", "val"])
    with self.assertRaisesRegex(ValueError, r"WildDeepfake: no face sequences .*real_train "
                                r"\(3 archives: extract them first"):
      datasets.wilddeepfake_videos(layouts.wilddeepfake(os.path.join(self.root, "t"),
                                                        archives_only=True))

  def test_folder_split_here_by_group(self):
    root = layouts.folder(os.path.join(self.root, "mine"))
    videos = datasets.folder_videos(root)
    self.assertEqual({v.method: v.label for v in videos},
                     {"real": 0, "Deepfakes": 1, "FaceSwap": 1})
    for method in ("real", "Deepfakes", "FaceSwap"):
      self.assertEqual(sorted(v.split for v in videos if v.method == method),
                       ["test", "train", "val"])
    self.assertEqual(split_of(datasets.folder_videos(root)), split_of(videos))
    frames = os.path.join(self.root, "frames")
    for clip_id in ("clip1", "clip2", "clip3"):
      for frame in range(3):
        layouts.image(os.path.join(frames, "real", f"{clip_id}_{frame:04d}.png"))
        layouts.image(os.path.join(frames, "fake", f"{clip_id}x_{frame:04d}.png"))
    grouped = datasets.folder_videos(frames, splitting=datasets.Splitting(
        group_pattern=r"^(clip\d)x?_\d+$"))
    by_clip = collections.defaultdict(set)
    for v in grouped:
      by_clip[v.video_id.split("/")[1][:5]].add(v.split)
    self.assertEqual(sorted(s for (s,) in by_clip.values()), ["test", "train", "val"])

  def test_folder_for_evaluation_only(self):
    # No train/: the splits there are kept (test only); real/ and fake/ with whole_split:
    # every item in that split; whole_split on a split folder is refused.
    pre = layouts.folder(os.path.join(self.root, "pre"), presplit=True, methods=("x",))
    test_only = os.path.join(self.root, "test_only")
    os.makedirs(test_only)
    shutil.copytree(os.path.join(pre, "test"), os.path.join(test_only, "test"))
    with self.assertLogs(level="WARNING") as logs:
      videos = datasets.folder_videos(test_only)
    self.assertIn("evaluation-only", logs.output[0])
    self.assertEqual({v.split for v in videos}, {"test"})
    self.assertLen(videos, 6)
    whole = layouts.folder(os.path.join(self.root, "whole"))
    videos = datasets.folder_videos(whole, whole_split="test")
    self.assertEqual({v.split for v in videos}, {"test"})
    self.assertLen(videos, len(datasets.folder_videos(whole)))
    with self.assertRaisesRegex(ValueError, "whole_split='test' puts a folder .* is split "
                                "already"):
      datasets.folder_videos(pre, whole_split="test")

  def test_folder_presplit_and_errors(self):
    root = layouts.folder(os.path.join(self.root, "pre"), presplit=True, methods=("x",))
    with self.assertLogs(level="WARNING") as logs:
      videos = datasets.folder_videos(root)
    self.assertIn("no val/ in", logs.output[0])
    self.assertEqual({v.video_id for v in videos if v.split == "test"},
                     {"real/r10", "real/r11", "real/r12", "x/f10", "x/f11", "x/f12"})
    self.assertEqual(sorted(v.split for v in videos if v.method == "real"),
                     ["test"] * 3 + ["train", "train", "val"])
    frames = os.path.join(self.root, "seq")
    for top in ("real", "fake"):
      for n in range(3):
        layouts.image(os.path.join(frames, top, f"v{n}", "0001.png"))
    sequences = datasets.folder_videos(frames)
    self.assertEqual({v.method for v in sequences}, {"real", "fake"})
    self.assertTrue(all(os.path.isdir(v.path) for v in sequences))
    os.makedirs(os.path.join(self.root, "bad", "real"))
    with self.assertRaisesRegex(ValueError, r"folder dataset: no fake/ in .*bad: expected "
                                r"real/ and fake/ \(or fake/<method>/\)"):
      datasets.folder_videos(os.path.join(self.root, "bad"))


class RecompressTest(tf.test.TestCase):

  def test_recompressed_copies(self):
    videos = [datasets.Video("/d/a.mp4", "youtube", "raw", "train", 0, "a"),
              datasets.Video("/d/b.mp4", "Deepfakes", "raw", "train", 1, "b")]
    out = datasets.recompressed(videos, "/out", ["raw", "c23", "c40"])
    self.assertEqual([(v.quality, v.crf, v.path) for v in out[2:]],
                     [("c23", 23, "/out/c23/youtube/a.mp4"),
                      ("c23", 23, "/out/c23/Deepfakes/b.mp4"),
                      ("c40", 40, "/out/c40/youtube/a.mp4"),
                      ("c40", 40, "/out/c40/Deepfakes/b.mp4")])
    self.assertEqual(out[:2], videos)
    self.assertEqual(out[2].source, "/d/a.mp4")
    with self.assertRaisesRegex(ValueError, "re-encodes videos of one quality"):
      datasets.recompressed(videos + [datasets.Video("/d/c.mp4", "youtube", "c23", "train",
                                                     0, "c")], "/out", ["c40"])
    with self.assertRaisesRegex(ValueError, "names no H.264 CRF"):
      datasets.recompressed(videos, "/out", ["high"])


class PreprocessTest(tf.test.TestCase):

  def test_ffpp_shards_index_masks_faces_and_resume(self):
    root = make_ffpp_tree(os.path.join(self.get_temp_dir(), "ffpp"), masks=True)
    out = os.path.join(self.get_temp_dir(), "records")
    broken = os.path.join(root, "original_sequences/youtube/c23/videos/720.mp4")
    with open(broken, "wb") as f:
      f.write(b"not a video")
    videos = datasets.ffpp_videos(root, ["c23"], sampling=datasets.Sampling(2, 2, 1))
    options = datasets.FaceOptions("haar", size=32)
    summary = datasets.preprocess(videos, out, "ffpp", options, progress=False)
    self.assertEqual(summary.failures[0][0], broken)
    self.assertEqual((summary.videos_done, summary.frames_written, summary.faces_missed,
                      summary.masks_written), (8, 16, 0, 12))
    index = records.read_index(out, "ffpp")
    self.assertLen(index["shards"], 8)  # the broken video's shard has no face: not written
    self.assertEqual(index["counts"]["split"], {"test": 6, "train": 6, "val": 4})
    self.assertEqual({s["method"]: s["masks"] for s in index["shards"] if s["split"] == "test"},
                     {"Deepfakes": 2, "FaceSwap": 2, "youtube": 0})
    data = next(iter(records.load_split(out, "ffpp", ["youtube", "Deepfakes"], split="test",
                                        image_size=32, batch_size=8, shuffle=False,
                                        with_mask=True)))
    masks = data["mask"].numpy()
    fake = data["label"].numpy() == 1
    self.assertGreater(masks[fake].mean(), 0.2)  # the face ellipse, cropped with the face
    self.assertEqual(masks[~fake].max(), 0.0)
    record = next(iter(tf.data.TFRecordDataset(os.path.join(
        out, "ffpp", index["shards"][0]["path"]))))
    features = records.parse_example(record)
    self.assertGreater(features["face_box"].numpy()[2], 20)
    self.assertEqual(features["face_confidence"].numpy(), -1.0)  # Haar: no confidence
    self.assertAllEqual(features["face_landmarks"].numpy(), [-1.0] * 10)
    again = datasets.preprocess(videos, out, "ffpp", options, progress=False)
    self.assertEqual((again.videos_resumed, again.shards_written, len(again.failures)),
                     (8, 0, 1))
    self.assertRegex(str(again), "720.mp4: cannot read video .*720.mp4 \\(no frames")

  def test_folder_of_face_crops_without_a_detector(self):
    root = os.path.join(self.get_temp_dir(), "crops")
    for top in ("real", "fake"):
      for n in range(3):
        layouts.image(os.path.join(root, top, f"{top}{n}.png"), size=20,
                      value=40 if top == "real" else 200)
    videos = datasets.folder_videos(root)
    out = os.path.join(self.get_temp_dir(), "records")
    summary = datasets.preprocess(videos, out, "mine", datasets.FaceOptions("none", size=24),
                                  progress=False)
    self.assertEqual((summary.videos_done, summary.frames_written), (6, 6))
    self.assertEqual(records.real_methods(out, "mine"), ["real"])
    images, labels = next(iter(records.load_split(out, "mine", split="train", image_size=24,
                                                  batch_size=8, shuffle=False)))
    self.assertAllClose(images.numpy()[labels.numpy() == 1].mean(), 200 / 127.5 - 1,
                        atol=0.02)
    with self.assertRaisesRegex(ValueError, "align needs MTCNN's landmarks"):
      datasets.FaceOptions("haar", align=True)


if __name__ == "__main__":
  tf.test.main()
