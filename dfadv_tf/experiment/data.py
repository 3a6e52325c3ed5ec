"""The data selection of one experiment: which records each split and test set reads.

A `Selection` names a dataset, its methods and its qualities; `load` is the one place
that turns a selection and a split into a `tf.data.Dataset` (`records.load_split`, or
`records.load_clips` for a TSN). The training selection is the dataset's real methods
(read from its index: the methods whose records are labelled real) plus
`config.train_methods`, at `config.train_qualities`; validation uses the same selection
(model selection only), the test grids their own.
"""

import dataclasses
import functools
import os

from absl import logging
import tensorflow as tf

from dfadv_tf.augment.layers import get_augmentation
from dfadv_tf.data import records
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.experiment import modes


@dataclasses.dataclass(frozen=True)
class Selection:
  """Records of `<root>/<dataset>` with a method in `methods` and a quality in
  `qualities` (None: all the index has); `report_acc` False: as a test set, the tables
  show its ACC as "–" (the paper's DFD)."""
  root: str
  dataset: str
  methods: tuple = None
  qualities: tuple = None
  report_acc: bool = True

  def shards(self, split):
    """The index entries of the selected shards of `split`."""
    return records.select_shards(self.root, self.dataset, _listed(self.methods),
                                 _listed(self.qualities), split)


def _listed(values):
  return None if values is None else list(values)


def real_methods(config, dataset=None):
  """The real methods of `dataset` (default: the training dataset), from its index."""
  return records.real_methods(config.data_root, dataset or config.dataset)


def training_selection(config):
  """The real videos of the training dataset plus `config.train_methods`, at
  `config.train_qualities`; ValueError if a train method is one of the real ones."""
  real = real_methods(config)
  listed_real = sorted(set(real) & set(config.train_methods))
  if listed_real:
    raise ValueError(f"train_methods lists {listed_real}, the real videos of dataset "
                     f"{config.dataset!r}; list fake methods only (the real ones {real} "
                     "are added automatically).")
  selection = Selection(config.data_root, config.dataset, (*real, *config.train_methods),
                        tuple(config.train_qualities))
  if config.map_supervision:
    check_masks(selection)
  return selection


def check_masks(selection, split="train"):
  """ValueError naming the dataset and the fake shards of `selection`'s `split` whose
  records carry no manipulation mask (map supervision, Table VI, needs them: without
  them the map loss skips every fake row and only pushes the real rows' maps to zero,
  which is not Dang et al.'s setting). Reads the first record of each fake shard."""
  fakes = [s["path"] for s in selection.shards(split) if s["label"] == records.FAKE_LABEL]
  missing = _shards_without_masks(os.path.join(selection.root, selection.dataset),
                                  tuple(fakes))
  if missing:
    raise ValueError(
        f"map_supervision needs the manipulation masks of the fake {split} records, but "
        f"dataset {selection.dataset!r} at {selection.root} has none in {len(missing)} of "
        f"its {len(fakes)} fake shards (e.g. {missing[0]}); preprocess FF++ with its "
        "masks (dfadv-preprocess, docs/data.md) or drop --map_supervision.")


@functools.lru_cache(maxsize=None)
def _shards_without_masks(folder, paths):
  missing = []
  for path in paths:
    for record in tf.data.TFRecordDataset(os.path.join(folder, path)).take(1):
      if not records.parse_example(record)["mask"].numpy():
        missing.append(path)
  return missing


def load(config, selection, split, **kwargs):
  """`selection`'s `split` as batches of `config.batch_size` at `config.image_size`:
  `records.load_clips` with `config.tsn_segments` segments for a TSN (one clip per
  video), `records.load_split` otherwise; `kwargs` go to the loader."""
  args = (selection.root, selection.dataset, _listed(selection.methods),
          _listed(selection.qualities), split, config.image_size, config.batch_size)
  if config.tsn_segments:
    kwargs.pop("augment", None)  # clips are not augmented
    kwargs.pop("with_mask", None)
    kwargs.pop("frames_per_video", None)  # a clip takes frames of every segment
    return records.load_clips(*args, segments=config.tsn_segments, **kwargs)
  return records.load_split(*args, **kwargs)


