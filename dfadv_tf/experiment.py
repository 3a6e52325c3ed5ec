"""One experiment end to end: data -> training mode -> fit -> best detector -> test grids.

The layer above `training`, `data` and `evaluation` that the binaries (`tools/train.py`,
`tools/evaluate.py`) wire flags into; usable from a notebook too:

    config = ExperimentConfig(mode="two_gen_bat", backbone="small_cnn", image_size=64,
                              data_root="demo_data", dataset="ffpp_demo", epochs=2)
    result = run_experiment(config)          # fits, selects on val, evaluates the grids
    print(result["tables"]["cross_method"])  # Markdown, shaped like Table I

Modes (paper names): baseline, grad_aat (FGSM, Eq. 1/3), grad_pgd (PGD, App. C),
grad_bat (gradient BAT, Eq. 6), grad_sat (spatial, Xiao et al.), gen_bat (one
generator, Eq. 7), two_gen_bat (G_r and G_f), combined (Two-Gen-BAT + FGSM, Fig. 3).

Model selection follows the reference: the detector with the best accuracy on the
validation split of the training selection is kept (never the test split).
"""

import dataclasses
import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.augment.layers import AUGMENTATIONS, get_augmentation
from dfadv_tf.data import records
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.files import atomic_write, atomic_write_text
from dfadv_tf.models.backbones import BACKBONES, build_detector
from dfadv_tf.models.tsn import TSNDetector
from dfadv_tf.training import (DetectorModel, GeneratorBATModel, GradientATModel,
                               TrainingModel)
from dfadv_tf.training.callbacks import AdversarialTensorBoard
from dfadv_tf.training.optimizers import RAdam, StepDecay

REAL_METHOD = grid_lib.REAL_METHOD
MODES = ("baseline", "grad_aat", "grad_pgd", "grad_bat", "grad_sat", "gen_bat",
         "two_gen_bat", "combined")
PAPER_NAMES = {"baseline": "Baseline", "grad_aat": "+ Grad-AAT", "grad_pgd": "+ Grad-AAT (PGD)",
               "grad_bat": "+ Grad-BAT", "grad_sat": "+ Grad-SAT", "gen_bat": "+ Gen-BAT",
               "two_gen_bat": "+ Two-Gen-BAT", "combined": "+ Combined AT"}
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
BEST_DETECTOR = "best_detector.keras"


@dataclasses.dataclass
class ExperimentConfig:
  """Everything one run needs; defaults are the paper's (Sec. IV, REFERENCE_NOTES.md).

  Units: learning rates per update, `eps` in the [-1, 1] input space, `decay_epochs`
  in epochs (0 = no decay). `steps_per_epoch` 0 = one pass over the balanced train split.
  """
  mode: str = "baseline"
  backbone: str = "efficientnetb5"
  weights: str = "none"
  image_size: int = 256
  dropout: float = 0.0
  tsn_segments: int = 0
  map_supervision: bool = False
  augment: str = "none"
  data_root: str = "data"
  dataset: str = "ffpp"
  train_methods: tuple = ("NeuralTextures",)
  train_qualities: tuple = ("c23",)
  test_methods: tuple = ("NeuralTextures", "Deepfakes", "Face2Face", "FaceSwap")
  test_qualities: tuple = ("raw", "c23", "c40")
  extra_test_datasets: tuple = ()
  batch_size: int = 32
  epochs: int = 120
  steps_per_epoch: int = 0
  val_steps: int = 0
  learning_rate: float = 5e-4
  generator_learning_rate: float = 2e-3
  weight_decay: float = 5e-4
  decay_epochs: int = 10
  decay_factor: float = 0.1
  g_steps: int = 3
  generator_width: int = 64
  generator_blocks: int = 3
  kernel_size: int = 9
  fgsm_eps: float = 1.0 / 255
  pgd_steps: int = 3
  pgd_step_size: float = 0.5 / 255
  bat_eps: float = 10.0
  bat_steps: int = 1
  sat_tau: float = 0.05
  sat_steps: int = 1
  sat_step_size: float = 0.01
  mixed_precision: str = "float32"
  jit_compile: bool = False
  seed: int = 0
  deterministic: bool = False
  strategy: str = "default"
  output_dir: str = "runs/experiment"
  image_every_epochs: int = 1

  def __post_init__(self):
    for name in ("train_methods", "train_qualities", "test_methods", "test_qualities",
                 "extra_test_datasets"):
      value = getattr(self, name)
      setattr(self, name, tuple([value] if isinstance(value, str) else value))
    checks = [
        (self.mode in MODES, f"mode must be one of {MODES}, got {self.mode!r}"),
        (self.backbone in BACKBONES,
         f"backbone must be one of {BACKBONES}, got {self.backbone!r}"),
        (self.augment in AUGMENTATIONS,
         f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}"),
        (self.mixed_precision in POLICIES,
         f"mixed_precision must be one of {POLICIES}, got {self.mixed_precision!r}"),
        (self.strategy in STRATEGIES,
         f"strategy must be one of {STRATEGIES}, got {self.strategy!r}"),
        (self.train_methods and self.train_qualities,
         "train_methods and train_qualities must name at least one method and quality"),
        (REAL_METHOD not in self.train_methods,
         f"train_methods lists fake methods; the real '{REAL_METHOD}' videos are added "
         "automatically"),
    ]
    for name in ("image_size", "batch_size", "epochs", "g_steps", "kernel_size",
                 "pgd_steps", "bat_steps", "sat_steps", "generator_width",
                 "generator_blocks", "image_every_epochs"):
      checks.append((getattr(self, name) >= 1, f"{name} must be >= 1, got "
                     f"{getattr(self, name)!r}"))
    for name in ("tsn_segments", "steps_per_epoch", "val_steps", "decay_epochs",
                 "fgsm_eps", "bat_eps", "weight_decay", "dropout"):
      checks.append((getattr(self, name) >= 0, f"{name} must be >= 0, got "
                     f"{getattr(self, name)!r}"))
    for ok, message in checks:
      if not ok:
        raise ValueError(message)

  @property
  def run_name(self):
    return PAPER_NAMES[self.mode] if self.mode != "baseline" else self.backbone


