"""Tests for dfadv_tf.evaluation.grid."""

import csv
import glob
import os

import keras
import numpy as np
import tensorflow as tf
from sklearn import metrics as sk

from dfadv_tf.evaluation import grid


def _meta_dataset(labels, values, videos, batch=4, **metadata):
  """Images whose mean pixel encodes the score the detector below gives."""
  images = np.tile(np.asarray(values, np.float32)[:, None, None, None], (1, 4, 4, 3))
  return tf.data.Dataset.from_tensor_slices(
      {"image": images, "label": np.asarray(labels, np.int32),
       "video_id": np.asarray(videos),
       **{k: np.asarray(v) for k, v in metadata.items()}}).batch(batch)


def _mean_detector():
  """logits (0, 4 * mean): fake probability = sigmoid(4 * mean pixel)."""
  inputs = keras.Input((4, 4, 3))
  mean = keras.layers.GlobalAveragePooling2D()(inputs)
  mean = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(4.0 / 3),
                            use_bias=False)(mean)
  logits = keras.layers.Concatenate()([keras.ops.zeros_like(mean), mean])
  return keras.Model(inputs, logits)


class GridTest(tf.test.TestCase):

  def test_evaluate_set_matches_sklearn(self):
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 10)
    values = rng.normal(0.5 * labels - 0.25, 0.5)
    videos = [f"v{i // 2}" for i in range(20)]
    got = grid.evaluate_set(_mean_detector(), _meta_dataset(labels, values, videos))
    probs = 1 / (1 + np.exp(-4 * values))
    self.assertAllClose(got["auc"], sk.roc_auc_score(labels, probs))
    self.assertAllClose(got["acc"], np.mean((probs >= 0.5) == labels))
    self.assertEqual(got["videos"], 10)
    self.assertEqual(got["n"], 20)

  def test_pooled_set_keys_videos_by_dataset_method_and_quality(self):
    # FF++ fake ids recur across methods and qualities: 071_054 is four videos here.
    methods = ["youtube", "youtube", "Deepfakes", "Deepfakes", "FaceSwap", "FaceSwap",
               "FaceSwap", "FaceSwap"]
    qualities = ["c23"] * 6 + ["c40"] * 2
    videos = ["071", "072"] + ["071_054"] * 6
    labels = [0, 0, 1, 1, 1, 1, 1, 1]
    values = [-0.5, -0.4, 0.5, 0.5, -0.5, -0.5, 0.1, 0.1]
    dataset = _meta_dataset(labels, values, videos, method=methods, quality=qualities,
                            dataset=["ffpp"] * 8)
    got = grid.evaluate_set(_mean_detector(), dataset)
    self.assertEqual(got["videos"], 5)
    probs = 1 / (1 + np.exp(-4 * np.array([-0.5, -0.4, 0.5, -0.5, 0.1])))
    self.assertAllClose(got["video_auc"], sk.roc_auc_score([0, 0, 1, 1, 1], probs))
    _, _, keys = grid.predict_scores(_mean_detector(), dataset)
    self.assertEqual(keys[2], "ffpp/Deepfakes/c23/071_054")

  def test_names_and_tables(self):
    self.assertEqual(grid.set_name("NeuralTextures", "c23"), "NT c23")
    self.assertEqual(grid.set_name("MyMethod", "raw"), "MyMethod raw")
    self.assertEqual(grid.set_name(["NeuralTextures"], ["raw", "c23", "c40"]),
                     "NT raw+c23+c40")
    self.assertEqual(grid.set_name(["Deepfakes", "FaceSwap"], ["c23"]), "DF+FS c23")
    self.assertEqual([grid.dataset_name(d) for d in ("ffpp", "dfd", "celebdf", "x")],
                     ["FF++", "DFD", "Celeb-DF", "x"])
    results = {"baseline": {"NT": {"auc": 0.9, "acc": 0.8}, "DF": {"auc": 0.7, "acc": 0.6}},
               "Two-Gen-BAT": {"NT": {"auc": 1.0, "acc": 0.9}, "DF": {"auc": 0.8, "acc": 0.5}}}
    header, rows = grid.table_rows(results)
    self.assertEqual(header, ["Method", "NT AUC (%)", "NT ACC (%)", "DF AUC (%)",
                              "DF ACC (%)", "Avg AUC (%)", "Avg ACC (%)"])
    self.assertAllClose(rows[0][1:], [90, 80, 70, 60, 80, 70])
    self.assertAllClose(rows[1][1:], [100, 90, 80, 50, 90, 70])
    prefix = os.path.join(self.get_temp_dir(), "tables", "cross_method")
    logdir = os.path.join(self.get_temp_dir(), "logs")
    markdown = grid.write_table(results, prefix, "Cross-method", logdir=logdir)
    self.assertIn("| Two-Gen-BAT | 100.00 | 90.00 | 80.00 | 50.00 | 90.00 | 70.00 |",
                  markdown)
    with open(prefix + ".csv", encoding="utf-8") as f:
      table = list(csv.reader(f))
    self.assertEqual(table[0], header)
    self.assertEqual(table[2][0], "Two-Gen-BAT")
    self.assertEqual(glob.glob(os.path.join(os.path.dirname(prefix), ".tmp-*")), [])
    events = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    texts = [value.tensor.string_val[0].decode() for path in events
             for event in tf.compat.v1.train.summary_iterator(path)
             for value in event.summary.value if value.tag.startswith("Cross-method")]
    self.assertLen(texts, 1)  # the Text tab's copy: aligned columns in a fenced block
    self.assertIn("```\nMethod       NT AUC (%)  NT ACC (%)", texts[0])
    self.assertIn("\nTwo-Gen-BAT      100.00       90.00", texts[0])

  def test_text_summary(self):
    markdown = ("### T\n\nnote\n\n| Set | AUC | ACC |\n|---|---|---|\n| FS c23 | 98.50 | "
                "– |\n| Avg | 9.00 | 10.25 |\n\nafter")
    self.assertEqual(grid.text_summary(markdown), (
        "### T\n\nnote\n\n```\nSet       AUC    ACC\n------  -----  -----\n"
        "FS c23  98.50      –\nAvg      9.00  10.25\n```\n\nafter\n"))

  def test_avg_over_every_set_and_no_acc_for_an_auc_only_set(self):
    # Table I's EfficientNet row: NT, DF, F2F, FS, DFD (AUC only), Celeb-DF.
    auc = [98.75, 83.75, 61.15, 43.58, 74.34, 57.48]
    acc = [95.40, 60.42, 51.64, 48.74, 57.00, 57.32]
    names = ["NT c23", "DF c23", "F2F c23", "FS c23", "DFD", "Celeb-DF"]
    metrics = {n: {"auc": a / 100, "acc": c / 100, "report_acc": n != "DFD"}
               for n, a, c in zip(names, auc, acc)}
    header, rows = grid.table_rows({"EfficientNet": metrics})
    self.assertEqual(header[-2:], ["Avg AUC (%)", "Avg ACC (%)"])
    self.assertIsNone(rows[0][header.index("DFD ACC (%)")])
    self.assertAllClose(rows[0][-2:], [69.84, 62.70], atol=0.005)  # the paper's Avg
    markdown = grid.to_markdown(header, rows)
    self.assertIn("| 74.34 | \u2013 | 57.48 |", markdown)
    self.assertIn(",74.3400,,57.4800,", grid.to_csv(header, rows))
    only_auc = {"DFD": {"auc": 0.8, "acc": 0.5, "report_acc": False}}
    self.assertIsNone(grid.table_rows({"m": only_auc})[1][0][-1])
    dataset = _meta_dataset([0, 1], [-0.5, 0.5], ["a", "b"])
    got = grid.evaluate_grid(_mean_detector(), {"DFD": grid.TestSet(dataset, False),
                                                "FS c23": dataset})
    self.assertEqual((got["DFD"]["report_acc"], got["FS c23"]["report_acc"]),
                     (False, True))
    self.assertEqual(got["DFD"]["acc"], 1.0)  # kept in the results

  def test_accuracy_at_the_validation_threshold(self):
    # Validation: reals at mean pixel -0.3, fakes at 0.1 -> the best cut lies between.
    val = _meta_dataset([0, 0, 1, 1], [-0.35, -0.25, 0.05, 0.15], ["r0", "r1", "f0", "f1"])
    thresholds = grid.validation_thresholds(_mean_detector(), val)
    sigmoid = lambda v: 1 / (1 + np.exp(-4 * np.asarray(v)))
    self.assertAllClose(thresholds["frame"], (sigmoid(-0.25) + sigmoid(0.05)) / 2)
    self.assertAllClose(thresholds["video"], thresholds["frame"])  # one frame a video
    # A test set whose scores all shifted below 0.5: ACC 50% at 0.5, 100% at val's cut.
    test = _meta_dataset([0, 0, 1, 1], [-0.4, -0.3, -0.05, -0.02], ["a", "b", "c", "d"])
    got = grid.evaluate_set(_mean_detector(), test, val_thresholds=thresholds)
    self.assertEqual((got["acc"], got["threshold"]), (0.5, 0.5))
    self.assertEqual((got["acc_val"], got["video_acc_val"]), (1.0, 1.0))
    self.assertAllClose(got["val_threshold"], thresholds["frame"])
    self.assertAllClose(got["video_val_threshold"], thresholds["video"])
    self.assertNotIn("acc_val", grid.evaluate_set(_mean_detector(), test))
    # The tables: an ACC@val column per set, a note naming each ACC's threshold.
    other = dict(got, acc_val=0.75, val_threshold=0.25)
    old = {k: v for k, v in got.items() if "val" not in k}  # an older results.json
    results = {"A": {"grid": {"NT": got, "DF": got}},
               "B": {"grid": {"NT": other, "DF": old}}}
    out = self.get_temp_dir()
    markdown = grid.write_tables(results, out)["grid"]
    header = ("| Method | NT AUC (%) | NT ACC (%) | NT ACC@val (%) | DF AUC (%) | DF ACC (%) "
              "| DF ACC@val (%) | Avg AUC (%) | Avg ACC (%) | Avg ACC@val (%) |")
    self.assertIn(header, markdown)
    self.assertIn("| B | 100.00 | 50.00 | 75.00 | 100.00 | 50.00 | \u2013 | 100.00 | 50.00 "
                  "| 75.00 |", markdown)
    self.assertIn(f"*ACC: at threshold 0.5 (the paper's). ACC@val: at the frame-level "
                  f"threshold of best balanced accuracy on the validation split of the "
                  f"training selection, per model (A {thresholds['frame']:.3g}; B 0.25).*",
                  markdown)
    with open(os.path.join(out, "tables", "grid.csv"), encoding="utf-8") as f:
      self.assertEqual(next(csv.reader(f))[3], "NT ACC@val (%)")
    video = grid.write_tables(results, out, level="video")["grid"]
    self.assertIn("| NT AUC (%) | NT ACC (%) | NT ACC@val (%) |", video)
    self.assertIn("ACC@val: at the video-level threshold", video)
    # Results without validation thresholds: the tables of before, and the 0.5 note.
    plain = grid.write_tables({"A": {"grid": {"NT": old}}}, out)["grid"]
    self.assertNotIn("ACC@val", plain)
    self.assertIn("*ACC: at threshold 0.5 (the paper's).*", plain)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "no results for sets"):
      grid.table_rows({"a": {"NT": {"auc": 1, "acc": 1}}, "b": {}})
    pairs = tf.data.Dataset.from_tensor_slices((np.zeros((2, 4, 4, 3), np.float32),
                                                np.array([0, 1]))).batch(2)
    with self.assertRaisesRegex(ValueError, "with_metadata=True"):
      grid.evaluate_set(_mean_detector(), pairs)
    only_fake = _meta_dataset([1, 1], [0.1, 0.2], ["a", "b"])
    with self.assertRaisesRegex(ValueError, "DF c40: .*both classes"):
      grid.evaluate_grid(_mean_detector(), {"DF c40": only_fake})


if __name__ == "__main__":
  tf.test.main()
