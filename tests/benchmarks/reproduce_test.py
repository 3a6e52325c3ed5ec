"""Tests for benchmarks/reproduce.py: every (mode, seed) trained once, tables, resume."""

import json
import os
import tempfile

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tests.testing import tools as utils

FACE_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")


def write_face_folder(root, per_class=4, size=40):
  """A tiny stand-in of the shared sample's layout: train/ and test/, each with real/
  and fake/<method>/ PNGs (fakes: noisier, so that there is something to learn)."""
  rng = np.random.default_rng(0)
  for split in ("train", "test"):
    for folder in ("real",) + tuple(os.path.join("fake", m) for m in FACE_METHODS):
      os.makedirs(os.path.join(root, split, folder))
      for n in range(per_class * (2 if folder == "real" else 1)):
        image = rng.integers(60, 200, (1, 1, 3)) * np.ones((size, size, 3))
        if folder != "real":
          image = image + rng.normal(0, 40, image.shape)
        cv2.imwrite(os.path.join(root, split, folder, f"roi_{n}.png"),
                    np.clip(image, 0, 255).astype(np.uint8))
  return root

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
    # --tables_only with a third seed pending: the finished runs' tables, nothing trained.
    partial = reproduce([a if a != "--seeds=2" else "--seeds=3" for a in args]
                        + ["--tables_only"]).stdout
    self.assertIn("--tables_only: tables of the 4 finished runs", partial)
    self.assertNotIn("trained in", partial)
    self.assertFalse(os.path.exists(os.path.join(out, "baseline", "seed_2")))
    with open(os.path.join(out, "tables", "cross_method.md"), encoding="utf-8") as f:
      self.assertEqual(f.read(), table)

    # A run folder made with other arguments is not silently reused.
    other = reproduce(args[:-1] + ["--train_args=--epochs=2"], check=False)
    self.assertEqual(other.returncode, 1)
    self.assertIn("seed_0 was trained with other arguments", other.stderr)

  @pytest.mark.slow
  def test_real_faces_suite_with_the_clamp_study(self):  # 7 min busy: 6 dfadv-train runs
    tmp = tempfile.mkdtemp(prefix="real-faces-")
    faces = write_face_folder(os.path.join(tmp, "faces"))
    out = os.path.join(tmp, "runs")
    # The records are made at the size the runs train at (here the tiny flags' 32 px).
    tiny = [f for f in utils.TINY_FLAGS if not f.startswith("--image_size")]
    tiny.append("--image_size=32")
    args = ["--suite=real_faces", f"--faces_root={faces}", "--weights=none",
            "--modes=baseline,two_gen_bat", "--seeds=2", "--train_methods=NeuralTextures",
            "--clamp=paper,low", f"--output_dir={out}", "--train_args=" + " ".join(tiny)]
    first = reproduce(args).stdout
    self.assertIn("preprocessing", first)
    self.assertIn("6 runs (2 modes x 2 seeds x 1 training methods, generator modes x 2 "
                  "sigma bounds)", first)
    self.assertRegex(first, r"estimate: 6 runs to train, about \d+\.\d h \(baseline "
                            r"\d+\.\d\d s, two_gen_bat \d+\.\d\d s a step")
    self.assertRegex(first, r"\[ 2/6\] NeuralTextures two_gen_bat max sigma paper seed 0: "
                            r"trained in \d+ s \(cross-method Avg AUC \d+\.\d\d; clamped: "
                            r"g_fake_clamped \d+%, g_real_clamped \d+%\)")
    tables = os.path.join(out, "NeuralTextures", "tables")
    with open(os.path.join(tables, "cross_method.md"), encoding="utf-8") as f:
      summary = f.read()
    for name in ("| Baseline | 2 |", "| + Two-Gen-BAT (max sigma paper = 1 px) | 2 |",
                 "| + Two-Gen-BAT (max sigma low = 10 px) | 2 |", "DF original AUC (%)",
                 "NT original ACC@val (%)"):
      self.assertIn(name, summary)
    with open(os.path.join(tables, "cross_method_vs_baseline.md"), encoding="utf-8") as f:
      self.assertRegex(f.read(), r"\| \+ Two-Gen-BAT \(max sigma low = 10 px\) \| 2 \| "
                                 r"[+-]\d+\.\d\d ± \d+\.\d\d \([0-2]/2\) \|")
    with open(os.path.join(tables, "clamped.md"), encoding="utf-8") as f:
      clamp = f.read()
    self.assertRegex(clamp, r"\| \+ Two-Gen-BAT \(max sigma paper = 1 px\) \| 1 \| 2 \| "
                            r"\d+\.\d ± \d+\.\d \| \d+\.\d ± \d+\.\d \|")
    self.assertFalse(os.path.exists(os.path.join(tables, "cross_method_video.md")))
    with open(os.path.join(out, "NeuralTextures", "baseline", "seed_1", "config.json"),
              encoding="utf-8") as f:
      config = json.load(f)
    self.assertEqual((config["balance"], config["train_methods"], config["seed"]),
                     ("halves", ["NeuralTextures"], 1))
    # Resumable: nothing is preprocessed or trained again.
    second = reproduce(args).stdout
    self.assertEqual(second.count("done before"), 6)
    self.assertNotIn("preprocessing", second)
    self.assertNotIn("trained in", second)
    # Records of another image size are refused, not silently used.
    other = reproduce(args[:-1] + ["--train_args=" + " ".join(tiny + ["--image_size=48"])],
                      check=False)
    self.assertEqual(other.returncode, 1)
    self.assertIn("its records are 32 px, the flag file trains at 48 px", other.stderr)

  def test_real_faces_suite_skips_without_the_shared_sample(self):
    result = utils.run_python([SCRIPT, "--suite=real_faces"], check=False,
                              DFADV_SHARED=os.path.join(tempfile.mkdtemp(), "absent"))
    self.assertEqual(result.returncode, 0)
    self.assertIn("skipping the real_faces suite: no face sample at", result.stdout)
    result = reproduce(["--suite=real_faces", "--faces_root=/no/such/faces"], check=False)
    self.assertEqual(result.returncode, 2)
    self.assertIn("--faces_root /no/such/faces is not a folder", result.stderr)
    result = reproduce(["--suite=real_faces", "--clamp=tiny"], check=False)
    self.assertIn("--clamp: 'tiny' is neither one of", result.stderr)

  def test_benchmark_of_another_renderer_version_is_refused(self):
    from benchmarks import reproduce as reproduce_lib  # pylint: disable=g-import-not-at-top
    from dfadv_tf.data import provenance  # pylint: disable=g-import-not-at-top
    from dfadv_tf.data import synthetic  # pylint: disable=g-import-not-at-top
    data_root = utils.make_tiny_benchmark(tempfile.mkdtemp(prefix="reproduce-v-"))
    builder = reproduce_lib.ensure_benchmark(data_root, log=lambda _: None)
    self.assertEqual(builder["renderer_version"], synthetic.VERSION)
    # A run recorded on this benchmark is read back; on another one it is refused.
    run = tempfile.mkdtemp(prefix="reproduce-run-")
    flags = ["--mode=baseline"]
    with open(os.path.join(run, reproduce_lib.ARGS_FILE), "w", encoding="utf-8") as f:
      json.dump({"flags": flags, "benchmark": builder}, f)
    self.assertIsNone(reproduce_lib.read_run(run, flags, builder))
    with self.assertRaisesRegex(ValueError, "trained on another benchmark"):
      reproduce_lib.read_run(run, flags, dict(builder, renderer_version=1))
    with open(os.path.join(run, reproduce_lib.ARGS_FILE), "w", encoding="utf-8") as f:
      json.dump(flags, f)  # a run folder written before benchmarks were recorded
    with self.assertRaisesRegex(ValueError, "trained on another benchmark"):
      reproduce_lib.read_run(run, flags, builder)
    # A benchmark written by renderer version 1 (no record of its builder) is refused.
    os.remove(os.path.join(data_root, synthetic.DEFAULT_DATASET, provenance.SOURCES_FILE))
    with self.assertRaisesRegex(ValueError, "renderer version 1 or older"):
      reproduce_lib.ensure_benchmark(data_root, log=lambda _: None)
    with self.assertRaisesRegex(ValueError, "without a record of what they were built "
                                "from .* pass --restart"):
      synthetic.make_demo_data(data_root, synthetic.DEFAULT_DATASET, log=lambda _: None)

  def test_estimate_from_finished_runs(self):
    from benchmarks import reproduce as reproduce_lib  # pylint: disable=g-import-not-at-top
    out = tempfile.mkdtemp(prefix="reproduce-pace-")
    args = reproduce_lib.parse_args(["--suite=real_faces", "--weights=none",
                                     "--modes=baseline,two_gen_bat", "--seeds=3",
                                     "--train_methods=NeuralTextures",
                                     f"--output_dir={out}"])
    todo = reproduce_lib.plan(args)
    self.assertEqual([r.label() for r in todo[:2]],
                     ["NeuralTextures baseline seed 0", "NeuralTextures two_gen_bat seed 0"])
    # Seeds 0 and 1 finished: baseline in 100 and 140 s, Two-Gen-BAT in 1000 and 1200 s
    # (from the start record to train.log); a run without results.json does not count.
    start = 1_700_000_000
    for run, seconds in zip(todo[:5], (100, 1000, 140, 1200, 7)):
      os.makedirs(run.output)
      for name, stamp in ((reproduce_lib.ARGS_FILE, start), ("train.log", start + seconds)):
        path = os.path.join(run.output, name)
        with open(path, "w", encoding="utf-8") as f:
          f.write("{}")
        os.utime(path, (stamp, stamp))
      if seconds != 7:
        with open(os.path.join(run.output, "results.json"), "w", encoding="utf-8") as f:
          f.write("{}")
    measured = reproduce_lib.measured_seconds(todo)
    self.assertEqual(measured, {"baseline": [100.0, 140.0], "two_gen_bat": [1000.0, 1200.0]})
    lines = []
    per_run = reproduce_lib.estimate(todo[4:], measured, lines.append)  # times no step
    self.assertEqual(per_run, {"baseline": 120.0, "two_gen_bat": 1100.0})
    self.assertEqual(len(lines), 1)
    self.assertIn("estimate: 2 runs to train, about 0.3 h (baseline 2.0 min a run, mean of "
                  "2 finished; two_gen_bat 18.3 min a run, mean of 2 finished)", lines[0])
    self.assertEqual(reproduce_lib.time_left(todo[4:], {}, per_run, 5.0), 1220.0)
    self.assertEqual(reproduce_lib.time_left(todo[4:], {"baseline": [60.0]}, {}, 5.0), 65.0)
    self.assertIsNone(reproduce_lib.run_seconds(os.path.join(out, "absent")))

  def test_bad_arguments(self):
    result = reproduce(["--modes=baseline,nope"], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("flags/demo/nope.flags", result.stderr)
    result = reproduce(["--modes=grad_aat"], check=False)
    self.assertIn("baseline", result.stderr)


if __name__ == "__main__":
  tf.test.main()
