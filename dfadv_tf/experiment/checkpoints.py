"""What a run keeps while it trains, and how a killed run takes up where it stopped.

Under `output_dir` (every file written atomically, `dfadv_tf.files`):

- `config.json`: the run's configuration; a restart with another one is refused
  (`claim`), naming the fields that differ, unless it asks to start over.
- `.lock`: held (flock) by the process that runs in the folder; a second run into it is
  refused while the first lives, and a crashed owner releases it.
- `checkpoints/epoch_NNN.keras`: the whole training model after each epoch.
- `best_detector.keras` (+ `.json`: value, epoch, monitor): the detector alone, at its
  best validation accuracy; never a detector with non-finite weights.
- `backup/epoch_NNN/`: what a restarted run resumes from (weights and optimizer state,
  the best-detector state and a copy of the best detector as of that epoch), one folder
  published whole per epoch; replaces Keras' `BackupAndRestore`, which writes its files
  in place (a kill while it writes leaves weights and epoch count out of step).
- `training_complete.json`: written once the last epoch is done, before the backup is
  removed; a restarted run then skips training and only evaluates.
- `evaluation_progress.json`: the test sets evaluated so far (a restarted evaluation
  skips them); removed once `results.json` is written.
"""

import dataclasses
import glob
import json
import os
import re
import shutil

import keras
import numpy as np

from dfadv_tf import files
from dfadv_tf.experiment import config as config_lib
from dfadv_tf.experiment import data
from dfadv_tf.experiment import modes
from dfadv_tf.training.callbacks import AdversarialTensorBoard

BEST_DETECTOR = "best_detector.keras"
CONFIG_FILE = "config.json"
TRAINING_RECORD = "training_complete.json"
EVALUATION_PROGRESS = "evaluation_progress.json"
RESULTS = "results.json"
BACKUP = "backup"
WORKERS = "workers"
# Everything a run writes in its folder, config.json last (removed by a restart).
OUTPUTS = ("checkpoints", BEST_DETECTOR, BEST_DETECTOR + ".json", BACKUP, "logs", "tables",
           RESULTS, TRAINING_RECORD, EVALUATION_PROGRESS, WORKERS, CONFIG_FILE)
# What shows that a run has started (more than its config.json): a folder without any
# of these holds no run yet, so another configuration simply replaces its config.json.
STARTED = ("checkpoints", BACKUP, BEST_DETECTOR, TRAINING_RECORD, RESULTS,
           EVALUATION_PROGRESS)
# Fields that may differ between a run and its restart (where the folder is).
_UNCOMPARED = ("output_dir",)


class DivergedError(ValueError):
  """Training produced a non-finite loss or detector."""


def _read_json(path):
  try:
    with open(path, encoding="utf-8") as f:
      value = json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
    raise ValueError(f"{path} is not valid JSON ({type(e).__name__}); it was not written "
                     "by this project (whose files appear whole or not at all).") from None
  if not isinstance(value, dict):
    raise ValueError(f"{path} holds a JSON {type(value).__name__}, not an object of "
                     "configuration fields; it was not written by this project.")
  return value


# ---- ownership of the output folder --------------------------------------------------

def config_differences(stored, config):
  """{field: (stored value, new value)} of the fields (but `output_dir`) where `config`
  differs from a stored `config.json` dict; a field that the stored file lacks counts
  as its default; a stored mode's old name counts as its new one, a renamed field as
  its new one (`config.RENAMED`)."""
  stored = config_lib.renamed_to_new(stored)
  if "mode" in stored:
    stored = dict(stored, mode=modes.MODES.canonical(stored["mode"]))
  new = json.loads(json.dumps(dataclasses.asdict(config)))
  defaults = json.loads(json.dumps(dataclasses.asdict(type(config)())))
  return {name: (stored.get(name, defaults.get(name)), value)
          for name, value in new.items()
          if name not in _UNCOMPARED and stored.get(name, defaults.get(name)) != value}


def clear_outputs(output_dir):
  """Removes what runs of this project created under `output_dir` (the names of
  `OUTPUTS` recorded in its `files.Manifest`, config.json last, so that a restart
  killed half-way is still refused without --restart); the user's own files there
  (a `logs/` that was there before the first run, ...) stay."""
  files.Manifest(output_dir).clear(order=(CONFIG_FILE,))


def _started(output_dir):
  return any(os.path.lexists(os.path.join(output_dir, n)) for n in STARTED)


