"""Plain training of a detector (the paper's baseline; augmentation is a data option)."""

import keras

from dfadv_tf.training.base import TrainingModel


@keras.saving.register_keras_serializable(package="dfadv_tf")
class DetectorModel(TrainingModel):
  """Trains `detector` on clean batches: mean CE, one update per batch.

  Args:
    detector: a built `keras.Model`, (B, H, W, 3) float in [-1, 1] -> (B, 2) logits.
  Compile: `compile(optimizer=None, ...)` (default RAdam, paper values).
  Trackers: loss, accuracy, auc.
  """
