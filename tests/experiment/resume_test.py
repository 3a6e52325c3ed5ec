"""Resume after SIGKILL at any point: `tools/train.py --deterministic` killed while it
writes the checkpoint of epoch 2, and again during its final test evaluation, then
started again with the same flags, ends with the weights and results of an
uninterrupted run; no file is ever half-written under its final name, the cut epoch is
redone from its backup (each epoch's batches are a function of the seed and the epoch),
and the run killed in its evaluation is not trained again."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

import keras
import pytest
import tensorflow as tf

from dfadv_tf import files
from dfadv_tf import serving
from dfadv_tf.experiment import checkpoints
from tests.testing import tools as utils

TIMEOUT_S = 240
TRAIN_FLAGS = [*utils.TINY_FLAGS, f"--dataset={utils.DATASET}", "--mode=two_gen_bat",
               "--deterministic", "--seed=5", "--epochs=3", "--steps_per_epoch=24",
               "--train_methods=FaceSwap", "--test_methods=FaceSwap",
               "--test_qualities=c23"]


def train_command(data_root, output_dir):
  return [sys.executable, "-m", "tools.train", *TRAIN_FLAGS, f"--data_root={data_root}",
          f"--output_dir={output_dir}"]


def environment():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=utils.ROOT)
  env.pop("TF_CONFIG", None)
  return env


def completed_epochs(output_dir):
  return checkpoints.resumed_epoch(output_dir)


def incomplete_files(folder):
  """The files under `folder` (temporary ones aside) that are not whole: a `.keras` that
  is no complete zip archive, a `.json` that does not parse."""
  bad = []
  for top, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(top, name)
      if name.startswith(files.TEMP_PREFIX):
        continue
      if name.endswith(".keras"):
        if not zipfile.is_zipfile(path):
          bad.append(path)
          continue
        with zipfile.ZipFile(path) as archive:
          if archive.testzip() is not None:
            bad.append(path)
      elif name.endswith(".json"):
        try:
          with open(path, encoding="utf-8") as f:
            json.load(f)
        except ValueError:
          bad.append(path)
  return bad


def kill_when(command, ready, what):
  """Starts `command` and SIGKILLs it as soon as `ready()` is true (polled every ms);
  returns its output."""
  process = subprocess.Popen(command, cwd=utils.ROOT, env=environment(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  deadline = time.monotonic() + TIMEOUT_S
  try:
    while not ready():
      if process.poll() is not None or time.monotonic() > deadline:
        raise AssertionError(f"the run ended or hung before {what}:\n"
                             f"{process.communicate()[0][-4000:]}")
      time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    return process.communicate(timeout=60)[0]
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()


def writing(folder, name):
  """Whether the temporary file of an atomic write of `name` exists in `folder`."""
  try:
    return any(n.startswith(files.TEMP_PREFIX) and n.endswith(name)
               for n in os.listdir(folder))
  except FileNotFoundError:
    return False


@pytest.mark.slow
@pytest.mark.ci
class ResumeTest(tf.test.TestCase):

  def test_killed_and_restarted_run_ends_as_an_uninterrupted_one(self):
    tmp = tempfile.mkdtemp(prefix="resume-")
    data_root = utils.make_tiny_benchmark(os.path.join(tmp, "data"))
    whole, resumed = os.path.join(tmp, "whole"), os.path.join(tmp, "resumed")
    command = train_command(data_root, resumed)
    uninterrupted = subprocess.Popen(train_command(data_root, whole), cwd=utils.ROOT,
                                     env=environment(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
    try:
      # 1. Killed while it writes checkpoints/epoch_002.keras: nothing half-written.
      checkpoint_dir = os.path.join(resumed, "checkpoints")
      kill_when(command, lambda: writing(checkpoint_dir, "epoch_002.keras"),
                "the checkpoint write of epoch 2")
      self.assertEqual(incomplete_files(resumed), [])
      self.assertFalse(os.path.exists(os.path.join(checkpoint_dir, "epoch_002.keras")))
      self.assertEqual(completed_epochs(resumed), 1)
      # 2. Restarted, then killed in the final evaluation (training is complete).
      record = os.path.join(resumed, checkpoints.TRAINING_RECORD)
      kill_when(command, lambda: os.path.exists(record), "the end of training")
      self.assertFalse(os.path.exists(os.path.join(resumed, "results.json")),
                       "the run was not killed during its evaluation")
      self.assertEqual(incomplete_files(resumed), [])
      trained = {name: os.stat(os.path.join(resumed, name)).st_mtime_ns
                 for name in ("checkpoints/epoch_003.keras", "best_detector.keras")}
      # 3. Restarted: evaluates only.
      restarted = subprocess.run(command, cwd=utils.ROOT, env=environment(),
                                 capture_output=True, text=True, timeout=TIMEOUT_S,
                                 check=False)
      self.assertEqual(restarted.returncode, 0, restarted.stderr[-4000:])
      self.assertIn("is complete (3 epochs); evaluating", restarted.stdout)
      self.assertNotIn("Epoch 3/3", restarted.stdout)
      self.assertEqual({name: os.stat(os.path.join(resumed, name)).st_mtime_ns
                        for name in trained}, trained, "the restarted run trained again")
      output = uninterrupted.communicate(timeout=TIMEOUT_S)[0]
      self.assertEqual(uninterrupted.returncode, 0, output[-4000:])
    finally:
      if uninterrupted.poll() is None:
        uninterrupted.kill()
        uninterrupted.wait()
    last = os.path.join("checkpoints", "epoch_003.keras")
    for a, b in zip(keras.saving.load_model(os.path.join(whole, last)).weights,
                    keras.saving.load_model(os.path.join(resumed, last)).weights):
      self.assertAllClose(a, b, rtol=0, atol=1e-6, msg=a.path)
    best = [serving.load_detector(os.path.join(run, "best_detector.keras"))
            for run in (whole, resumed)]
    for a, b in zip(best[0].weights, best[1].weights):
      self.assertAllClose(a, b, rtol=0, atol=1e-6, msg=a.path)
    read = {}
    for run in (whole, resumed):
      for name in ("best_detector.keras.json", "results.json"):
        with open(os.path.join(run, name), encoding="utf-8") as f:
          read[run, name] = json.load(f)
    self.assertEqual(read[resumed, "best_detector.keras.json"],
                     read[whole, "best_detector.keras.json"])
    self.assertAllClose(read[resumed, "results.json"], read[whole, "results.json"],
                        atol=1e-6)
    for name in ("backup", checkpoints.EVALUATION_PROGRESS):
      self.assertFalse(os.path.exists(os.path.join(resumed, name)), name)
    self.assertEqual([n for _, _, names in os.walk(resumed) for n in names
                      if n.startswith(files.TEMP_PREFIX)], [])


if __name__ == "__main__":
  tf.test.main()