def distributed(dataset, deterministic=False):
  """`dataset` with the DATA auto-shard policy: under a multi-worker strategy every
  worker runs the whole pipeline and keeps its rows of each global batch, so the global
  batches are those of a one-worker run (FILE sharding would give each worker other
  records, and the balanced train stream nests its file readers where tf.data cannot
  shard them)."""
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  if deterministic:
    options.deterministic = True
  return dataset.with_options(options)


def train_balance(config):
  """How the training batches mix the classes, `config.balance`: "halves" (exactly B/2
  real and B/2 fake, alternating, the reference's sampling), "oversample" (real and fake
  drawn 50/50), or for "auto" the mode's own `balance` (`modes.Mode`: halves for the modes
  whose two generators each take one half of every batch, oversample for the others).
  With the same balance and seed every mode sees the same batches (the paired differences
  over seeds rely on it). ValueError for oversample in a mode that needs halves."""
  own = modes.get(config.mode).balance
  if config.balance == "auto":
    return own
  if config.balance == "oversample" and own == "halves":
    raise ValueError(f"balance='oversample' does not fit mode {config.mode!r}: its two "
                     "generators take the real and the fake half of every batch; use "
                     "balance=halves (or auto).")
  return config.balance


def train_dataset(config, initial_epoch=0, steps=None):
  """Balanced (`train_balance`), shuffled (images, labels) global batches of the training
  selection for epochs `initial_epoch`..`config.epochs - 1`, `steps` (default
  `steps_per_epoch`) each.

  Each epoch's batches are a function of (seed, epoch) alone (a pipeline seeded with
  both), so a run resumed at an epoch (from its backup) sees the batches of an
  uninterrupted run. Augmentation: `config.base_augment`, then `config.augment`;
  random augmentations draw from the layer's own generator and are not replayed.
  """
  steps = steps or steps_per_epoch(config)
  selection = training_selection(config)
  layers = [layer for layer in (get_augmentation(config.base_augment, seed=config.seed),
                                get_augmentation(config.augment, seed=config.seed + 1))
            if layer is not None]

  def augment(images):  # --base_augment, then --augment
    for layer in layers:
      images = layer(images, training=True)
    return images

  @tf.autograph.experimental.do_not_convert
  def epoch_batches(epoch):
    # Sets the seed of this traced function's graph only: with a graph seed of 0,
    # tf.data would compare the epoch's tensor op seeds in Python.
    tf.random.set_seed(config.seed + 1)
    return load(config, selection, "train", shuffle=True, balance=train_balance(config),
                augment=augment if layers else None,
                seed=config.seed * 100_003 + epoch, repeat=True,
                drop_remainder=True, with_mask=config.map_supervision,
                frames_per_video=config.train_frames_per_video or None).take(steps)

  epochs = tf.data.Dataset.range(initial_epoch, config.epochs)
  return distributed(epochs.flat_map(epoch_batches), config.deterministic)


def class_selections(selection, real):
  """(real, fake) halves of `selection`: its `real` methods, and the others."""
  return tuple(dataclasses.replace(selection, methods=tuple(
      m for m in selection.methods if (m in real) == is_real)) for is_real in (True, False))


