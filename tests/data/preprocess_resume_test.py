"""Preprocessing killed with SIGKILL mid-way and started again writes the shards and index
of an uninterrupted run; the index never lists a half-written shard, and no temporary
file is left once the restarted run ends."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import tensorflow as tf

from dfadv_tf import files
from dfadv_tf.data import records
from tests.testing.tools import ROOT
from tests.testing.video import make_ffpp_tree

TIMEOUT_S = 180
METHODS = ("Deepfakes", "FaceSwap")
SHARDS = 3 * (1 + len(METHODS))  # one video per shard: split x (youtube + methods)


def command(tree, out):
  return [sys.executable, "-m", "tools.preprocess", "--dataset=ffpp", f"--input={tree}",
          f"--data_root={out}", "--face_detector=haar", "--image_size=32", "--frames=3",
          "--test_frames=3", "--test_every=1", "--videos_per_shard=1"]


def environment():
  return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")


def listed_shards(out):
  try:
    with open(os.path.join(out, "ffpp", records.INDEX_FILE), encoding="utf-8") as f:
      return json.load(f)["shards"]
  except (OSError, ValueError):  # not written yet
    return []


def files_under(folder):
  """{relative path: bytes} of every file under `folder` but the lock (which holds its
  last owner's process id)."""
  out = {}
  for top, _, names in os.walk(folder):
    for name in names:
      if name == files.LOCK_FILE:
        continue
      path = os.path.join(top, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, folder)] = f.read()
  return out


@pytest.mark.slow
@pytest.mark.ci
class PreprocessResumeTest(tf.test.TestCase):

  def test_killed_and_restarted_preprocessing_equals_an_uninterrupted_one(self):
    tmp = tempfile.mkdtemp(prefix="preprocess-resume-")
    tree = make_ffpp_tree(os.path.join(tmp, "ffpp"), methods=METHODS, frames=6)
    whole, resumed = os.path.join(tmp, "whole"), os.path.join(tmp, "resumed")
    uninterrupted = subprocess.Popen(command(tree, whole), cwd=ROOT, env=environment(),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
    killed = subprocess.Popen(command(tree, resumed), cwd=ROOT, env=environment(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
      deadline = time.monotonic() + TIMEOUT_S
      while not listed_shards(resumed):
        self.assertIsNone(killed.poll(), "preprocessing ended before its first shard")
        self.assertLess(time.monotonic(), deadline)
        time.sleep(0.02)
      killed.send_signal(signal.SIGKILL)
      killed.wait(timeout=60)
      output = uninterrupted.communicate(timeout=TIMEOUT_S)[0]
      self.assertEqual(uninterrupted.returncode, 0, output[-3000:])
    finally:
      for process in (uninterrupted, killed):
        if process.poll() is None:
          process.kill()
          process.wait()
    listed = listed_shards(resumed)
    self.assertBetween(len(listed), 1, SHARDS - 1)
    expected = files_under(os.path.join(whole, "ffpp"))
    for shard in listed:  # a listed shard is complete
      self.assertEqual(files_under(os.path.join(resumed, "ffpp")).get(shard["path"]),
                       expected[shard["path"]], shard["path"])

    restarted = subprocess.run(command(tree, resumed), cwd=ROOT, env=environment(),
                               capture_output=True, text=True, timeout=TIMEOUT_S,
                               check=False)
    self.assertEqual(restarted.returncode, 0, restarted.stderr[-3000:])
    self.assertIn(f"+{len(listed)} in shards already complete", restarted.stdout)
    self.assertLen(listed_shards(resumed), SHARDS)
    got = files_under(os.path.join(resumed, "ffpp"))
    self.assertEqual(sorted(got), sorted(expected))  # no temporary file left
    for path, data in expected.items():
      self.assertEqual(got[path], data, path)


if __name__ == "__main__":
  tf.test.main()
