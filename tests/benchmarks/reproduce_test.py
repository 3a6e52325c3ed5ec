"""Tests for benchmarks/reproduce.py: every (mode, seed) trained once, tables, resume."""

import json
import os
import tempfile

import pytest
import tensorflow as tf

from tests.testing import tools as utils

SCRIPT = os.path.join(utils.ROOT, "benchmarks", "reproduce.py")


def reproduce(args, check=True):
  return utils.run_python([SCRIPT, *args], check=check, timeout=900)


class ReproduceTest(tf.test.TestCase):

  @pytest.mark.slow
  @pytest.mark.ci
  def test_two_modes_two_seeds_tables_and_resume(self):  # ~60 s: 4 dfadv-train runs
    tmp = tempfile.mkdtemp(prefix="reproduce-")
    data_root = utils.make_tiny_benchmark(os.path.join(tmp, "data"))
    out = os.path.join(tmp, "runs")
    args = ["--modes=baseline,grad_aat", "--seeds=2", f"--data_root={data_root}",
            f"--output_dir={out}", "--train_args=" + " ".join(utils.TINY_FLAGS)]
    first = reproduce(args).stdout
    self.assertIn("4 runs (2 modes x 2 seeds)", first)
    for i, (seed, mode) in enumerate([(0, "baseline"), (0, "grad_aat"), (1, "baseline"),
                                      (1, "grad_aat")], start=1):
      self.assertRegex(first, rf"\[ {i}/4\] {mode} seed {seed}: trained in \d+ s "
                              r"\(cross-method Avg AUC \d+\.\d\d, cross-quality Avg AUC ")
      with open(os.path.join(out, mode, f"seed_{seed}", "config.json"),
                encoding="utf-8") as f:
        self.assertEqual(json.load(f)["seed"], seed)
    self.assertIn("| Baseline | 2 |", first)
    self.assertRegex(first, r"\| \+ Grad-AAT \| 2 \| [+-]\d+\.\d\d ± \d+\.\d\d \([0-2]/2\) \|")
    for name in ("cross_method", "cross_quality_vs_baseline", "cross_method_video"):
      for ext in (".md", ".csv"):
        self.assertTrue(os.path.exists(os.path.join(out, "tables", name + ext)), name)
    with open(os.path.join(out, "tables", "cross_method.md"), encoding="utf-8") as f:
      table = f.read()

    # Resume: nothing is retrained, the same tables come out.
    results = os.path.join(out, "grad_aat", "seed_1", "results.json")
    stamp = os.path.getmtime(results)
    second = reproduce(args).stdout
    self.assertEqual(second.count("done before"), 4)
    self.assertNotIn("trained in", second)
    self.assertEqual(os.path.getmtime(results), stamp)
    with open(os.path.join(out, "tables", "cross_method.md"), encoding="utf-8") as f:
      self.assertEqual(f.read(), table)

    # A run folder made with other arguments is not silently reused.
    other = reproduce(args[:-1] + ["--train_args=--epochs=2"], check=False)
    self.assertEqual(other.returncode, 1)
    self.assertIn("seed_0 was trained with other arguments", other.stderr)

  def test_benchmark_of_another_renderer_version_is_refused(self):
    from benchmarks import reproduce as reproduce_lib  # pylint: disable=g-import-not-at-top
    from dfadv_tf.data import synthetic  # pylint: disable=g-import-not-at-top
    data_root = utils.make_tiny_benchmark(tempfile.mkdtemp(prefix="reproduce-v-"))
    builder = reproduce_lib.ensure_benchmark(data_root, log=lambda _: None)
    self.assertEqual(builder["version"], synthetic.VERSION)
    # A run recorded on this benchmark is read back; on another one it is refused.
    run = tempfile.mkdtemp(prefix="reproduce-run-")
    flags = ["--mode=baseline"]
    with open(os.path.join(run, reproduce_lib.ARGS_FILE), "w", encoding="utf-8") as f:
      json.dump({"flags": flags, "benchmark": builder}, f)
    self.assertIsNone(reproduce_lib.read_run(run, flags, builder))
    with self.assertRaisesRegex(ValueError, "trained on another benchmark"):
      reproduce_lib.read_run(run, flags, dict(builder, version=1))
    with open(os.path.join(run, reproduce_lib.ARGS_FILE), "w", encoding="utf-8") as f:
      json.dump(flags, f)  # a run folder written before benchmarks were recorded
    with self.assertRaisesRegex(ValueError, "trained on another benchmark"):
      reproduce_lib.read_run(run, flags, builder)
    # A benchmark written by renderer version 1 (no builder.json) is refused.
    os.remove(os.path.join(data_root, synthetic.DEFAULT_DATASET, synthetic.BUILDER_FILE))
    with self.assertRaisesRegex(ValueError, "renderer version 1 or older"):
      reproduce_lib.ensure_benchmark(data_root, log=lambda _: None)
    with self.assertRaisesRegex(ValueError, "renderer version 1 or older"):
      synthetic.make_demo_data(data_root, synthetic.DEFAULT_DATASET, log=lambda _: None)

  def test_bad_arguments(self):
    result = reproduce(["--modes=baseline,nope"], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("flags/demo/nope.flags", result.stderr)
    result = reproduce(["--modes=grad_aat"], check=False)
    self.assertIn("baseline", result.stderr)


if __name__ == "__main__":
  tf.test.main()