class claim:  # pylint: disable=invalid-name
  """`with claim(config, output_dir, restart=False):` owns `output_dir` for one run.

  Takes the folder's lock (`files.OutputLock`: BlockingIOError while another process
  holds it), then compares `config` with the `config.json` found there: a folder of
  another configuration is refused (ValueError naming the differing fields) before
  anything is written, unless `restart`, which removes the old run's outputs first
  (only those a run created: `files.Manifest`), or unless that run never started
  (nothing of `STARTED`: e.g. the ImageNet download failed), whose config.json is
  replaced. Then records the outputs this run creates, removes the temporary files of
  killed writers and writes `config.json`. The lock is released when the block ends
  (or the process dies).
  """

  def __init__(self, config, output_dir, restart=False):
    self.config, self.output_dir, self.restart = config, output_dir, restart
    self.lock = files.OutputLock(output_dir, "output_dir")

  def __enter__(self):
    self.lock.acquire()
    try:
      files.refuse_symlinks(self.output_dir, OUTPUTS)
      path = os.path.join(self.output_dir, CONFIG_FILE)
      stored = _read_json(path) if os.path.exists(path) and not self.restart else None
      if stored is not None and _started(self.output_dir):
        differences = config_differences(stored, self.config)
        if differences:
          listed = ", ".join(f"{name}: {old!r} -> {new!r}"
                             for name, (old, new) in differences.items())
          raise ValueError(f"output_dir {self.output_dir} holds a run with another "
                           f"configuration ({listed}); rerun with its flags to resume it, "
                           "pass --restart to discard it and start over, or choose another "
                           "--output_dir.")
      if self.restart:
        clear_outputs(self.output_dir)
      files.Manifest(self.output_dir).claim(OUTPUTS, legacy=CONFIG_FILE)
      files.remove_temporaries(self.output_dir, skip=(WORKERS,))
      files.atomic_write_text(path, json.dumps(dataclasses.asdict(self.config), indent=2))
    except BaseException:
      self.lock.release()
      raise
    return self

  def __exit__(self, *exc):
    self.lock.release()
    return False


# ---- callbacks -----------------------------------------------------------------------

def _non_finite(logs):
  """{name: value} of the non-finite numbers in Keras' epoch logs."""
  bad = {}
  for name, value in (logs or {}).items():
    try:
      values = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
      continue
    if not np.all(np.isfinite(values)):
      bad[name] = float(values[~np.isfinite(values)][0])
  return bad


class StopOnNonFinite(keras.callbacks.Callback):
  """Raises `DivergedError` at the end of an epoch whose logs (loss, val_loss, ...) hold
  a non-finite value, naming the epoch and the values; runs before the callbacks that
  save, so nothing of that epoch is kept. (Each training step also refuses non-finite
  inputs and losses by itself, naming the step: `dfadv_tf.training.base`.)"""

  def on_epoch_end(self, epoch, logs=None):
    bad = _non_finite(logs)
    if bad:
      raise DivergedError(
          f"training diverged in epoch {epoch + 1}: {bad} ({_ADVICE}).")


_ADVICE = ("nothing of this epoch was saved; lower the learning rates or check the "
           "training data for non-finite values, then start over with --restart")


class EpochCheckpoint(keras.callbacks.Callback):
  """Saves the whole training model after every epoch as `path.format(epoch=N)`
  (1-based), atomically (Keras' `ModelCheckpoint` writes in place)."""

  def __init__(self, path):
    super().__init__()
    self.path = path

  def on_epoch_end(self, epoch, logs=None):
    files.atomic_write(self.path.format(epoch=epoch + 1), self.model.save)


def finite_weights(model):
  """Whether every weight of `model` is finite."""
  return all(np.all(np.isfinite(np.asarray(w))) for w in model.weights
             if np.issubdtype(np.asarray(w).dtype, np.floating))


class BestDetectorCheckpoint(keras.callbacks.Callback):
  """Saves `model.detector` alone (atomically) whenever `monitor` improves.

  The best value and epoch go to `<path>.json` with it. A non-finite value never
  improves, and a detector with non-finite weights is refused (`DivergedError`), so the
  saved detector is always finite. `state` (e.g. a backup's, `restore_backup`) starts
  from an earlier run's best.
  """

  def __init__(self, path, monitor="val_accuracy", state=None):
    super().__init__()
    self.path = path
    self.monitor = monitor
    self.best = -np.inf
    self.best_epoch = None
    if state:
      self.best, self.best_epoch = state["best"], state["epoch"]

  def state(self):
    """{"best", "epoch", "monitor"} (None before the first improvement)."""
    if self.best_epoch is None:
      return None
    return {"best": self.best, "epoch": self.best_epoch, "monitor": self.monitor}

  def on_epoch_end(self, epoch, logs=None):
    value = (logs or {}).get(self.monitor)
    if value is None:
      raise ValueError(f"BestDetectorCheckpoint monitors {self.monitor!r}, which the "
                       f"epoch logs lack (they have {sorted(logs or {})}).")
    if np.isfinite(value) and value > self.best:
      if not finite_weights(self.model.detector):
        raise DivergedError(f"the detector of epoch {epoch + 1} has non-finite weights "
                            f"and is not saved as {os.path.basename(self.path)} "
                            f"({_ADVICE}).")
      self.best, self.best_epoch = float(value), epoch + 1
      files.atomic_write(self.path, self.model.detector.save)
      files.atomic_write_text(self.path + ".json", json.dumps(self.state()))


