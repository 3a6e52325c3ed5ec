"""What a run keeps while it trains: per-epoch checkpoints, the best detector on
validation, the backup that a restarted run resumes from, and TensorBoard."""

import json
import os

import keras
import numpy as np

from dfadv_tf.experiment import data
from dfadv_tf.files import atomic_write, atomic_write_text
from dfadv_tf.training.callbacks import AdversarialTensorBoard

BEST_DETECTOR = "best_detector.keras"


class BestDetectorCheckpoint(keras.callbacks.Callback):
  """Saves `model.detector` alone (atomically) whenever `monitor` improves.

  The best value and epoch go to `<path>.json` with it; `resume=True` starts from
  them (a run restarted by BackupAndRestore keeps the best of its earlier epochs).
  """

  def __init__(self, path, monitor="val_accuracy", resume=False):
    super().__init__()
    self.path = path
    self.monitor = monitor
    self.best = -np.inf
    self.best_epoch = None
    if resume and os.path.exists(path + ".json"):
      with open(path + ".json", encoding="utf-8") as f:
        state = json.load(f)
      self.best, self.best_epoch = state["best"], state["epoch"]

  def on_epoch_end(self, epoch, logs=None):
    value = (logs or {}).get(self.monitor)
    if value is None:
      raise ValueError(f"BestDetectorCheckpoint monitors {self.monitor!r}, which the "
                       f"epoch logs lack (they have {sorted(logs or {})}).")
    if value > self.best:
      self.best, self.best_epoch = float(value), epoch + 1
      atomic_write(self.path, self.model.detector.save)
      atomic_write_text(self.path + ".json", json.dumps(
          {"best": self.best, "epoch": self.best_epoch, "monitor": self.monitor}))


def resumed_epoch(output_dir):
  """The epoch a restarted run resumes at: the epochs completed in the BackupAndRestore
  backup under `output_dir` (0 without one)."""
  path = os.path.join(output_dir, "backup", "training_metadata.json")
  if not os.path.exists(path):
    return 0
  with open(path, encoding="utf-8") as f:
    return int(json.load(f)["epoch"])


def callbacks(config, output_dir, resume=False):
  """Per-epoch checkpoints of the whole training model, the best detector on val
  accuracy, BackupAndRestore (resume after a kill; an epoch cut short is redone from
  its start), TensorBoard scalars plus the adversarial images and sigma maps of a fixed
  validation batch."""
  images, labels = data.validation_batch(config)
  return [
      keras.callbacks.ModelCheckpoint(
          os.path.join(output_dir, "checkpoints", "epoch_{epoch:03d}.keras")),
      BestDetectorCheckpoint(os.path.join(output_dir, BEST_DETECTOR), resume=resume),
      keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup"),
                                       double_checkpoint=True),
      AdversarialTensorBoard(os.path.join(output_dir, "logs"), images, labels,
                             image_freq=config.image_every_epochs),
  ]
