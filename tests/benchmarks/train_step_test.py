"""Tests for benchmarks/train_step.py's options: a wrong --modes or --backbones entry is a
usage error naming the choices, before any model is built (the timings themselves take
minutes and are not run here)."""

import os

import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "train_step.py")


def train_step(args):
  return utils.run_python([SCRIPT, *args], check=False, timeout=60)


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
