"""One run end to end: strategy -> training mode -> fit -> best detector -> test grids."""

import dataclasses
import json
import os
import shutil
import sys

import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.data import records
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.experiment import checkpoints
from dfadv_tf.experiment import data
from dfadv_tf.experiment import modes
from dfadv_tf.experiment import preflight
from dfadv_tf.experiment.config import STRATEGIES
from dfadv_tf.files import atomic_write_text


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
  training checkpoint rather than a detector (`serving.check_detector`), or takes
  frames of another size than `config.image_size`."""
  source = source or repr(detector.name)
  serving.check_detector(detector, source)
  inputs = getattr(detector, "inputs", None)
  expected = (config.image_size, config.image_size, 3)
  if inputs and tuple(inputs[0].shape[-3:]) != expected:
    raise ValueError(f"{source} takes inputs of shape {tuple(inputs[0].shape[1:])}, but "
                     f"this experiment's images are {expected} (image_size="
                     f"{config.image_size}); pass the image_size it was trained at.")


def recorded_thresholds(source):
  """The {"frame", "video"} validation thresholds that the training run recorded in the
  results.json beside detector file `source` (`run_experiment` writes best_detector.keras
  and results.json in one folder), or None."""
  if not source or not os.path.isfile(str(source)):
    return None
  path = os.path.join(os.path.dirname(os.path.abspath(source)), checkpoints.RESULTS)
  if not os.path.isfile(path):
    return None
  with open(path, encoding="utf-8") as f:
    results = json.load(f)
  for by_grid in results.values():
    for by_set in by_grid.values():
      for metrics in by_set.values():
        if "val_threshold" in metrics and "video_val_threshold" in metrics:
          return {"frame": metrics["val_threshold"],
                  "video": metrics["video_val_threshold"], "source": path}
  return None


def _has_validation_split(config):
  """Whether the training selection has real and fake validation records (an
  evaluation-only dataset, say a test-only labelled folder, has none)."""
  try:
    shards = data.training_selection(config).shards("val")
  except ValueError:  # the dataset has none of the train methods
    return False
  return {s["label"] for s in shards if s["records"]} >= {records.REAL_LABEL,
                                                          records.FAKE_LABEL}


def validation_thresholds(detector, config, source=None):
  """`grid.validation_thresholds` of a detector on the validation split of the training
  selection (every record, in order): {"frame", "video"} fake-probability thresholds of
  best balanced accuracy. Where the dataset has no such split (evaluation-only data),
  the thresholds the detector's training run recorded (`recorded_thresholds`, with
  "source": that results.json), said in one line. None, with a warning, when neither
  can give one (the tables then have no ACC@val column)."""
  if not _has_validation_split(config):
    recorded = recorded_thresholds(source)
    if recorded is not None:
      print(f"NOTE: dataset {config.dataset!r} has no validation split of the training "
            f"selection; ACC@val uses the thresholds recorded by the training run "
            f"({recorded['source']}).", file=sys.stderr)
      return recorded
    print(f"WARNING: dataset {config.dataset!r} has no validation split of the training "
          f"selection and {source or 'the detector'} has no results.json of its training "
          "run beside it: ACC@val is left out.", file=sys.stderr)
    return None
  selection = data.training_selection(config)
  val = data.grid_datasets(config, {"validation": selection}, split="val")["validation"]
  try:
    return grid_lib.validation_thresholds(detector, val.dataset,
                                          f"validation split of {source or 'the detector'}")
  except ValueError as error:
    print(f"WARNING: no validation threshold, the tables have no ACC@val column: {error}",
          file=sys.stderr)
    return None


def evaluate_detector(detector, config, source=None, progress=None):
  """{grid name: {set name: metrics}} of a detector on every grid of `test_grids`
  (`check_detector` first; `source` names the detector in its errors). Every set has
  its ACC at 0.5 ("acc", the paper's) and at the thresholds chosen on the validation
  split (`validation_thresholds`: "acc_val", "video_acc_val"; the thresholds as
  "val_threshold", "video_val_threshold").

  `progress`: a JSON file that records each set as it is evaluated (atomically); the
  sets it already holds are taken from it, not evaluated again (a killed evaluation
  resumes; the thresholds are chosen again, the same for the same detector)."""
  check_detector(detector, config, source)
  done = {}
  if progress and os.path.exists(progress):
    with open(progress, encoding="utf-8") as f:
      done = json.load(f)
  thresholds = None
  results = {}
  for grid_name, sets in data.test_grids(config).items():
    results[grid_name] = {}
    for name, selection in sets.items():
      if name in done.get(grid_name, {}):
        results[grid_name][name] = done[grid_name][name]
        continue
      if thresholds is None:
        thresholds = validation_thresholds(detector, config, source) or {}
      results[grid_name].update(grid_lib.evaluate_grid(
          detector, data.grid_datasets(config, {name: selection}),
          val_thresholds=thresholds or None))
      if progress:
        atomic_write_text(progress, json.dumps(results, indent=1))
  return results


def run_experiment(config, verbose=None, restart=False):
  """Fits `config`'s mode, keeps the best detector on val, evaluates the test grids.

  Checks everything the run needs first (`preflight.check_training`), then owns
  `config.output_dir` (`checkpoints.claim`: one run at a time; a folder of another
  configuration is refused unless `restart`, which starts over). Writes there:
  config.json, checkpoints/, best_detector.keras, logs/ (TensorBoard), tables/*.md|csv,
  results.json (the other workers of a multi-worker run: the same under
  workers/<type>_<index>/). Run again with the same config after a kill at any point,
  it redoes only what was not finished: training resumes from the last complete epoch
  (backup/), a completed training is not redone (training_complete.json), and the
  evaluation skips the test sets already evaluated. Returns {"results", "tables",
  "best_epoch", "history"} (`history`: the epochs this call trained). `verbose` is
  Keras' fit verbosity; None gives a progress bar on a terminal and one line per epoch
  otherwise (logs, CI).
  """
  if verbose is None:
    verbose = 1 if sys.stdout.isatty() else 2
  preflight.check_training(config)
  strategy = make_strategy(config.strategy)
  if config.deterministic:
    tf.config.experimental.enable_op_determinism()
  output_dir = worker_output_dir(strategy, config.output_dir)
  with checkpoints.claim(config, output_dir, restart=restart):
    record = checkpoints.training_record(output_dir)
    history, trained = {}, record is None
    if trained:
      history, record = _train(config, strategy, output_dir, verbose)
    else:  # a kill between the record and the backup's removal leaves the backup
      shutil.rmtree(os.path.join(output_dir, checkpoints.BACKUP), ignore_errors=True)
      if verbose:
        print(f"Training of {output_dir} is complete ({record['epochs']} epochs); "
              "evaluating.")
    results_path = os.path.join(output_dir, checkpoints.RESULTS)
    progress = os.path.join(output_dir, checkpoints.EVALUATION_PROGRESS)
    if not trained and os.path.exists(results_path) and not os.path.exists(progress):
      with open(results_path, encoding="utf-8") as f:
        results = json.load(f)
    else:
      detector = serving.load_detector(os.path.join(output_dir, checkpoints.BEST_DETECTOR))
      results = {config.run_name: evaluate_detector(detector, config, progress=progress)}
      atomic_write_text(results_path, json.dumps(results, indent=2))
      if os.path.exists(progress):
        os.remove(progress)
    tables = grid_lib.write_tables(results, output_dir,
                                   logdir=os.path.join(output_dir, "logs"))
  return {"results": results, "tables": tables, "best_epoch": record["best"]["epoch"],
          "history": history}


def _train(config, strategy, output_dir, verbose):
  """Fits the mode from the newest backup on; returns (history dict, training record)."""
  steps = data.steps_per_epoch(config)
  with strategy.scope():
    model = modes.build_training_model(config, steps)
    initial_epoch, best_state = checkpoints.restore_backup(model, output_dir)
  cbs = checkpoints.callbacks(config, output_dir, best_state)
  history = model.fit(data.train_dataset(config, initial_epoch, steps), epochs=config.epochs,
                      initial_epoch=initial_epoch, steps_per_epoch=steps,
                      validation_data=data.validation_dataset(config),
                      validation_steps=data.validation_steps(config), callbacks=cbs,
                      shuffle=False, verbose=verbose)
  best = next(c for c in cbs if isinstance(c, checkpoints.BestDetectorCheckpoint))
  return history.history, checkpoints.finish_training(output_dir, config, best)
