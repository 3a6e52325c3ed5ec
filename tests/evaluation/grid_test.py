"""Tests for dfadv_tf.evaluation.grid."""

import csv
import glob
import os

import keras
import numpy as np
import tensorflow as tf
from sklearn import metrics as sk

from dfadv_tf.evaluation import grid


def _meta_dataset(labels, values, videos, batch=4):
  """Images whose mean pixel encodes the score the detector below gives."""
  images = np.tile(np.asarray(values, np.float32)[:, None, None, None], (1, 4, 4, 3))
  return tf.data.Dataset.from_tensor_slices(
      {"image": images, "label": np.asarray(labels, np.int32),
       "video_id": np.asarray(videos)}).batch(batch)


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

  def test_names_and_tables(self):
    self.assertEqual(grid.set_name("NeuralTextures", "c23"), "NT c23")
    self.assertEqual(grid.set_name("MyMethod", "raw"), "MyMethod raw")
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
    self.assertNotEmpty(glob.glob(os.path.join(logdir, "events.out.tfevents.*")))

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
