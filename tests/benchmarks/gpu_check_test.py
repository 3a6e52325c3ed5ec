"""Tests for benchmarks/gpu_check.py: without a GPU it skips, saying so, and exits 0 (the
check itself is for a machine with a GPU: minutes there)."""

import os
import unittest

import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "gpu_check.py")


class GpuCheckSkipTest(tf.test.TestCase):

  @unittest.skipIf(tf.config.list_physical_devices("GPU"), "a GPU is visible: it would run")
  def test_skips_without_gpu(self):
    result = utils.run_python([SCRIPT], check=False, timeout=120, CUDA_VISIBLE_DEVICES="")
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("gpu_check: skipped: TensorFlow sees no GPU", result.stdout)
    self.assertNotIn("| policy |", result.stdout)


if __name__ == "__main__":
  tf.test.main()
