"""Tests for dfadv_tf.experiment.checkpoints: one run per output folder, atomic epoch
checkpoints (a full disk leaves nothing half-written), the backup a killed run resumes
from, and no non-finite detector kept."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf import files
from dfadv_tf.experiment import checkpoints
from dfadv_tf.training import DetectorModel
from tests.testing import data
from tests.testing import faults
from tests.testing import models


def tiny_model(seed=0):
  model = DetectorModel(models.tiny_detector(seed=seed))
  model.compile(optimizer=keras.optimizers.Adam(1e-2))
  return model


def listing(folder):
  return sorted(os.path.relpath(os.path.join(top, n), folder)
                for top, _, names in os.walk(folder) for n in names)


class ClaimTest(tf.test.TestCase):

  def test_a_folder_belongs_to_one_configuration(self):
    out = os.path.join(self.get_temp_dir(), "run")
    config = experiment.ExperimentConfig(output_dir=out, epochs=3)
    with checkpoints.claim(config, out):
      pass
    with checkpoints.claim(config, out):  # the same run again: resumes
      pass
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
      stored = f.read()
    os.makedirs(os.path.join(out, "checkpoints"))
    files.atomic_write_text(os.path.join(out, "checkpoints", "epoch_001.keras"), "x")
    other = experiment.ExperimentConfig(output_dir=out, epochs=5, mode="two_gen_bat")
    with self.assertRaisesRegex(ValueError, f"output_dir {out} holds a run with another "
                                r"configuration \(mode: 'baseline' -> 'two_gen_bat', "
                                r"epochs: 3 -> 5\); .*--restart"):
      with checkpoints.claim(other, out):
        pass
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
      self.assertEqual(f.read(), stored)  # refused before anything was written
    self.assertEqual(listing(out), [files.MANIFEST_FILE, ".lock",
                                    "checkpoints/epoch_001.keras", "config.json"])
    with checkpoints.claim(other, out, restart=True):  # --restart starts over
      self.assertEqual(listing(out), [files.MANIFEST_FILE, ".lock", "config.json"])
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
      self.assertEqual(json.load(f)["mode"], "two_gen_bat")

  def test_restart_removes_only_what_runs_created(self):
    out = os.path.join(self.get_temp_dir(), "users_folder")
    for name in ("logs/mine.txt", "tables/mine.csv", "notes.txt"):  # the user's own
      os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
      files.atomic_write_text(os.path.join(out, name), "keep")
    config = experiment.ExperimentConfig(output_dir=out)
    with checkpoints.claim(config, out, restart=True):  # never held a run
      files.atomic_write_text(os.path.join(out, "results.json"), "{}")
    with checkpoints.claim(config, out, restart=True):
      pass
    self.assertEqual(listing(out), [files.MANIFEST_FILE, ".lock", "config.json",
                                    "logs/mine.txt", "notes.txt", "tables/mine.csv"])

  def test_a_run_that_never_started_is_replaced_by_another_configuration(self):
    out = os.path.join(self.get_temp_dir(), "download_failed")
    with checkpoints.claim(experiment.ExperimentConfig(output_dir=out, weights="imagenet"),
                           out):
      pass  # e.g. the ImageNet download failed here
    with checkpoints.claim(experiment.ExperimentConfig(output_dir=out), out):
      pass
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
      self.assertEqual(json.load(f)["weights"], "none")

  def test_outputs_are_never_written_through_a_symlink(self):
    out = os.path.join(self.get_temp_dir(), "linked_logs")
    elsewhere = os.path.join(self.get_temp_dir(), "elsewhere")
    os.makedirs(out)
    os.makedirs(elsewhere)
    os.symlink(elsewhere, os.path.join(out, "logs"))
    self.addCleanup(os.remove, os.path.join(out, "logs"))
    with self.assertRaisesRegex(OSError, "output_dir .*: logs is a symbolic link .*remove "
                                "the link"):
      with checkpoints.claim(experiment.ExperimentConfig(output_dir=out), out):
        pass
    self.assertFalse(os.path.exists(os.path.join(out, "config.json")))

  def test_config_json_that_is_not_an_object(self):
    out = os.path.join(self.get_temp_dir(), "list_config")
    os.makedirs(os.path.join(out, "checkpoints"))
    files.atomic_write_text(os.path.join(out, "config.json"), "[1, 2]")
    with self.assertRaisesRegex(ValueError, "config.json holds a JSON list, not an object"):
      with checkpoints.claim(experiment.ExperimentConfig(output_dir=out), out):
        pass
    files.atomic_write_text(os.path.join(out, "config.json"), "[" * 100000)
    with self.assertRaisesRegex(ValueError, "config.json is not valid JSON"):
      with checkpoints.claim(experiment.ExperimentConfig(output_dir=out), out):
        pass

  def test_a_folder_in_use_is_refused_and_freed_by_a_crash(self):
    out = os.path.join(self.get_temp_dir(), "busy")
    config = experiment.ExperimentConfig(output_dir=out)
    with faults.lock_held_by_another_process(out) as holder:
      with self.assertRaisesRegex(BlockingIOError, f"output_dir {out} is in use by another "
                                  f"run \\(process {holder.pid}\\)"):
        with checkpoints.claim(config, out):
          pass
      self.assertEqual(listing(out), [".lock"])
      holder.kill()
      holder.wait()
      with checkpoints.claim(config, out):
        self.assertEqual(listing(out), [files.MANIFEST_FILE, ".lock", "config.json"])

  def test_a_killed_writers_temporaries_are_removed(self):
    out = os.path.join(self.get_temp_dir(), "killed")
    os.makedirs(os.path.join(out, "checkpoints"))
    files.atomic_write_text(os.path.join(out, "checkpoints", ".tmp-123epoch_002.keras"), "")
    with checkpoints.claim(experiment.ExperimentConfig(output_dir=out), out):
      self.assertEqual(listing(out), [files.MANIFEST_FILE, ".lock", "config.json"])


class CallbacksTest(tf.test.TestCase):

  def test_epoch_checkpoint_on_a_full_disk_leaves_no_partial_file(self):
    images, labels = data.tiny_arrays(8)
    with faults.tmpfs(size_kb=16) as disk:  # smaller than one checkpoint
      path = os.path.join(disk, "checkpoints", "epoch_{epoch:03d}.keras")
      with self.assertRaises(OSError):
        tiny_model().fit(images, labels, epochs=1, verbose=0,
                         callbacks=[checkpoints.EpochCheckpoint(path)])
      self.assertEqual(listing(disk), [])  # no truncated epoch_001.keras, no temp file

  def test_diverged_epoch_stops_the_run_before_anything_is_saved(self):
    folder = self.get_temp_dir()
    stop = checkpoints.StopOnNonFinite()
    with self.assertRaisesRegex(checkpoints.DivergedError, r"training diverged in epoch 3: "
                                r"\{'val_loss': nan\}.*--restart"):
      stop.on_epoch_end(2, {"loss": 0.5, "val_loss": float("nan"), "accuracy": 0.5})
    stop.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.7})
    model = tiny_model()
    best = checkpoints.BestDetectorCheckpoint(os.path.join(folder, "best.keras"))
    best.set_model(model)
    best.on_epoch_end(0, {"val_accuracy": float("nan")})  # never an improvement
    self.assertIsNone(best.state())
    model.detector.weights[0].assign(tf.fill(model.detector.weights[0].shape, np.nan))
    with self.assertRaisesRegex(checkpoints.DivergedError, "detector of epoch 2 has "
                                "non-finite weights and is not saved as best.keras"):
      best.on_epoch_end(1, {"val_accuracy": 0.75})
    self.assertEqual(os.listdir(folder), [])

  def test_backup_restores_the_model_and_the_best_detector_of_its_epoch(self):
    out = self.get_temp_dir()
    images, labels = data.tiny_arrays(8)
    model = tiny_model()
    best = checkpoints.BestDetectorCheckpoint(os.path.join(out, checkpoints.BEST_DETECTOR),
                                              monitor="accuracy")
    backup = checkpoints.Backup(os.path.join(out, checkpoints.BACKUP), best)
    model.fit(images, labels, epochs=2, verbose=0, callbacks=[best, backup])
    self.assertEqual(os.listdir(os.path.join(out, "backup")), ["epoch_002"])
    self.assertEqual(checkpoints.resumed_epoch(out), 2)
    with open(os.path.join(out, "best_detector.keras.json"), encoding="utf-8") as f:
      best_then = json.load(f)
    # A run killed after it saved a better detector in epoch 3, before its backup:
    files.atomic_write_text(os.path.join(out, "best_detector.keras.json"),
                            json.dumps(dict(best_then, epoch=3)))
    restored = tiny_model(seed=1)
    epoch, state = checkpoints.restore_backup(restored, out)
    self.assertEqual((epoch, state), (2, best_then))
    for a, b in zip(model.weights, restored.weights):  # the optimizer's state too
      self.assertAllClose(a, b, msg=a.path)
    self.assertEqual(int(restored.optimizer.iterations), 2)
    with open(os.path.join(out, "best_detector.keras.json"), encoding="utf-8") as f:
      self.assertEqual(json.load(f), best_then)


if __name__ == "__main__":
  tf.test.main()
