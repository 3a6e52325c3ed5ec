"""Tests for dfadv_tf.experiment.run: one experiment end to end, in-process."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf import files
from dfadv_tf.evaluation import grid
from dfadv_tf.evaluation import metrics as metrics_lib
from dfadv_tf.experiment import checkpoints
from dfadv_tf.experiment import data
from tests.testing import tools as utils


class RunTest(utils.ExperimentTestCase):

  def test_two_gen_bat_end_to_end(self):
    config = self.config(mode="two_gen_bat")
    result = experiment.run_experiment(config, verbose=0)
    out = config.output_dir
    for path in ["config.json", "best_detector.keras", "results.json",
                 "checkpoints/epoch_001.keras", "checkpoints/epoch_002.keras",
                 "tables/cross_method.md", "tables/cross_method.csv",
                 "tables/cross_quality.md"]:
      self.assertTrue(os.path.exists(os.path.join(out, path)), path)
    self.assertNotEmpty([f for f in os.listdir(os.path.join(out, "logs", "train"))
                         if f.startswith("events")])
    self.assertTrue(os.path.isdir(os.path.join(out, "logs", "adversarial")))
    results = result["results"]["+ Two-Gen-BAT"]
    self.assertEqual(sorted(results), ["cross_method", "cross_quality"])
    self.assertEqual(sorted(results["cross_method"]), ["DF c23", "FS c23"])
    self.assertEqual(sorted(results["cross_quality"]), ["FS c40", "FS raw"])
    for metrics in results["cross_method"].values():
      self.assertBetween(metrics["auc"], 0.0, 1.0)
    self.assertIn("| + Two-Gen-BAT |", result["tables"]["cross_method"])
    # ACC at 0.5 and at the thresholds chosen on the training selection's val split.
    detector = keras.saving.load_model(os.path.join(out, "best_detector.keras"))
    val = data.grid_datasets(config, {"val": data.training_selection(config)}, "val")
    labels, scores, videos = grid.predict_scores(detector, val["val"].dataset)
    frame = metrics_lib.balanced_accuracy_threshold(labels, scores)
    video = metrics_lib.balanced_accuracy_threshold(
        *metrics_lib.aggregate_videos(labels, scores, videos)[:2])
    for by_set in results.values():
      for metrics_of_set in by_set.values():
        self.assertEqual(metrics_of_set["threshold"], 0.5)
        self.assertAllClose(metrics_of_set["val_threshold"], frame, atol=1e-6)
        self.assertAllClose(metrics_of_set["video_val_threshold"], video, atol=1e-6)
        self.assertBetween(metrics_of_set["acc_val"], 0.0, 1.0)
        self.assertBetween(metrics_of_set["video_acc_val"], 0.0, 1.0)
    table = result["tables"]["cross_method"]
    self.assertIn("| DF c23 ACC (%) | DF c23 ACC@val (%) |", table)
    self.assertIn(f"*ACC: at threshold 0.5 (the paper's). ACC@val: at the frame-level "
                  "threshold of best balanced accuracy on the validation split of the "
                  f"training selection, per model (+ Two-Gen-BAT {frame:.3g}).*", table)
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
      self.assertEqual(json.load(f), result["results"])
    self.assertIn(result["best_epoch"], (1, 2))
    self.assertContainsSubset({"g_real_loss", "g_fake_loss", "val_accuracy"},
                              set(result["history"]))

  def test_best_detector_is_the_best_validation_epoch(self):
    config = self.config(mode="baseline", epochs=3, learning_rate=1e-2)
    result = experiment.run_experiment(config, verbose=0)
    val = result["history"]["val_accuracy"]
    self.assertEqual(result["best_epoch"], int(np.argmax(val)) + 1)
    best = keras.saving.load_model(os.path.join(config.output_dir, "best_detector.keras"))
    chosen = keras.saving.load_model(os.path.join(
        config.output_dir, "checkpoints", f"epoch_{result['best_epoch']:03d}.keras"))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    self.assertAllClose(best(x), chosen.detector(x), atol=1e-5)

  def test_a_finished_run_is_not_trained_again_and_evaluation_resumes(self):
    config = self.config(mode="baseline", epochs=1)
    first = experiment.run_experiment(config, verbose=0)
    out = config.output_dir
    best = os.path.join(out, "best_detector.keras")
    trained = os.stat(best).st_mtime_ns
    again = experiment.run_experiment(config, verbose=0)  # the same command once more
    self.assertEqual(again["history"], {})
    self.assertEqual(again["results"], first["results"])
    self.assertEqual(again["best_epoch"], first["best_epoch"])
    self.assertEqual(os.stat(best).st_mtime_ns, trained)
    # Killed during its evaluation after the set "FS c23" (its progress file holds it;
    # a marker value shows that it is taken from there, not evaluated again).
    run = config.run_name
    done = {"cross_method": {"FS c23": dict(first["results"][run]["cross_method"]["FS c23"],
                                            auc=0.123)}}
    files.atomic_write_text(os.path.join(out, checkpoints.EVALUATION_PROGRESS),
                            json.dumps(done))
    os.remove(os.path.join(out, "results.json"))
    resumed = experiment.run_experiment(config, verbose=0)["results"][run]
    self.assertEqual(resumed["cross_method"]["FS c23"]["auc"], 0.123)
    self.assertAllClose(resumed["cross_method"]["DF c23"],
                        first["results"][run]["cross_method"]["DF c23"])
    self.assertFalse(os.path.exists(os.path.join(out, checkpoints.EVALUATION_PROGRESS)))
    self.assertEqual(os.stat(best).st_mtime_ns, trained)

  def test_resumed_epoch_and_strategies(self):
    out = self.get_temp_dir()
    self.assertEqual(checkpoints.resumed_epoch(out), 0)
    for name in ("epoch_001", "epoch_002", ".tmp-x-epoch_003"):  # the last: half-written
      os.makedirs(os.path.join(out, "backup", name))
    self.assertEqual(checkpoints.resumed_epoch(out), 2)
    self.assertEqual(experiment.make_strategy("default").num_replicas_in_sync, 1)
    self.assertEqual(experiment.make_strategy("mirrored").num_replicas_in_sync, 2)


if __name__ == "__main__":
  tf.test.main()
