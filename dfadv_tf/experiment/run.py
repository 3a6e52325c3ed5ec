"""One run end to end: strategy -> training mode -> fit -> best detector -> test grids."""

import dataclasses
import json
import os
import sys

import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.experiment import checkpoints
from dfadv_tf.experiment import data
from dfadv_tf.experiment import modes
from dfadv_tf.experiment.config import STRATEGIES
from dfadv_tf.files import atomic_write_text
from dfadv_tf.training import TrainingModel


def make_strategy(name):
  """The `tf.distribute` strategy `name` (one of STRATEGIES).

  default: one device. mirrored: every local GPU (or every logical CPU without one).
  multi_worker: `MultiWorkerMirroredStrategy`, cluster and task from the TF_CONFIG
  environment variable; create it before any other TensorFlow op. tpu: `TPUStrategy`
  on the TPU named by TPU_NAME (empty: the Cloud TPU VM's own).
  """
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    devices = (tf.config.list_logical_devices("GPU")
               or tf.config.list_logical_devices("CPU"))
    return tf.distribute.MirroredStrategy([d.name for d in devices])
  if name == "multi_worker":
    if not os.environ.get("TF_CONFIG"):
      raise ValueError("strategy='multi_worker' reads the cluster from the TF_CONFIG "
                       "environment variable, which is not set; expected e.g. "
                       '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                       '"task": {"type": "worker", "index": 0}}')
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == "tpu":
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=os.environ.get("TPU_NAME", ""))
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")


def worker_output_dir(strategy, output_dir):
  """`output_dir` on the chief (or without a cluster); `<output_dir>/workers/<type>_<index>`
  on the other workers of a multi-worker strategy, so that no two write the same file."""
  if getattr(strategy.extended, "should_checkpoint", True):
    return output_dir
  resolver = strategy.cluster_resolver
  return os.path.join(output_dir, "workers", f"{resolver.task_type}_{resolver.task_id}")


def check_detector(detector, config, source=None):
  """ValueError naming `source` (default: the detector's name) when `detector` is a
  training checkpoint rather than a detector, or takes frames of another size than
  `config.image_size`."""
  source = source or repr(detector.name)
  if isinstance(detector, TrainingModel):
    raise ValueError(f"{source} is a whole training model ({type(detector).__name__}, a "
                     "checkpoints/epoch_NNN.keras file); expected a detector such as "
                     f"{checkpoints.BEST_DETECTOR}.")
  inputs = getattr(detector, "inputs", None)
  expected = (config.image_size, config.image_size, 3)
  if inputs and tuple(inputs[0].shape[-3:]) != expected:
    raise ValueError(f"{source} takes inputs of shape {tuple(inputs[0].shape[1:])}, but "
                     f"this experiment's images are {expected} (image_size="
                     f"{config.image_size}); pass the image_size it was trained at.")


def evaluate_detector(detector, config, source=None):
  """{grid name: {set name: metrics}} of a detector on every grid of `test_grids`
  (`check_detector` first; `source` names the detector in its errors)."""
  check_detector(detector, config, source)
  return {grid_name: grid_lib.evaluate_grid(detector, data.grid_datasets(config, sets))
          for grid_name, sets in data.test_grids(config).items()}


def run_experiment(config, verbose=None):
  """Fits `config`'s mode, keeps the best detector on val, evaluates the test grids.

  Writes under `config.output_dir`: config.json, checkpoints/, best_detector.keras,
  logs/ (TensorBoard), tables/*.md|csv, results.json (the other workers of a
  multi-worker run: the same under workers/<type>_<index>/). Run again with the same
  config after a kill, it resumes from the last complete epoch (backup/). Returns
  {"results", "tables", "best_epoch", "history"}. `verbose` is Keras' fit verbosity;
  None gives a progress bar on a terminal and one line per epoch otherwise (logs, CI).
  """
  if verbose is None:
    verbose = 1 if sys.stdout.isatty() else 2
  strategy = make_strategy(config.strategy)
  if config.deterministic:
    tf.config.experimental.enable_op_determinism()
  output_dir = worker_output_dir(strategy, config.output_dir)
  os.makedirs(output_dir, exist_ok=True)
  atomic_write_text(os.path.join(output_dir, "config.json"),
                    json.dumps(dataclasses.asdict(config), indent=2))
  steps = data.steps_per_epoch(config)
  with strategy.scope():
    model = modes.build_training_model(config, steps)
  initial_epoch = checkpoints.resumed_epoch(output_dir)
  val = data.validation_dataset(config)
  cbs = checkpoints.callbacks(config, output_dir, resume=initial_epoch > 0)
  history = model.fit(data.train_dataset(config, initial_epoch, steps), epochs=config.epochs,
                      steps_per_epoch=steps, validation_data=val,
                      validation_steps=data.validation_steps(config), callbacks=cbs,
                      shuffle=False, verbose=verbose)
  best = next(c for c in cbs if isinstance(c, checkpoints.BestDetectorCheckpoint))
  detector = serving.load_detector(os.path.join(output_dir, checkpoints.BEST_DETECTOR))
  results = {config.run_name: evaluate_detector(detector, config)}
  atomic_write_text(os.path.join(output_dir, "results.json"),
                    json.dumps(results, indent=2))
  tables = grid_lib.write_tables(results, output_dir, logdir=os.path.join(output_dir, "logs"))
  return {"results": results, "tables": tables, "best_epoch": best.best_epoch,
          "history": history.history}
