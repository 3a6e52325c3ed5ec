"""Tests of dfadv_tf.precision: the "auto" dtype policy from the processor's flags."""

import keras
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf import precision
from tests.testing import tools as utils

# Abridged /proc/cpuinfo texts of real processors.
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8
"""
COOPER_LAKE = "flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"
GRAVITON = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


class ResolvePolicyTest(tf.test.TestCase):

  def test_auto_from_cpu_flags(self):
    cases = [(SAPPHIRE_RAPIDS, "mixed_bfloat16", "amx_bf16, avx512_bf16"),
             (COOPER_LAKE, "mixed_bfloat16", "avx512_bf16"),
             (SKYLAKE, "float32", "none of the bfloat16 flags"),
             (GRAVITON, "float32", "none of the bfloat16 flags"),
             ("", "float32", "none of the bfloat16 flags")]
    for cpuinfo, policy, why in cases:
      got, reason = precision.resolve_policy("auto", cpuinfo=cpuinfo, gpus=False)
      self.assertEqual(got, policy, cpuinfo)
      self.assertIn(why, reason)

  def test_gpu_and_explicit_policies(self):
    self.assertEqual(precision.resolve_policy("auto", SAPPHIRE_RAPIDS, gpus=True)[0],
                     "float32")
    for policy in ("float32", "mixed_bfloat16", "mixed_float16"):
      self.assertEqual(precision.resolve_policy(policy, SKYLAKE, gpus=False),
                       (policy, "set by --mixed_precision"))

  def test_this_machine(self):
    flags = precision.cpu_flags()
    policy, _ = precision.resolve_policy("auto")
    if tf.config.list_physical_devices("GPU") or not flags & {"amx_bf16", "avx512_bf16"}:
      self.assertEqual(policy, "float32")
    else:
      self.assertEqual(policy, "mixed_bfloat16")


class AutoPolicyRunTest(utils.ExperimentTestCase):

  def test_training_model_runs_under_the_resolved_policy(self):
    try:
      # absl's own logger: another test may have set its level above INFO.
      with self.assertLogs(logger="absl", level="INFO") as logs:
        experiment.build_training_model(self.config(mixed_precision="auto"), steps=1)
      want, why = precision.resolve_policy("auto")
      self.assertEqual(keras.config.dtype_policy().name, want)
      self.assertTrue(any(f"dtype policy {want} ({why})" in line for line in logs.output))
    finally:
      keras.config.set_dtype_policy("float32")


if __name__ == "__main__":
  tf.test.main()
