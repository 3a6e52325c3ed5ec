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

  def test_parity_skips_too(self):
    self.assert_skipped(compare(["--parity"]), "no --reference_repo given")

  def test_parity_layer_order(self):
    """The parity copy walks our generator's convs and batch norms in the order torch's
    `pixelKernelGenerator` lists its modules: conv7, BN, 2 x (down conv, BN), 4 per
    ResNet block, 2 x (transposed conv, BN), the head conv."""
    import keras  # pylint: disable=g-import-not-at-top
    from benchmarks import reference_parity  # pylint: disable=g-import-not-at-top
    from dfadv_tf.models.generator import BlurGenerator  # pylint: disable=g-import-not-at-top
    generator = BlurGenerator(width=4, n_blocks=2)
    generator.build((None, 16, 16, 3))
    layers = reference_parity._our_layers(generator)  # pylint: disable=protected-access
    kinds = ["T" if isinstance(l, keras.layers.Conv2DTranspose) else
             "B" if isinstance(l, keras.layers.BatchNormalization) else "C" for l in layers]
    self.assertEqual("".join(kinds), "CB" + "CB" * 2 + "CBCB" * 2 + "TB" * 2 + "C")

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
