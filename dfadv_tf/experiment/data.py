"""The data selection of one experiment: which records each split and test set reads.

A `Selection` names a dataset, its methods and its qualities; `load` is the one place
that turns a selection and a split into a `tf.data.Dataset` (`records.load_split`, or
`records.load_clips` for a TSN). The training selection is the dataset's real methods
(read from its index: the methods whose records are labelled real) plus
`config.train_methods`, at `config.train_qualities`; validation uses the same selection
(model selection only), the test grids their own.
"""

import dataclasses

import tensorflow as tf

from dfadv_tf.augment.layers import get_augmentation
from dfadv_tf.data import records
from dfadv_tf.evaluation import grid as grid_lib


@dataclasses.dataclass(frozen=True)
class Selection:
  """Records of `<root>/<dataset>` with a method in `methods` and a quality in
  `qualities` (None: all the index has)."""
  root: str
  dataset: str
  methods: tuple = None
  qualities: tuple = None

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
  return Selection(config.data_root, config.dataset, (*real, *config.train_methods),
                   tuple(config.train_qualities))


def load(config, selection, split, **kwargs):
  """`selection`'s `split` as batches of `config.batch_size` at `config.image_size`:
  `records.load_clips` with `config.tsn_segments` segments for a TSN (one clip per
  video), `records.load_split` otherwise; `kwargs` go to the loader."""
  args = (selection.root, selection.dataset, _listed(selection.methods),
          _listed(selection.qualities), split, config.image_size, config.batch_size)
  if config.tsn_segments:
    kwargs.pop("augment", None)  # clips are not augmented
    kwargs.pop("with_mask", None)
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


# The modes whose two generators take the real and the fake half of every batch
# (`GeneratorBATModel(routing="halves")`): their batches alternate real, fake, ...
HALVES_MODES = ("two_gen_bat", "combined")


def train_balance(config):
  """How the training batches mix the classes: "halves" (exactly B/2 real and B/2 fake,
  alternating, the reference's sampling) for the modes of `HALVES_MODES`, "oversample"
  (real and fake drawn 50/50) for the others."""
  return "halves" if config.mode in HALVES_MODES else "oversample"


def train_dataset(config, initial_epoch=0, steps=None):
  """Balanced (`train_balance`), shuffled (images, labels) global batches of the training
  selection for epochs `initial_epoch`..`config.epochs - 1`, `steps` (default
  `steps_per_epoch`) each.

  Each epoch's batches are a function of (seed, epoch) alone (a pipeline seeded with
  both), so a run resumed at an epoch (BackupAndRestore) sees the batches of an
  uninterrupted run. Random augmentations draw from the layer's own generator and are
  not replayed.
  """
  steps = steps or steps_per_epoch(config)
  selection = training_selection(config)
  layer = get_augmentation(config.augment, seed=config.seed)
  augment = None if layer is None else (lambda images: layer(images, training=True))

  @tf.autograph.experimental.do_not_convert
  def epoch_batches(epoch):
    # Sets the seed of this traced function's graph only: with a graph seed of 0,
    # tf.data would compare the epoch's tensor op seeds in Python.
    tf.random.set_seed(config.seed + 1)
    return load(config, selection, "train", shuffle=True, balance=train_balance(config),
                augment=augment, seed=config.seed * 100_003 + epoch, repeat=True,
                drop_remainder=True, with_mask=config.map_supervision).take(steps)

  epochs = tf.data.Dataset.range(initial_epoch, config.epochs)
  return distributed(epochs.flat_map(epoch_batches), config.deterministic)


def validation_dataset(config):
  """The validation split of the training selection (model selection only); whole
  batches only under TPUStrategy (static shapes)."""
  return distributed(load(config, training_selection(config), "val", shuffle=False,
                          drop_remainder=config.strategy == "tpu"), config.deterministic)


def validation_batch(config, count=8):
  """A fixed batch of `count` validation images and labels (TensorBoard images)."""
  selection = training_selection(config)
  return next(iter(records.load_split(
      selection.root, selection.dataset, _listed(selection.methods),
      _listed(selection.qualities), "val", config.image_size, count, shuffle=True,
      balance="oversample", seed=config.seed)))


def label_counts(config, split):
  """[real, fake] records (videos for a TSN: one clip each) of the training selection."""
  count = "videos" if config.tsn_segments else "records"
  shards = training_selection(config).shards(split)
  return [sum(s[count] for s in shards if s["label"] == label)
          for label in (records.REAL_LABEL, records.FAKE_LABEL)]


def steps_per_epoch(config):
  """`config.steps_per_epoch`, or one pass over the balanced train split: 2 x the
  larger class / batch size (what `balance="oversample"` yields)."""
  if config.steps_per_epoch:
    return config.steps_per_epoch
  return max(1, 2 * max(label_counts(config, "train")) // config.batch_size)


def validation_steps(config):
  """`config.val_steps`, or the batches of one pass over the validation split."""
  if config.val_steps:
    return config.val_steps
  return max(1, -(-sum(label_counts(config, "val")) // config.batch_size))


def test_grids(config):
  """{grid name: {set name: Selection}}.

  cross_method: every test method (with the real videos) at the first training quality
  (Table I); cross_quality: the first training method at every test quality (Table II);
  one grid per extra test dataset (DFD, Celeb-DF: all its methods and qualities).
  """
  real = real_methods(config)
  quality, method = config.train_qualities[0], config.train_methods[0]
  grids = {
      "cross_method": {
          grid_lib.set_name(m, quality): Selection(config.data_root, config.dataset,
                                                   (*real, m), (quality,))
          for m in config.test_methods},
      "cross_quality": {
          grid_lib.set_name(method, q): Selection(config.data_root, config.dataset,
                                                  (*real, method), (q,))
          for q in config.test_qualities},
  }
  for dataset in config.extra_test_datasets:
    grids[dataset] = {dataset: Selection(config.data_root, dataset)}
  return grids


def grid_datasets(config, sets, split="test"):
  """{set name: dataset of metadata dicts} for one grid of `test_grids` (TSN: one clip
  per video, so its frame-level metrics are video level)."""
  return {name: load(config, selection, split, shuffle=False, with_metadata=True)
          for name, selection in sets.items()}
