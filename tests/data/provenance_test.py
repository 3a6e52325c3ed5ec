"""Tests for dfadv_tf.data.provenance and the re-runs of preprocess and the benchmark
builder: a changed input or option is refused naming it (or rebuilt whole with
restart), shards of other inputs never count as complete, files reachable twice are
read once, and a dataset is written only under its root, by one run at a time."""

import json
import os

import tensorflow as tf

from dfadv_tf import files
from dfadv_tf.data import datasets
from dfadv_tf.data import provenance
from dfadv_tf.data import records
from dfadv_tf.data import synthetic
from tests.testing import faults
from tests.testing import layouts

OPTIONS = datasets.FaceOptions("none", size=24)


def crops_folder(root, per_class=3):
  for top in ("real", "fake"):
    for n in range(per_class):
      layouts.image(os.path.join(root, top, f"{top}{n}.png"), size=20,
                    value=40 if top == "real" else 200)
  return root


def preprocess(root, out, restart=False, **kwargs):
  return datasets.preprocess(datasets.folder_videos(root), out, "mine",
                             kwargs.pop("options", OPTIONS), progress=False,
                             restart=restart, **kwargs)


class PreprocessRerunTest(tf.test.TestCase):

  def test_added_input_is_refused_then_rebuilt_whole_with_restart(self):
    root = crops_folder(os.path.join(self.get_temp_dir(), "in1"))
    out = os.path.join(self.get_temp_dir(), "rec1")
    self.assertEqual(preprocess(root, out).frames_written, 6)
    again = preprocess(root, out)  # same inputs: resumes, writes nothing
    self.assertEqual((again.shards_written, again.videos_resumed), (0, 6))
    layouts.image(os.path.join(root, "real", "real9.png"), size=20, value=40)
    with self.assertRaisesRegex(ValueError, "dataset .*mine was built from other inputs or "
                                r"options \(1 input file\(s\) added: .*real9.png[;)].*pass "
                                "--restart"):
      preprocess(root, out)
    with self.assertRaisesRegex(ValueError, "option margin: 1.3 -> 2.0"):
      preprocess(root, out, options=datasets.FaceOptions("none", size=24, margin=2.0))
    with self.assertRaisesRegex(ValueError, "option image_format: 'png' -> 'jpeg'"):
      preprocess(root, out, image_format="jpeg")
    rebuilt = preprocess(root, out, restart=True)
    self.assertEqual(rebuilt.frames_written, 7)
    self.assertEqual(records.read_index(out, "mine")["records"], 7)
    self.assertEqual(sorted(os.listdir(out)), ["mine"])  # staging swapped in, old gone
    shards = {s["path"] for s in records.read_index(out, "mine")["shards"]}
    on_disk = {os.path.relpath(os.path.join(t, n), os.path.join(out, "mine"))
               for t, _, names in os.walk(os.path.join(out, "mine")) for n in names
               if n.endswith(".tfrecord")}
    self.assertEqual(on_disk, shards)

  def test_shard_names_depend_on_their_inputs(self):
    video = datasets.Video("/x/a.png", "real", "c23", "train", 0, "a")
    one = provenance.shard_name("00000", [video], {"inputs": {"/x/a.png": [1, 2]},
                                                   "options": {}})
    two = provenance.shard_name("00000", [video], {"inputs": {"/x/a.png": [1, 3]},
                                                   "options": {}})
    self.assertNotEqual(one, two)
    self.assertTrue(one.startswith("00000-"))

  def test_symlink_loop_and_twice_reachable_files_are_read_once(self):
    root = crops_folder(os.path.join(self.get_temp_dir(), "in2"))
    os.symlink(".", os.path.join(root, "real", "loop"))
    os.symlink("real0.png", os.path.join(root, "real", "zz_same.png"))
    self.addCleanup(os.remove, os.path.join(root, "real", "loop"))
    warnings = []
    kept = provenance.read_once(datasets.folder_videos(root), warn=warnings.append)
    self.assertLen(kept, 6)
    self.assertLen(warnings, 1)
    self.assertRegex(warnings[0], "^2 input.*skipped: .*loop, .*zz_same.png$")

  def test_dataset_name_must_stay_under_the_root(self):
    root = crops_folder(os.path.join(self.get_temp_dir(), "in3"))
    out = os.path.join(self.get_temp_dir(), "rec3")
    with self.assertRaisesRegex(ValueError, "dataset '../escape' leads outside"):
      datasets.preprocess(datasets.folder_videos(root), out, "../escape", OPTIONS,
                          progress=False)
    self.assertFalse(os.path.exists(os.path.join(self.get_temp_dir(), "escape")))

  def test_a_dataset_being_written_is_locked(self):
    root = crops_folder(os.path.join(self.get_temp_dir(), "in4"))
    out = os.path.join(self.get_temp_dir(), "rec4")
    with faults.lock_held_by_another_process(os.path.join(out, "mine")):
      with self.assertRaisesRegex(BlockingIOError, "dataset .*mine is in use by another "
                                  "run"):
        preprocess(root, out)

  def test_a_sources_file_that_is_not_an_object(self):
    out = os.path.join(self.get_temp_dir(), "rec5", "mine")
    files.atomic_write_text(os.path.join(out, provenance.SOURCES_FILE), "[]")
    with self.assertRaisesRegex(ValueError, "sources.json is not a record of a dataset's "
                                "inputs"):
      provenance.read(out)


class DemoDataRerunTest(tf.test.TestCase):

  def test_another_image_size_is_refused_then_rebuilt(self):
    root = os.path.join(self.get_temp_dir(), "demo")
    small = synthetic.DemoConfig(identities=10, frames=1, image_size=32, codec="jpeg")
    synthetic.make_demo_data(root, "d", small, log=lambda _: None)
    larger = synthetic.DemoConfig(identities=10, frames=1, image_size=48, codec="jpeg")
    with self.assertRaisesRegex(ValueError, r"option image_size: 32 -> 48\); pass "
                                "--restart"):
      synthetic.make_demo_data(root, "d", larger, log=lambda _: None)
    synthetic.make_demo_data(root, "d", larger, log=lambda _: None, restart=True)
    with open(os.path.join(root, "d", provenance.SOURCES_FILE), encoding="utf-8") as f:
      self.assertEqual(json.load(f)["options"]["image_size"], 48)
    self.assertEqual(sorted(os.listdir(root)), ["d"])
    # A benchmark an older renderer left (no record) is refused whatever its size:
    # its fakes are of another renderer version.
    os.remove(os.path.join(root, "d", provenance.SOURCES_FILE))
    for config in (small, larger):
      with self.assertRaisesRegex(ValueError, "without a record of what they were built "
                                  "from .* pass --restart"):
        synthetic.make_demo_data(root, "d", config, log=lambda _: None)
    synthetic.make_demo_data(root, "d", larger, log=lambda _: None, restart=True)
    self.assertTrue(os.path.exists(os.path.join(root, "d", provenance.SOURCES_FILE)))


if __name__ == "__main__":
  tf.test.main()