# ---- data --------------------------------------------------------------------------


def _data_sharded(dataset, deterministic=False):
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


def train_dataset(config, initial_epoch=0, steps=None):
  """Balanced, shuffled (images, labels) global batches of the training selection for
  epochs `initial_epoch`..`config.epochs - 1`, `steps` (default `steps_per_epoch`) each.

  Each epoch's batches are a function of (seed, epoch) alone (a pipeline seeded with
  both), so a run resumed at an epoch (BackupAndRestore) sees the batches of an
  uninterrupted run. Random augmentations draw from the layer's own generator and are
  not replayed.
  """
  steps = steps or steps_per_epoch(config)
  layer = get_augmentation(config.augment, seed=config.seed)
  augment = None if layer is None else (lambda images: layer(images, training=True))

  @tf.autograph.experimental.do_not_convert
  def epoch_batches(epoch):
    # Sets the seed of this traced function's graph only: with a graph seed of 0,
    # tf.data would compare the epoch's tensor op seeds in Python.
    tf.random.set_seed(config.seed + 1)
    if config.tsn_segments:  # TSN: clips, one per video (no augmentation)
      return records.load_clips(
          config.data_root, config.dataset, [REAL_METHOD, *config.train_methods],
          list(config.train_qualities), "train", config.image_size, config.batch_size,
          config.tsn_segments, shuffle=True, balance="oversample",
          seed=config.seed * 100_003 + epoch, repeat=True, drop_remainder=True).take(steps)
    return records.load_split(
        config.data_root, config.dataset, [REAL_METHOD, *config.train_methods],
        list(config.train_qualities), "train", config.image_size, config.batch_size,
        shuffle=True, balance="oversample", augment=augment,
        seed=config.seed * 100_003 + epoch, repeat=True, drop_remainder=True,
        with_mask=config.map_supervision).take(steps)

  epochs = tf.data.Dataset.range(initial_epoch, config.epochs)
  return _data_sharded(epochs.flat_map(epoch_batches), config.deterministic)


def validation_dataset(config):
  """The validation split of the training selection (model selection only); whole
  batches only under TPUStrategy (static shapes)."""
  if config.tsn_segments:
    return _data_sharded(records.load_clips(
        config.data_root, config.dataset, [REAL_METHOD, *config.train_methods],
        list(config.train_qualities), "val", config.image_size, config.batch_size,
        config.tsn_segments, shuffle=False, drop_remainder=config.strategy == "tpu"),
                         config.deterministic)
  return _data_sharded(records.load_split(
      config.data_root, config.dataset, [REAL_METHOD, *config.train_methods],
      list(config.train_qualities), "val", config.image_size, config.batch_size,
      shuffle=False, drop_remainder=config.strategy == "tpu"), config.deterministic)


