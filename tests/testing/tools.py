"""Shared fixtures of the binary and experiment tests: a tiny built-in benchmark, tiny
experiment configs, a saved tiny detector, and a subprocess runner for the binaries."""

import os
import subprocess
import sys
import tempfile

import keras
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf.data import synthetic
from dfadv_tf.models.backbones import build_detector

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The shared real-face sample and weights beside the checkout (`../shared`; the
# DFADV_SHARED environment variable names another folder); absent on a fresh clone.
SHARED = os.environ.get("DFADV_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
DATASET = "ffpp_demo"
IMAGE_SIZE = 32
# Overrides that shrink any experiment to a few seconds on 2 CPU cores.
TINY_FLAGS = ["--backbone=small_cnn", "--weights=none", f"--image_size={IMAGE_SIZE}",
              "--batch_size=8", "--epochs=1", "--steps_per_epoch=2", "--val_steps=1",
              "--generator_width=4", "--generator_blocks=1", "--g_steps=1",
              "--kernel_size=3", "--pgd_steps=1", "--sat_steps=1", "--decay_epochs=0"]


def make_tiny_benchmark(root):
  """Writes a 10-identity, 2-frame, 32 px benchmark to `<root>/ffpp_demo`."""
  synthetic.make_demo_data(root, DATASET, synthetic.DemoConfig(identities=10, frames=2,
                                                              image_size=IMAGE_SIZE),
                           log=lambda *a: None)
  return root


def save_tiny_detector(path, image_size=IMAGE_SIZE):
  detector = build_detector("small_cnn", image_size, width=4)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  detector.save(path)
  return detector


def run_python(argv, cwd=ROOT, check=True, timeout=600, pythonpath=ROOT, **env):
  """Runs `python <argv>` with PYTHONPATH=`pythonpath` (+ `env`); returns the
  CompletedProcess (text output); `check`: AssertionError with its output unless it exits 0."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=pythonpath, **env)
  result = subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
  if check and result.returncode != 0:
    raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n"
                         f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
  return result


def run_binary(module, args, cwd=ROOT, check=True):
  """Runs `python -m <module> <args>`; returns the CompletedProcess (text output)."""
  return run_python(["-m", module, *args], cwd=cwd, check=check)


class ExperimentTestCase(tf.test.TestCase):
  """A tiny built-in benchmark for the class and `config(**overrides)`: a tiny
  `ExperimentConfig` on it (small_cnn at 32 px, 2 epochs of 2 steps, tiny generators)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.data_root = make_tiny_benchmark(tempfile.mkdtemp(prefix="benchmark-"))

  def config(self, **overrides):
    values = dict(backbone="small_cnn", image_size=IMAGE_SIZE, batch_size=8,
                  epochs=2, steps_per_epoch=2, val_steps=1, generator_width=4,
                  generator_blocks=1, g_steps=1, kernel_size=3, decay_epochs=0,
                  data_root=self.data_root, dataset=DATASET,
                  train_methods=("FaceSwap",), train_qualities=("c23",),
                  test_methods=("FaceSwap", "Deepfakes"), test_qualities=("raw", "c40"),
                  output_dir=os.path.join(self.get_temp_dir(), "run"))
    values.update(overrides)
    return experiment.ExperimentConfig(**values)

  def tearDown(self):
    keras.mixed_precision.set_global_policy("float32")
    super().tearDown()
