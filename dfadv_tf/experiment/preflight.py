"""Everything a run needs, checked before its first batch (in seconds, writing nothing).

`check_training(config)` (called by `run_experiment`) and `check_evaluation(config)`
(`run_experiment` before its final evaluation is not enough: `dfadv-evaluate` calls it
first) raise one ValueError / OSError naming the input and what was expected:

- sizes: `image_size` at least the backbone's minimum (`backbones.MIN_IMAGE_SIZE`),
  larger than half the blur window where a blur adversary runs (`kernel_size`), a
  multiple of 4 for the generators (two stride-2 stages);
- files: a weights file that exists; an `output_dir` that can be written;
- data (from the datasets' indexes, with every selected shard present on disk): every
  train method at every train quality has train records, real ones too; the
  validation split has real and fake records; every set of every test grid (Table I's
  methods, Table II's qualities, each extra dataset) has real and fake test records, the
  metrics (AUC, AP, EER) need both.
"""

import os

from dfadv_tf import files
from dfadv_tf.data import records
from dfadv_tf.experiment import data
from dfadv_tf.experiment import modes
from dfadv_tf.models import backbones

_CLASS_NAMES = {records.REAL_LABEL: "real", records.FAKE_LABEL: "fake"}


def check_sizes(config):
  """`image_size` against the backbone, the blur window and the generators."""
  family = backbones.get(config.backbone).family
  low = backbones.MIN_IMAGE_SIZE.get(family, 1)
  if config.image_size < low:
    raise ValueError(f"image_size {config.image_size} is too small for backbone "
                     f"{config.backbone!r}: {family} needs at least {low} pixels.")
  mode = modes.get(config.mode)
  if mode.blurs and config.image_size <= config.kernel_size // 2:
    raise ValueError(f"kernel_size {config.kernel_size} is too large for image_size "
                     f"{config.image_size}: the blur's reflect padding needs image_size > "
                     f"kernel_size // 2 = {config.kernel_size // 2}.")
  if mode.generators and config.image_size % 4:
    raise ValueError(f"image_size {config.image_size} must be a multiple of 4 in mode "
                     f"{config.mode!r} (the blur generators downsample twice by 2).")


def _counts(selection, split):
  """{(method, quality): {label: records}} of `selection`'s `split`."""
  counts = {}
  for shard in selection.shards(split):
    key = (shard["method"], shard["quality"])
    by_label = counts.setdefault(key, {})
    by_label[shard["label"]] = by_label.get(shard["label"], 0) + shard["records"]
  return counts


def _labels(counts):
  return {label for by_label in counts.values() for label, n in by_label.items() if n}


def _where(selection):
  return f"dataset {selection.dataset!r} at {selection.root}"


def check_both_classes(selection, split, what):
  """ValueError naming `what` unless `selection`'s `split` has real and fake records."""
  missing = [name for label, name in _CLASS_NAMES.items()
             if label not in _labels(_counts(selection, split))]
  if missing:
    methods = "every method" if selection.methods is None else list(selection.methods)
    qualities = "every quality" if selection.qualities is None else list(
        selection.qualities)
    raise ValueError(f"{what}: {_where(selection)} has no {' and no '.join(missing)} "
                     f"{split} records for methods {methods} at qualities {qualities}; "
                     "evaluation and model selection need both classes.")


def check_training_data(config):
  """The training selection: every train method and the real videos at every train
  quality in the train split; both classes in the validation split."""
  selection = data.training_selection(config)
  counts = _counts(selection, "train")
  real = data.real_methods(config)
  for quality in config.train_qualities:
    for method in config.train_methods:
      if not counts.get((method, quality)):
        have = sorted(q for m, q in counts if m == method)
        raise ValueError(f"train_methods x train_qualities: {_where(selection)} has no "
                         f"train records of {method!r} at quality {quality!r} (its train "
                         f"records of {method!r} are at {have or 'no quality'}).")
    if not any(counts.get((method, quality)) for method in real):
      raise ValueError(f"train_qualities: {_where(selection)} has no real ({real}) train "
                       f"records at quality {quality!r}.")
  check_both_classes(selection, "val", "the validation split of the training selection")


def check_test_data(config):
  """Every set of every test grid (cross-method, cross-quality, extra datasets) has real
  and fake test records."""
  for grid, sets in data.test_grids(config).items():
    for name, selection in sets.items():
      check_both_classes(selection, "test", f"test set {name!r} of grid {grid!r}")


def check_training(config):
  """Everything `run_experiment(config)` needs (see the module doc)."""
  check_sizes(config)
  data.train_balance(config)
  if config.weights not in ("", "none", "imagenet") and not os.path.isfile(config.weights):
    raise FileNotFoundError(f"weights file {config.weights} does not exist; expected none, "
                            "imagenet or a local .weights.h5 or Keras *_notop.h5 / *_no_top.h5 "
                            "file.")
  files.check_writable(config.output_dir, "output_dir")
  check_training_data(config)
  check_test_data(config)


def check_evaluation(config, detectors=()):
  """Everything `dfadv-evaluate` needs: the test grids' data, the `detectors` files and
  a writable `output_dir`."""
  for path in detectors:
    if not os.path.isfile(path):
      raise FileNotFoundError(f"detector file {path} does not exist.")
  files.check_writable(config.output_dir, "output_dir")
  data.real_methods(config)  # the training dataset's index names the real videos
  check_test_data(config)
