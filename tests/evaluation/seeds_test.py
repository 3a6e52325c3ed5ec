"""Tests for dfadv_tf.evaluation.seeds: mean +- std over seeds and paired differences."""

import os

import tensorflow as tf

from dfadv_tf.evaluation import seeds


def results(auc_fs, auc_df, acc=0.5):
  """One run's results: two sets of a cross-method grid, one of a cross-quality grid."""
  return {"cross_method": {"FS c23": {"auc": auc_fs, "acc": acc, "video_auc": auc_fs,
                                      "video_acc": acc},
                           "DF c23": {"auc": auc_df, "acc": acc, "video_auc": auc_df,
                                      "video_acc": acc}},
          "cross_quality": {"FS c40": {"auc": auc_fs, "acc": acc, "video_auc": auc_fs,
                                       "video_acc": acc}}}


RUNS = {"baseline": {0: results(1.0, 0.80), 1: results(1.0, 0.90)},
        "two_gen_bat": {0: results(1.0, 0.85), 1: results(0.98, 0.88)}}


class SeedTablesTest(tf.test.TestCase):

  def test_per_seed_average_then_mean_and_std(self):
    values, sets = seeds.per_seed_values(RUNS, "cross_method", ("auc", "acc"))
    self.assertEqual(sets, ["FS c23", "DF c23", "Avg"])
    self.assertAlmostEqual(values["two_gen_bat"][1][("Avg", "auc")], 93.0)
    rows = dict((m, cells) for m, _, cells in seeds.summary_rows(values, sets, ("auc",)))
    mean, std = rows["baseline"][("DF c23", "auc")]
    self.assertAlmostEqual(mean, 85.0)
    self.assertAlmostEqual(std, 7.0710678, places=5)  # sample std of 80, 90
    self.assertAlmostEqual(rows["two_gen_bat"][("Avg", "auc")][0], (92.5 + 93.0) / 2)

  def test_paired_differences_count_the_positive_seeds(self):
    values, sets = seeds.per_seed_values(RUNS, "cross_method", ("auc",))
    (mode, n, cells), = seeds.paired_rows(values, sets, ("auc",), "baseline")
    self.assertEqual((mode, n), ("two_gen_bat", 2))
    mean, std, positive = cells[("DF c23", "auc")]  # +5 and -2
    self.assertAlmostEqual(mean, 1.5)
    self.assertAlmostEqual(std, 4.9497475, places=5)
    self.assertEqual(positive, 1)
    self.assertEqual(cells[("FS c23", "auc")][2], 0)  # 0 and -2: none positive

  def test_acc_at_val_column_when_every_run_has_it(self):
    with_val = {mode: {seed: {"g": {"NT": dict(r["cross_method"]["FS c23"], acc_val=0.6)}}
                       for seed, r in by_seed.items()} for mode, by_seed in RUNS.items()}
    summary = seeds.seed_tables(with_val, "g")["summary"][0]
    self.assertIn("| NT ACC@val (%) |", summary)
    self.assertIn("60.00 ± 0.00", summary)
    self.assertNotIn("ACC@val", seeds.seed_tables(RUNS, "cross_method")["summary"][0])

  def test_markdown_and_csv_tables(self):
    out = self.get_temp_dir()
    names = {"baseline": "Baseline", "two_gen_bat": "+ Two-Gen-BAT"}
    texts = seeds.write_seed_tables(RUNS, out, names)
    self.assertEqual(sorted(texts), ["cross_method", "cross_quality"])
    self.assertIn("| Baseline | 2 | 100.00 ± 0.00 | 50.00 ± 0.00 | 85.00 ± 7.07 | 50.00 ± "
                  "0.00 | 92.50 ± 3.54 | 50.00 ± 0.00 |", texts["cross_method"])
    self.assertIn("| + Two-Gen-BAT | 2 | -1.00 ± 1.41 (0/2) | +0.00 ± 0.00 (0/2) | +1.50 ± "
                  "4.95 (1/2) |", texts["cross_method"])
    with open(os.path.join(out, "tables", "cross_method.csv"), encoding="utf-8") as f:
      header, baseline, _ = f.read().splitlines()
    self.assertTrue(header.startswith("Method,Seeds,FS c23 AUC (%) mean,FS c23 AUC (%) std"))
    self.assertTrue(baseline.startswith("Baseline,2,100.0000,0.0000,50.0000,0.0000,85.0000"))
    with open(os.path.join(out, "tables", "cross_method_vs_baseline.csv"),
              encoding="utf-8") as f:
      header, row = f.read().splitlines()
    self.assertIn("DF c23 AUC (%) diff mean,DF c23 AUC (%) diff std,DF c23 AUC (%) positive",
                  header)
    self.assertIn(",1.5000,4.9497,1,", row)
    seeds.write_seed_tables(RUNS, out, names, level="video")
    for name in ("cross_quality_video.md", "cross_quality_video_vs_baseline.csv"):
      self.assertTrue(os.path.exists(os.path.join(out, "tables", name)))

  def test_one_seed_has_zero_std(self):
    runs = {m: {0: by_seed[0]} for m, by_seed in RUNS.items()}
    text = seeds.seed_tables(runs, "cross_quality")["summary"][0]
    self.assertIn("| baseline | 1 | 100.00 ± 0.00 | 50.00 ± 0.00 |", text)

  def test_errors_name_the_run(self):
    with self.assertRaisesRegex(ValueError, "baseline 'baseline'"):
      seeds.seed_tables({"two_gen_bat": RUNS["two_gen_bat"]}, "cross_method")
    broken = {"baseline": {0: results(1.0, 0.8)},
              "grad_aat": {3: {"cross_method": {"FS c23": {"auc": 1.0, "acc": 1.0}}}}}
    with self.assertRaisesRegex(ValueError, r"grad_aat seed 3 .*\['DF c23'\]"):
      seeds.seed_tables(broken, "cross_method")
    with self.assertRaisesRegex(ValueError, "level"):
      seeds.seed_tables(RUNS, "cross_method", level="clip")
    with self.assertRaisesRegex(ValueError, "no finished runs"):
      seeds.write_seed_tables({}, self.get_temp_dir())


if __name__ == "__main__":
  tf.test.main()
