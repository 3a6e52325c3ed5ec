"""Tests for benchmarks/reference_compare.py: it skips, saying why, and exits 0 without a
checkout of the reference code or without torch (the timing itself needs the checkout,
which is never vendored, and takes minutes: it is not run here)."""

import os
import tempfile

import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "reference_compare.py")
MODULES = ("kernels.py", "efficientnet.py", "cyclegan.py", os.path.join("radam", "radam.py"))


def compare(args, pythonpath=utils.ROOT):
  return utils.run_python([SCRIPT, *args], check=False, timeout=120, pythonpath=pythonpath)


class ReferenceCompareSkipTest(tf.test.TestCase):

  def assert_skipped(self, result, reason):
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn("reference_compare: skipped:", result.stdout)
    self.assertIn(reason, result.stdout)
    self.assertNotIn("RESULT", result.stdout)

  def test_no_reference_repo(self):
    self.assert_skipped(compare([]), "no --reference_repo given")

  def test_not_a_checkout(self):
    empty = tempfile.mkdtemp(prefix="not-reference-")
    self.assert_skipped(compare([f"--reference_repo={empty}", "--sizes=32"]),
                        "not a checkout of the reference code")

  def test_no_torch(self):
    repo = tempfile.mkdtemp(prefix="fake-reference-")
    for name in MODULES:
      os.makedirs(os.path.dirname(os.path.join(repo, name)), exist_ok=True)
      with open(os.path.join(repo, name), "w", encoding="utf-8") as f:
        f.write("raise AssertionError('the skip must not import the reference')\n")
    hide = tempfile.mkdtemp(prefix="no-torch-")  # `import torch` fails, as without it
    with open(os.path.join(hide, "torch.py"), "w", encoding="utf-8") as f:
      f.write("raise ImportError('no torch here')\n")
    result = compare([f"--reference_repo={repo}", "--threads=1", "--sizes=32"],
                     pythonpath=os.pathsep.join([hide, utils.ROOT]))
    self.assert_skipped(result, "torch is not installed")

  def test_bad_precision(self):
    result = compare(["--precision=float32,float16"])
    self.assertEqual(result.returncode, 2)
    self.assertIn("'float16' is not one of", result.stderr)


if __name__ == "__main__":
  tf.test.main()