class Backup(keras.callbacks.Callback):
  """After every epoch, publishes `<backup_dir>/epoch_NNN/` whole (`files.atomic_folder`):
  the model's weights with its optimizers' state, `state.json` (epoch, best-detector
  state) and the best detector's files as they are then; then removes older epochs.
  `restore_backup` reads the newest."""

  def __init__(self, backup_dir, best):
    super().__init__()
    self.backup_dir, self.best = backup_dir, best

  def on_epoch_end(self, epoch, logs=None):
    path = os.path.join(self.backup_dir, f"epoch_{epoch + 1:03d}")

    def write(folder):
      self.model.save_weights(os.path.join(folder, "model.weights.h5"))
      for name in (BEST_DETECTOR, BEST_DETECTOR + ".json"):
        source = os.path.join(os.path.dirname(self.best.path), name)
        if os.path.exists(source):
          _link_or_copy(source, os.path.join(folder, name))
      files.atomic_write_text(os.path.join(folder, "state.json"),
                              json.dumps({"epoch": epoch + 1, "best": self.best.state()}))

    files.atomic_folder(path, write, overwrite=True)
    for old in _backups(self.backup_dir)[:-1]:
      shutil.rmtree(old, ignore_errors=True)


def _link_or_copy(source, target):
  """A hard link (the source is only ever replaced, never changed in place), or a copy
  where the file system has none."""
  try:
    os.link(source, target)
  except OSError:
    shutil.copyfile(source, target)


def _backups(backup_dir):
  """The complete epoch folders of `backup_dir`, oldest first."""
  return sorted(p for p in glob.glob(os.path.join(backup_dir, "epoch_[0-9][0-9][0-9]*"))
                if re.fullmatch(r"epoch_\d{3,}", os.path.basename(p)))


def resumed_epoch(output_dir):
  """The epoch a restarted run resumes at: the epochs completed in the newest backup
  under `output_dir` (0 without one)."""
  backups = _backups(os.path.join(output_dir, BACKUP))
  return int(os.path.basename(backups[-1])[len("epoch_"):]) if backups else 0


def restore_backup(model, output_dir):
  """Loads the newest backup under `output_dir` into `model` (weights and optimizer
  state) and puts the best detector's files back as they were at that epoch (a run
  killed after saving a better detector but before its backup redoes that epoch).
  Returns (completed epochs, best-detector state or None); (0, None) without a backup."""
  backups = _backups(os.path.join(output_dir, BACKUP))
  if not backups:
    return 0, None
  folder = backups[-1]
  state = _read_json(os.path.join(folder, "state.json"))
  model.load_weights(os.path.join(folder, "model.weights.h5"))
  for name in (BEST_DETECTOR, BEST_DETECTOR + ".json"):
    saved, live = os.path.join(folder, name), os.path.join(output_dir, name)
    if os.path.exists(saved):
      files.atomic_write(live, lambda temp, saved=saved: shutil.copyfile(saved, temp))
    elif os.path.exists(live):
      os.remove(live)
  return int(state["epoch"]), state["best"]


def training_record(output_dir):
  """The `training_complete.json` of `output_dir` ({"epochs", "best"}), or None while
  training is not complete."""
  path = os.path.join(output_dir, TRAINING_RECORD)
  return _read_json(path) if os.path.exists(path) else None


def finish_training(output_dir, config, best):
  """Records that training is complete (`training_complete.json`), then removes the
  backup; returns the record."""
  if best.state() is None:
    raise DivergedError(f"no epoch of {config.epochs} had a finite {best.monitor}; no "
                        f"detector was saved ({_ADVICE}).")
  record = {"epochs": config.epochs, "best": best.state()}
  files.atomic_write_text(os.path.join(output_dir, TRAINING_RECORD), json.dumps(record))
  shutil.rmtree(os.path.join(output_dir, BACKUP), ignore_errors=True)
  return record


def callbacks(config, output_dir, best_state=None):
  """The callbacks of a run, in the order they run at an epoch's end: the non-finite
  stop, the epoch checkpoint, the best detector on val accuracy, the backup, and
  TensorBoard (scalars plus the adversarial images and sigma maps of a fixed validation
  batch). `best_state`: the best-detector state of a restored backup."""
  images, labels = data.validation_batch(config)
  best = BestDetectorCheckpoint(os.path.join(output_dir, BEST_DETECTOR), state=best_state)
  return [
      StopOnNonFinite(),
      EpochCheckpoint(os.path.join(output_dir, "checkpoints", "epoch_{epoch:03d}.keras")),
      best,
      Backup(os.path.join(output_dir, BACKUP), best),
      AdversarialTensorBoard(os.path.join(output_dir, "logs"), images, labels,
                             image_freq=config.image_every_epochs),
  ]
