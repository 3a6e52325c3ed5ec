"""Tests for dfadv_tf.data.layouts: the one registry of dataset layouts that
dfadv-preprocess reads, each lister on a tiny download in its layout."""

import os

import tensorflow as tf

from dfadv_tf.data import datasets
from dfadv_tf.data import layouts
from tests.testing import layouts as downloads


def summary_of(videos):
  return sorted((v.split, v.method, v.video_id, v.label, v.quality) for v in videos)


class LayoutsTest(tf.test.TestCase):

  def test_registry(self):
    self.assertEqual(layouts.names()[:2], ("ffpp", "dfd"))
    self.assertIn("folder", layouts.names())
    self.assertEqual(layouts.face_crop_layouts(), ("wilddeepfake",))
    for layout in layouts.LAYOUTS.values():
      self.assertTrue(layout.doc, layout.name)
    with self.assertRaisesRegex(ValueError, r"unknown dataset layout 'ff'; expected one "
                                r"of \[.*'ffpp'"):
      layouts.get("ff")
    with self.assertRaisesRegex(ValueError, "dataset layout 'folder' is registered twice"):
      layouts.register("folder", datasets.folder_videos, "again")

  def test_each_lister_reads_its_options(self):
    root = self.get_temp_dir()
    splitting = datasets.Splitting(seed=3)
    sampling = datasets.Sampling(frames=4)
    folder = downloads.folder(os.path.join(root, "folder"))
    self.assertEqual(
        summary_of(layouts.get("folder").videos(layouts.Options(
            folder, sampling=sampling, splitting=splitting))),
        summary_of(datasets.folder_videos(folder, sampling, splitting)))
    celebdf = downloads.celebdf(os.path.join(root, "celebdf"))
    self.assertEqual(
        summary_of(layouts.get("celebdf_v1").videos(layouts.Options(celebdf))),
        summary_of(datasets.celebdf_videos(celebdf, version="v1")))
    for folder in ("original_sequences/actors/c40/videos",
                   "manipulated_sequences/DeepFakeDetection/c40/videos"):
      downloads.clip(os.path.join(root, "dfd", folder, "01__a.mp4"))
    dfd = layouts.get("dfd").videos(layouts.Options(os.path.join(root, "dfd"),
                                                    qualities=["c40"], dfd_frames=3))
    self.assertEqual([(v.quality, dict(v.sampling)["random"]) for v in dfd], [("c40", 3)] * 2)


if __name__ == "__main__":
  tf.test.main()