def validation_dataset(config):
  """The validation split of the training selection (model selection only), class-
  balanced: the real and the fake records alternate, each class as many as the larger
  (the smaller class repeated from its start), so that the accuracy is the mean of the
  two classes' accuracies, not a reward for calling everything "fake" (Tables III, VI:
  140 real against 560 fake validation videos). Whole batches only under TPUStrategy
  (static shapes)."""
  halves = class_selections(training_selection(config), real_methods(config))
  size = max(label_counts(config, "val"))
  streams = []
  for half in halves:
    stream = load(config, half, "val", shuffle=False).unbatch()
    streams.append(stream.repeat().take(size))
  both = tf.data.Dataset.zip(*streams).flat_map(
      lambda real, fake: tf.data.Dataset.from_tensors(real).concatenate(
          tf.data.Dataset.from_tensors(fake)))
  batches = both.batch(config.batch_size, drop_remainder=config.strategy == "tpu")
  return distributed(batches.prefetch(tf.data.AUTOTUNE), config.deterministic)


def validation_batch(config, count=8):
  """A fixed batch of `count` validation images and labels (TensorBoard images)."""
  selection = training_selection(config)
  return next(iter(records.load_split(
      selection.root, selection.dataset, _listed(selection.methods),
      _listed(selection.qualities), "val", config.image_size, count, shuffle=True,
      balance="oversample", seed=config.seed)))


def label_counts(config, split, frames_per_video=None):
  """[real, fake] records (videos for a TSN: one clip each) of the training selection;
  with `frames_per_video` k, those of one pass of `load_split(frames_per_video=k)`."""
  shards = training_selection(config).shards(split)
  groups = [[s for s in shards if s["label"] == label]
            for label in (records.REAL_LABEL, records.FAKE_LABEL)]
  if config.tsn_segments:
    return [sum(s["videos"] for s in group) for group in groups]
  return [records.pass_size(group, frames_per_video) for group in groups]


