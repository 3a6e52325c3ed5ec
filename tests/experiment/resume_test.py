"""Deterministic resume: `tools/train.py --deterministic` killed with SIGKILL in the middle
of epoch 2 and started again with the same flags ends with the weights of an
uninterrupted run (BackupAndRestore restores the model, optimizers and epoch; each
epoch's batches are a function of the seed and the epoch, so the cut epoch replays)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import keras
import pytest
import tensorflow as tf

from dfadv_tf import serving
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
  path = os.path.join(output_dir, "backup", "training_metadata.json")
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)["epoch"]
  except (OSError, ValueError):  # not written yet, or being written
    return 0


def kill_during_epoch_2(command, output_dir):
  """Starts `command`, SIGKILLs it once epoch 1 is backed up; returns its output."""
  process = subprocess.Popen(command, cwd=utils.ROOT, env=environment(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  deadline = time.monotonic() + TIMEOUT_S
  try:
    while completed_epochs(output_dir) < 1:
      if process.poll() is not None or time.monotonic() > deadline:
        raise AssertionError(f"the run ended or hung before epoch 1's backup:\n"
                             f"{process.communicate()[0][-4000:]}")
      time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    return process.communicate(timeout=60)[0]
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()


@pytest.mark.slow
@pytest.mark.ci
class ResumeTest(tf.test.TestCase):

  def test_killed_and_restarted_run_ends_as_an_uninterrupted_one(self):
    tmp = tempfile.mkdtemp(prefix="resume-")
    data_root = utils.make_tiny_benchmark(os.path.join(tmp, "data"))
    whole, resumed = os.path.join(tmp, "whole"), os.path.join(tmp, "resumed")
    uninterrupted = subprocess.Popen(train_command(data_root, whole), cwd=utils.ROOT,
                                     env=environment(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
    try:
      kill_during_epoch_2(train_command(data_root, resumed), resumed)
      self.assertEqual(completed_epochs(resumed), 1)
      self.assertFalse(os.path.exists(os.path.join(resumed, "checkpoints",
                                                   "epoch_002.keras")),
                       "the run was not killed during epoch 2")
      restarted = subprocess.run(train_command(data_root, resumed), cwd=utils.ROOT,
                                 env=environment(), capture_output=True, text=True,
                                 timeout=TIMEOUT_S, check=False)
      self.assertEqual(restarted.returncode, 0, restarted.stderr[-4000:])
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
    with open(os.path.join(whole, "best_detector.keras.json"), encoding="utf-8") as f:
      expected = json.load(f)
    with open(os.path.join(resumed, "best_detector.keras.json"), encoding="utf-8") as f:
      self.assertEqual(json.load(f), expected)
    self.assertFalse(os.path.exists(os.path.join(resumed, "backup")))


if __name__ == "__main__":
  tf.test.main()
