"""Tests for benchmarks/first_step.py: its smallest setting runs and prints each part."""

import os

import pytest
import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "first_step.py")


@pytest.mark.slow
class FirstStepTest(tf.test.TestCase):

  def test_smallest_setting(self):
    result = utils.run_python([SCRIPT, "--size=32", "--batch=4", "--g_steps=1"],
                              check=False, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    for part in ("tracing", "first call", "steady", "first step"):
      self.assertIn(part, result.stdout)

  def test_unknown_mode(self):
    result = utils.run_python([SCRIPT, "--mode=gan"], check=False, timeout=60)
    self.assertEqual(result.returncode, 2)
    self.assertIn("invalid choice", result.stderr)


if __name__ == "__main__":
  tf.test.main()
