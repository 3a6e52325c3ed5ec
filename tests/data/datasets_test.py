"""Tests for dfadv_tf.data.datasets: FF++ / DFD / Celeb-DF indexes and preprocessing."""

import os

import numpy as np
import tensorflow as tf

from dfadv_tf.data import datasets
from dfadv_tf.data import records
from tests.testing.video import FFPP_IDS, astronaut_video, make_ffpp_tree, write_video

class IndexesTest(tf.test.TestCase):

  def test_official_splits(self):
    originals, fakes = datasets.ffpp_splits()
    self.assertEqual({k: len(v) for k, v in originals.items()},
                     {"train": 720, "val": 140, "test": 140})
    self.assertIn("071_054", fakes["train"])
    self.assertIn("054_071", fakes["train"])

  def test_ffpp_videos(self):
    root = make_ffpp_tree(self.get_temp_dir())
    videos = datasets.ffpp_videos(root, ["c23"], sampling=datasets.Sampling(frames=2))
    got = sorted((v.split, v.method, v.video_id, v.label) for v in videos)
    self.assertEqual(got, sorted(
        [(s, "youtube", t, 0) for s, (t, _) in FFPP_IDS.items()]
        + [(s, m, f"{t}_{u}", 1) for s, (t, u) in FFPP_IDS.items()
           for m in ("Deepfakes", "FaceSwap")]))
    test = [v for v in videos if v.split == "test"][0]
    self.assertEqual(dict(test.sampling), {"num": 100, "every": 3})
    with self.assertRaisesRegex(ValueError, "no videos in .*c40/videos"):
      datasets.ffpp_videos(root, ["c40"])

  def test_dfd_and_celebdf(self):
    root = self.get_temp_dir()
    frame = [np.zeros((8, 8, 3), np.uint8)]
    for folder in ("original_sequences/actors/c23/videos",
                   "manipulated_sequences/DeepFakeDetection/c23/videos"):
      os.makedirs(os.path.join(root, "dfd", folder))
      write_video(os.path.join(root, "dfd", folder, "01__a.avi"), frame)
    dfd = datasets.dfd_videos(os.path.join(root, "dfd"), seed=1)
    self.assertEqual([(v.method, v.split, v.label) for v in dfd],
                     [("actors", "test", 0), ("DeepFakeDetection", "test", 1)])
    self.assertEqual(dict(dfd[0].sampling)["random"], 10)
    celeb = os.path.join(root, "celeb")
    for folder in ("Celeb-real", "YouTube-real", "Celeb-synthesis"):
      os.makedirs(os.path.join(celeb, folder))
      for name in ("a.mp4", "b.mp4"):
        write_video(os.path.join(celeb, folder, name), frame)
    with open(os.path.join(celeb, "List_of_testing_videos.txt"), "w", encoding="utf-8") as f:
      f.write("1 YouTube-real/a.mp4\n0 Celeb-synthesis/b.mp4\n")
    got = sorted((v.method, v.video_id, v.split, v.label)
                 for v in datasets.celebdf_videos(celeb))
    self.assertEqual(got, [
        ("Celeb-real", "a", "train", 0), ("Celeb-real", "b", "train", 0),
        ("Celeb-synthesis", "a", "train", 1), ("Celeb-synthesis", "b", "test", 1),
        ("YouTube-real", "a", "test", 0), ("YouTube-real", "b", "train", 0)])

  def test_preprocess_writes_shards_index_and_resumes(self):
    root = make_ffpp_tree(os.path.join(self.get_temp_dir(), "ffpp"))
    out = os.path.join(self.get_temp_dir(), "records")
    broken = os.path.join(root, "original_sequences/youtube/c23/videos/720.avi")
    with open(broken, "wb") as f:
      f.write(b"not a video")
    videos = datasets.ffpp_videos(root, ["c23"], sampling=datasets.Sampling(2, 2, 1))
    summary = datasets.preprocess(videos, out, "ffpp", detector="haar", size=32,
                                  progress=False)
    self.assertEqual(summary.failures[0][0], broken)
    self.assertEqual((summary.videos_done, summary.frames_written, summary.faces_missed),
                     (8, 16, 0))
    index = records.read_index(out, "ffpp")
    self.assertLen(index["shards"], 8)  # the broken video's shard has no face: not written
    self.assertEqual(index["counts"]["split"], {"test": 6, "train": 6, "val": 4})
    self.assertEqual(index["counts"]["method"], {"Deepfakes": 6, "FaceSwap": 6, "youtube": 4})
    again = datasets.preprocess(videos, out, "ffpp", detector="haar", size=32,
                                progress=False)
    self.assertEqual((again.videos_resumed, again.shards_written, len(again.failures)),
                     (8, 0, 1))


if __name__ == "__main__":
  tf.test.main()
