"""Tests for benchmarks/xla_cpu.py: its smallest setting prints a row per case with a
ratio, and a bad --backbones value is refused naming it."""

import os
import re

import pytest
import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "xla_cpu.py")


@pytest.mark.slow
class XlaCpuTest(tf.test.TestCase):

  def test_smallest_setting(self):
    result = utils.run_python([SCRIPT, "--size=8", "--channels=4", "--batch=2",
                               "--repeats=1", "--backbones=small_cnn:32"],
                              check=False, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    rows = [line for line in result.stdout.splitlines()
            if re.search(r"\| [0-9.]+x \|$", line)]
    self.assertLen(rows, 4, result.stdout)
    self.assertIn("depthwise3x3", rows[0])
    self.assertIn("small_cnn detector, 32 px", rows[3])


class XlaCpuArgumentsTest(tf.test.TestCase):

  def test_bad_backbone_spec(self):
    result = utils.run_python([SCRIPT, "--backbones=efficientnetb0"], check=False,
                              timeout=120)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("--backbones: 'efficientnetb0' is not NAME:SIZE", result.stderr)

  def test_unknown_backbone(self):
    result = utils.run_python([SCRIPT, "--backbones=resnet9:64"], check=False, timeout=120)
    self.assertEqual(result.returncode, 2, result.stderr[-2000:])
    self.assertIn("--backbones: unknown backbone 'resnet9'", result.stderr)
    self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
  tf.test.main()
