"""Tests for benchmarks/train_step.py's options: a wrong --modes or --backbones entry is a
usage error naming the choices, before any model is built (the timings themselves take
minutes and are not run here)."""

import os

import pytest
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

  def test_bad_precision_and_jit(self):
    for flag, message in (("--precision=float16", "'float16' is not one of"),
                          ("--jit_compile=2", "list of 0 and 1")):
      result = train_step([flag, "--modes=plain"])
      self.assertEqual(result.returncode, 2)
      self.assertIn(message, result.stderr)
    if not tf.config.list_physical_devices("GPU"):
      result = train_step(["--precision=mixed_float16"])
      self.assertEqual(result.returncode, 2)
      self.assertIn("needs a GPU", result.stderr)


@pytest.mark.slow
class TrainStepRunTest(tf.test.TestCase):

  def test_smallest_run_prints_every_combination(self):
    result = utils.run_python(
        [SCRIPT, "--backbones=small_cnn:32", "--modes=plain,two_gen_bat", "--repeats=1",
         "--warmup=1", "--memory=0", "--g_steps=2", "--generator_width=4",
         "--precision=float32,mixed_bfloat16", "--jit_compile=0,1"],
        check=False, timeout=1200)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("measured peak bfloat16", result.stdout)
    for combination in ("float32 ", "float32 + XLA", "mixed_bfloat16 ",
                        "mixed_bfloat16 + XLA"):
      self.assertIn(f"Two-Gen-BAT                  {combination}", result.stdout)


if __name__ == "__main__":
  tf.test.main()
