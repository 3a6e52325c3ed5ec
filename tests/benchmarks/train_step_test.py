"""Tests for benchmarks/train_step.py's options: a wrong --modes or --backbones entry is a
usage error naming the choices, before any model is built (the timings themselves take
minutes and are not run here)."""

import os
import subprocess
import sys

import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "train_step.py")


def train_step(args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=utils.ROOT)
  return subprocess.run([sys.executable, SCRIPT, *args], cwd=utils.ROOT, env=env,
                        capture_output=True, text=True, timeout=60, check=False)


class TrainStepOptionsTest(tf.test.TestCase):

  def test_unknown_mode(self):
    result = train_step(["--modes=plain,two_gen"])
    self.assertEqual(result.returncode, 2)
    self.assertIn("unknown --modes ['two_gen']", result.stderr)
    self.assertIn("two_gen_bat", result.stderr)

  def test_backbone_without_size(self):
    result = train_step(["--backbones=efficientnetb0", "--modes=plain"])
    self.assertEqual(result.returncode, 2)
    self.assertIn("is not name:image_size", result.stderr)


if __name__ == "__main__":
  tf.test.main()