def steps_per_epoch(config):
  """`config.steps_per_epoch`, or one pass over the balanced train split: 2 x the
  larger class / batch size (what `balance="oversample"` yields; with
  `train_frames_per_video` k, k frames of each video of the larger class)."""
  if config.steps_per_epoch:
    return config.steps_per_epoch
  counts = label_counts(config, "train", config.train_frames_per_video or None)
  return max(1, 2 * max(counts) // config.batch_size)


def validation_steps(config):
  """`config.val_steps`, or the batches of one pass over the class-balanced validation
  split (`validation_dataset`: 2 x the larger class)."""
  if config.val_steps:
    return config.val_steps
  return max(1, -(-2 * max(label_counts(config, "val")) // config.batch_size))


def _listed_or_present(wanted, present, what, config, key):
  """The names of `wanted` the test split has; all of `present` (with a warning) when it
  has none of them (say the FF++ defaults on a folder dataset). Otherwise a name that is
  not in the dataset's index at all is a typo (ValueError naming it) and one the index
  has but the test split lacks is left out with a warning."""
  kept = [name for name in wanted if name in present]
  if not kept:
    logging.warning("none of %s %s is in the test split of dataset %r (it has %s): "
                    "testing those.", what, list(wanted), config.dataset, present)
    return list(present)
  if len(kept) < len(wanted):
    index = {s[key] for s in records.read_index(config.data_root, config.dataset)["shards"]}
    unknown = [name for name in wanted if name not in index]
    if unknown:
      raise ValueError(f"{what}: {key} {unknown} not in dataset {config.dataset!r} at "
                       f"{config.data_root}; its index has {key}s {sorted(index)}.")
    logging.warning("%s %s are not in the test split of dataset %r (it has %s): not "
                    "tested.", what, [n for n in wanted if n not in present],
                    config.dataset, present)
  return kept


def test_grids(config):
  """{grid name: {set name: Selection}}, the paper's test sets, shaped by what the
  dataset's test split has.

  cross_method: every test method (with the real videos) at the training qualities
  (Table I; Table VI's qualities all together), then every extra test dataset whole
  (DFD, Celeb-DF), so that the row's Avg covers them as the paper's does.
  cross_quality: the training methods at every test quality (Table II).
  pooled, when the training selection has several methods or qualities (Tables III,
  VI): its methods and qualities together, named after the dataset ("FF++") when they
  are all of its test split; the extra datasets are then in this grid (Table VI's
  FF++, DFD, Celeb-DF) instead of cross_method, so that each is evaluated once.
  Extra datasets in `config.auc_only_datasets` report no ACC (DFD).

  `test_methods` / `test_qualities` missing from the test split are left out with a
  warning (none present: all the split has). A grid whose sets are all in the other
  is dropped, so a dataset of one method and one quality gets one table, named after
  the dataset (not two copies of the same set).
  """
  real = real_methods(config)
  shards = records.select_shards(config.data_root, config.dataset, split="test")
  fakes = sorted({s["method"] for s in shards if s["label"] == records.FAKE_LABEL})
  present_qualities = sorted({s["quality"] for s in shards})
  has_real = any(s["label"] == records.REAL_LABEL for s in shards)
  if not fakes or not has_real:
    raise ValueError(f"dataset {config.dataset!r} at {config.data_root} has no "
                     f"{'fake' if not fakes else 'real'} records in its test split: the "
                     "test grids need real and fake test records (see the preprocessing "
                     "summary for videos without a face).")
  test_methods = _listed_or_present(config.test_methods, fakes, "test_methods", config,
                                    "method")
  test_qualities = _listed_or_present(config.test_qualities, present_qualities,
                                      "test_qualities", config, "quality")
  qualities = (tuple(q for q in config.train_qualities if q in present_qualities)
               or (test_qualities[0],))
  methods = tuple(m for m in config.train_methods if m in fakes) or (test_methods[0],)
  present = {(s["method"], s["quality"]) for s in shards}

  def selection(selected, at):
    return Selection(config.data_root, config.dataset, (*real, *selected), tuple(at))

  def has(selected, at):
    return any((m, q) in present for m in selected for q in at)

  wanted = {
      "cross_method": {grid_lib.set_name(m, qualities): ((m,), qualities)
                       for m in test_methods},
      "cross_quality": {grid_lib.set_name(methods, q): (methods, (q,))
                        for q in test_qualities},
  }
  cross = {grid: {name: selection(*at) for name, at in sets.items() if has(*at)}
           for grid, sets in wanted.items()}
  for grid, sets in wanted.items():
    absent = [name for name in sets if name not in cross[grid]]
    if absent:
      logging.warning("test sets %s of grid %r: dataset %r has no test records of those "
                      "methods at those qualities; not tested.", absent, grid,
                      config.dataset)
  sets = {name: set(grid.values()) for name, grid in cross.items()}
  if sets["cross_quality"] <= sets["cross_method"]:
    del cross["cross_quality"]
  elif sets["cross_method"] <= sets["cross_quality"]:
    del cross["cross_method"]
  grids = {name: grid for name, grid in cross.items() if grid}
  extra = {grid_lib.dataset_name(dataset): Selection(
      config.data_root, dataset, report_acc=dataset not in config.auc_only_datasets)
           for dataset in config.extra_test_datasets}
  if len(methods) == 1 and len(qualities) == 1:
    if list(grids) == ["cross_method"] and len(grids["cross_method"]) == 1 and not extra:
      grids = {grid_lib.dataset_name(config.dataset): grids["cross_method"]}
    elif extra:
      grids.setdefault("cross_method", {}).update(extra)
  else:
    everything = set(fakes) <= set(methods) and set(present_qualities) <= set(qualities)
    name = (grid_lib.dataset_name(config.dataset) if everything
            else grid_lib.set_name(methods, qualities))
    grids["pooled"] = {name: selection(methods, qualities), **extra}
  return grids


def grid_datasets(config, sets, split="test"):
  """{set name: `grid_lib.TestSet`} of metadata-dict datasets for one grid of
  `test_grids` (TSN: one clip per video, so its frame-level metrics are video level)."""
  return {name: grid_lib.TestSet(load(config, selection, split, shuffle=False,
                                      with_metadata=True), selection.report_acc)
          for name, selection in sets.items()}