def _label_counts(config, split):
  shards = records.select_shards(config.data_root, config.dataset,
                                 [REAL_METHOD, *config.train_methods],
                                 list(config.train_qualities), split)
  count = "videos" if config.tsn_segments else "records"  # TSN: one clip per video
  return [sum(s[count] for s in shards if s["label"] == label) for label in (0, 1)]


def steps_per_epoch(config):
  """`config.steps_per_epoch`, or one pass over the balanced train split: 2 x the
  larger class / batch size (what `balance="oversample"` yields)."""
  if config.steps_per_epoch:
    return config.steps_per_epoch
  return max(1, 2 * max(_label_counts(config, "train")) // config.batch_size)


def validation_steps(config):
  """`config.val_steps`, or the batches of one pass over the validation split."""
  if config.val_steps:
    return config.val_steps
  return max(1, -(-sum(_label_counts(config, "val")) // config.batch_size))


def test_grids(config):
  """{grid name: {set name: ([methods], [qualities], dataset name)}}.

  cross_method: every test method at the first training quality (Table I);
  cross_quality: the first training method at every test quality (Table II);
  one grid per extra test dataset (DFD, Celeb-DF: all its methods and qualities).
  """
  quality = config.train_qualities[0]
  method = config.train_methods[0]
  grids = {
      "cross_method": {name: (*sel, config.dataset) for name, sel in
                       grid_lib.cross_method_sets(config.test_methods, quality).items()},
      "cross_quality": {name: (*sel, config.dataset) for name, sel in
                        grid_lib.cross_quality_sets(method, config.test_qualities).items()},
  }
  for dataset in config.extra_test_datasets:
    grids[dataset] = {dataset: (None, None, dataset)}
  return grids


def grid_datasets(config, sets, split="test"):
  """{set name: metadata dataset} for one grid of `test_grids` (TSN: one clip per
  video, so frame-level metrics are video-level)."""
  if config.tsn_segments:
    return {name: records.load_clips(config.data_root, dataset, methods, qualities, split,
                                     config.image_size, config.batch_size,
                                     config.tsn_segments, shuffle=False, with_metadata=True)
            for name, (methods, qualities, dataset) in sets.items()}
  return {name: records.load_split(config.data_root, dataset, methods, qualities, split,
                                   config.image_size, config.batch_size, shuffle=False,
                                   with_metadata=True)
          for name, (methods, qualities, dataset) in sets.items()}


# ---- model -------------------------------------------------------------------------


def _schedule(config, learning_rate, steps, updates_per_step=1):
  if not config.decay_epochs:
    return learning_rate
  return StepDecay.from_epochs(learning_rate, config.decay_epochs, steps,
                               updates_per_step=updates_per_step,
                               factor=config.decay_factor)


def build_training_model(config, steps):
  """The compiled training mode of `config` (detector from `build_detector`)."""
  keras.utils.set_random_seed(config.seed)
  keras.mixed_precision.set_global_policy(config.mixed_precision)
  weights = None if config.weights in ("", "none") else config.weights
  detector = build_detector(config.backbone, config.image_size, weights=weights,
                            dropout=config.dropout)
  if config.tsn_segments:
    detector = TSNDetector(detector, config.tsn_segments)
  attacks = {
      "grad_aat": ("fgsm", {"eps": config.fgsm_eps}),
      "grad_pgd": ("pgd", {"eps": config.fgsm_eps, "step_size": config.pgd_step_size,
                           "steps": config.pgd_steps}),
      "grad_bat": ("blur", {"eps": config.bat_eps, "steps": config.bat_steps,
                            "kernel_size": config.kernel_size}),
      "grad_sat": ("spatial", {"tau": config.sat_tau, "steps": config.sat_steps,
                               "step_size": config.sat_step_size}),
  }
  if config.mode == "baseline":
    model = DetectorModel(detector)
  elif config.mode in attacks:
    attack, kwargs = attacks[config.mode]
    model = GradientATModel(detector, attack=attack, attack_kwargs=kwargs, seed=config.seed)
  else:
    model = GeneratorBATModel(
        detector, generators=1 if config.mode == "gen_bat" else 2, g_steps=config.g_steps,
        kernel_size=config.kernel_size,
        combined_fgsm_eps=config.fgsm_eps if config.mode == "combined" else None,
        generator_kwargs={"width": config.generator_width,
                          "n_blocks": config.generator_blocks})
  compile_kwargs = {}
  if isinstance(model, GeneratorBATModel):
    compile_kwargs["generator_optimizer"] = RAdam(
        _schedule(config, config.generator_learning_rate, steps, config.g_steps),
        weight_decay=config.weight_decay)
  model.compile(optimizer=RAdam(_schedule(config, config.learning_rate, steps),
                                weight_decay=config.weight_decay),
                jit_compile=config.jit_compile, **compile_kwargs)
  return model


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
  images, labels = validation_batch(config)
  return [
      keras.callbacks.ModelCheckpoint(
          os.path.join(output_dir, "checkpoints", "epoch_{epoch:03d}.keras")),
      BestDetectorCheckpoint(os.path.join(output_dir, BEST_DETECTOR), resume=resume),
      keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup"),
                                       double_checkpoint=True),
      AdversarialTensorBoard(os.path.join(output_dir, "logs"), images, labels,
                             image_freq=config.image_every_epochs),
  ]


def validation_batch(config, count=8):
  """A fixed batch of `count` validation images and labels for TensorBoard images."""
  images, labels = next(iter(records.load_split(
      config.data_root, config.dataset, [REAL_METHOD, *config.train_methods],
      list(config.train_qualities), "val", config.image_size, count, shuffle=True,
      balance="oversample", seed=config.seed)))
  return images, labels


# ---- evaluation --------------------------------------------------------------------


def check_detector(detector, config, source=None):
  """ValueError naming `source` (default: the detector's name) when `detector` is a
  training checkpoint rather than a detector, or takes frames of another size than
  `config.image_size`."""
  source = source or repr(detector.name)
  if isinstance(detector, TrainingModel):
    raise ValueError(f"{source} is a whole training model ({type(detector).__name__}, a "
                     "checkpoints/epoch_NNN.keras file); expected a detector such as "
                     f"{BEST_DETECTOR}.")
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
  return {grid_name: grid_lib.evaluate_grid(detector, grid_datasets(config, sets))
          for grid_name, sets in test_grids(config).items()}


def write_tables(results_by_model, output_dir, logdir=None, level="frame"):
  """{model: {grid: {set: metrics}}} -> one Markdown/CSV table per grid under
  `<output_dir>/tables/` (`<grid>.md` for frame level, `<grid>_video.md` for video
  level AUC/ACC); returns {grid: markdown}."""
  if level not in ("frame", "video"):
    raise ValueError(f"level must be 'frame' or 'video', got {level!r}.")
  grids = list(next(iter(results_by_model.values())))
  titles = {"cross_method": "Cross-method (trained on one method, tested on each)",
            "cross_quality": "Cross-quality (trained on one quality, tested on each)"}
  columns = ("auc", "acc") if level == "frame" else ("video_auc", "video_acc")
  suffix = "" if level == "frame" else "_video"
  return {g: grid_lib.write_table({m: r[g] for m, r in results_by_model.items()},
                                  os.path.join(output_dir, "tables", g + suffix),
                                  f"{titles.get(g, g)}, {level} level", columns=columns,
                                  logdir=logdir)
          for g in grids}


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
  steps = steps_per_epoch(config)
  with strategy.scope():
    model = build_training_model(config, steps)
  initial_epoch = resumed_epoch(output_dir)
  val = validation_dataset(config)
  cbs = callbacks(config, output_dir, resume=initial_epoch > 0)
  history = model.fit(train_dataset(config, initial_epoch, steps), epochs=config.epochs,
                      steps_per_epoch=steps, validation_data=val,
                      validation_steps=validation_steps(config), callbacks=cbs,
                      shuffle=False, verbose=verbose)
  best = next(c for c in cbs if isinstance(c, BestDetectorCheckpoint))
  detector = serving.load_detector(os.path.join(output_dir, BEST_DETECTOR))
  results = {config.run_name: evaluate_detector(detector, config)}
  atomic_write_text(os.path.join(output_dir, "results.json"),
                    json.dumps(results, indent=2))
  tables = write_tables(results, output_dir, logdir=os.path.join(output_dir, "logs"))
  return {"results": results, "tables": tables, "best_epoch": best.best_epoch,
          "history": history.history}
