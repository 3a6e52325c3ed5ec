"""The configuration of one experiment: `ExperimentConfig`, one field per flag.

Every field carries its help text (`metadata["help"]`), so the binaries' flags
(`dfadv_tf.cli.flags`), the flag files under `flags/`, this dataclass and the
`config.json` of every run folder are one thing. The adversaries' parameters are fields
too, one per registered `Param` of `dfadv_tf.attacks.ADVERSARIES` (`fgsm_eps_levels`,
`bat_steps`, ...), added from the registry, so a new adversary brings its fields.
Renamed fields (`RENAMED`) are still read for one release, converted to the new unit:
from flags (`dfadv_tf.cli.flags`, with a warning) and from a stored `config.json`.

Defaults are the paper's (Sec. IV) and the reference code's where the paper is silent
(docs/reference.md). Units: learning rates per update, step sizes in each field's help,
`decay_epochs` in epochs (0 = no decay), `steps_per_epoch` 0 = one pass over the
balanced train split.
"""

import dataclasses
import math

from absl import logging

from dfadv_tf import attacks
from dfadv_tf import checks
from dfadv_tf.augment.layers import AUGMENTATIONS
from dfadv_tf.experiment.modes import BASELINE, MODES
from dfadv_tf.models.backbones import BACKBONES

# {mode: its row in the paper's tables}, from the mode registry (`modes.MODES`).
PAPER_NAMES = {mode.name: mode.table_name for mode in MODES.values()}
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
# generator_max_sigma="auto": the reference's bound (sigma <= 1 px on its 256 px faces)
# scaled to the image size, image_size / REFERENCE_SIZE px.
AUTO = "auto"
REFERENCE_SIZE = 256


def auto_max_sigma(image_size):
  """The reference's largest generator sigma scaled to `image_size`: size / 256 px (0.25
  at 64 px, 0.5 at 128 px, 1 at 256 px), so that the strongest blur covers the same share
  of the face as the reference's 1 px on 256 px faces (inverse variance (256 / size)^2)."""
  return image_size / REFERENCE_SIZE


STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def _sigma_of(inv_var):
  return 1.0 / math.sqrt(inv_var) if inv_var > 0 else math.inf


def _grey_levels(units):
  return attacks.common.to_grey_levels(units)


# Old field -> (its replacement, the old value in the replacement's unit, what it was,
# the replacement's unit). Each is read for one release.
RENAMED = {
    "generator_min_inv_var": ("generator_max_sigma", _sigma_of,
                              "the generators' lowest inverse variance 1/sigma^2 (1/px^2)",
                              "px"),
    "generator_max_inv_var": ("generator_min_sigma", _sigma_of,
                              "the generators' highest inverse variance 1/sigma^2 (1/px^2)",
                              "px"),
    "fgsm_eps": ("fgsm_eps_levels", _grey_levels, "the FGSM step in [-1, 1] image units",
                 "grey levels of 255"),
    "pgd_eps": ("pgd_eps_levels", _grey_levels, "the PGD radius in [-1, 1] image units",
                "grey levels of 255"),
    "pgd_step_size": ("pgd_step_levels", _grey_levels,
                      "the PGD step in [-1, 1] image units", "grey levels of 255"),
}


def renamed_to_new(stored):
  """A stored config dict with its old field names (`RENAMED`) replaced by the new ones,
  converted to their unit (a field given under both names keeps the new one)."""
  out = dict(stored)
  for old, (new, convert, _, _) in RENAMED.items():
    if old in out:
      value = out.pop(old)
      if new not in out and value is not None:
        out[new] = convert(value)
  return out


def _field(default, help, choices=None, auto=False):  # pylint: disable=redefined-builtin
  """A field with its flag's help; `auto`: a float field that also takes "auto"."""
  return dataclasses.field(default=default, metadata={"help": help, "choices": choices,
                                                      "auto": auto})


def _mode_help():
  names = ", ".join(f"{mode.name} = {mode.display_name}" for mode in MODES.values())
  old = ", ".join(f"{old} (now {new})" for old, new in MODES.old_names().items())
  return f"Training mode (= the paper's name): {names}. Old names, for one release: {old}."


@dataclasses.dataclass
class _Fields:
  """The fields that are not an adversary's parameters (see ExperimentConfig)."""
  mode: str = _field(BASELINE, _mode_help(), (*MODES.names(), *MODES.old_names()))
  backbone: str = _field("efficientnetb5", "Detector backbone.", tuple(BACKBONES))
  weights: str = _field("none", "Backbone weights: none, imagenet (downloads; needs the "
                        "network) or the path of a local file: a .weights.h5, or Keras' "
                        "own application file (*_notop.h5 / *_no_top.h5, legacy HDF5), at "
                        "any image_size.")
  image_size: int = _field(256, "Input side in pixels.")
  dropout: float = _field(0.0, "Dropout rate before the 2-logit head.")
  tsn_segments: int = _field(0, "TSN (end of Sec. IV-A): segments K per video, one frame "
                             "each, logits averaged; clips for training and video-level "
                             "tests (0: single frames).")
  map_supervision: bool = _field(False, "Train with the records' manipulation masks (L1 map "
                                 "loss of the stehouwer_xception detector).")
  base_augment: str = _field("none", "Augmentation of every training image before "
                             "--augment: reference (the reference code's pipeline, "
                             "ReferenceAugment) or none (the paper's rows: "
                             "docs/fidelity.md).", AUGMENTATIONS)
  augment: str = _field("none", "Traditional augmentation of the training images (App. E "
                        "values).", AUGMENTATIONS)
  data_root: str = _field("data", "Folder holding the datasets' TFRecords "
                          "(<data_root>/<dataset>/index.json).")
  dataset: str = _field("ffpp", "Training dataset name (ffpp, or ffpp_demo for the built-in "
                        "benchmark).")
  train_methods: tuple = _field(("NeuralTextures",), "Fake methods to train on (the "
                                "dataset's real videos are always added).")
  train_qualities: tuple = _field(("c23",), "Qualities to train on (raw, c23, c40).")
  test_methods: tuple = _field(("NeuralTextures", "Deepfakes", "Face2Face", "FaceSwap"),
                               "Fake methods of the cross-method grid (Table I).")
  test_qualities: tuple = _field(("raw", "c23", "c40"), "Qualities of the cross-quality "
                                 "grid (Table II).")
  extra_test_datasets: tuple = _field((), "Other datasets tested whole, e.g. dfd,celebdf; "
                                      "their columns join the cross-method table (and "
                                      "the pooled one), inside its Avg.")
  auc_only_datasets: tuple = _field(("dfd",), "Extra test datasets whose tables show no "
                                    "ACC (\u2013), as the paper does for DFD (its real "
                                    "and fake videos are very unbalanced); results.json "
                                    "keeps the value.")
  train_frames_per_video: int = _field(0, "Which training records an epoch draws: 0, "
                                       "every record once per pass; k >= 1, k random "
                                       "frames of every video per pass, drawn anew each "
                                       "pass (the reference: 1, a random frame of a "
                                       "video per sample, real videos repeated to "
                                       "balance the classes).")
  batch_size: int = _field(32, "Global batch size (real and fake drawn 50/50).")
  balance: str = _field("auto", "How training batches mix the classes: halves (exactly "
                        "B/2 real and B/2 fake, alternating; what two_gen_bat and "
                        "combined need), oversample (drawn 50/50 at random) or auto "
                        "(halves for those two modes, oversample for the others). Give "
                        "every mode of a comparison the same value (halves) so that "
                        "modes with the same seed see the same batches.",
                        ("auto", "halves", "oversample"))
  epochs: int = _field(120, "Epochs.")
  steps_per_epoch: int = _field(0, "Batches per epoch; 0 = one pass over the balanced "
                                "train split (with train_frames_per_video k: k frames "
                                "of each video of the larger class).")
  val_steps: int = _field(0, "Validation batches per epoch; 0 = the whole class-balanced "
                          "validation split (each class as many records as the larger, "
                          "the smaller repeated).")
  learning_rate: float = _field(5e-4, "Detector learning rate (RAdam).")
  generator_learning_rate: float = _field(2e-3, "Generator learning rate (RAdam).")
  weight_decay: float = _field(5e-4, "Weight decay of every optimizer (RAdam).")
  decoupled_weight_decay: bool = _field(True, "Decay the weights apart from the gradient, "
                                        "w -= lr * weight_decay * w (the reference's "
                                        "RAdam); false: L2 added to the gradient "
                                        "(torch.optim.RAdam's default).")
  decay_epochs: int = _field(10, "Multiply the learning rates by decay_factor every this "
                             "many epochs (0: constant).")
  decay_factor: float = _field(0.1, "Step-decay factor.")
  g_steps: int = _field(3, "Generator updates per detector update (generator modes).")
  generator_width: int = _field(64, "Channels of the generator's first layer (CycleGAN: 64).")
  generator_blocks: int = _field(3, "ResNet blocks of the generator (reference: 3).")
  generator_max_sigma: float = _field(1.0, "Largest blur sigma of the generators, in "
                                      "pixels (reference: 1 on 256 px faces; App. D's kernel "
                                      "sizes need more, e.g. 10; inf: no bound), or auto: "
                                      "image_size / 256, the reference's bound scaled to the "
                                      "image size (0.25 px at 64 px, 0.5 px at 128 px), "
                                      "logged in one line; the real-face suite uses auto, the "
                                      "demo its value 0.25 (docs/real_faces.md, the clamp "
                                      "study). "
                                      "Replaces --generator_min_inv_var (= 1/sigma^2).",
                                      auto=True)
  generator_min_sigma: float = _field(1e-6, "Smallest blur sigma of the generators, in "
                                      "pixels (reference: 1e-6, the identity). Replaces "
                                      "--generator_max_inv_var (= 1/sigma^2).")
  kernel_size: int = _field(9, "Blur window k (odd) of every blur adversary: the "
                            "generators and gradient BAT (paper: 9).")
  mixed_precision: str = _field("float32", "Keras dtype policy: float32, mixed_float16 "
                                "(GPU, loss scaling), mixed_bfloat16 (CPU/TPU) or auto "
                                "(mixed_bfloat16 on a CPU with AMX or AVX512-BF16, else "
                                "float32; the log says which and why).", POLICIES)
  jit_compile: bool = _field(False, "XLA-compile the whole train step (for GPUs and "
                             "TPUs: on a CPU, XLA's convolutions are several times "
                             "slower; docs/performance.md).")
  seed: int = _field(0, "Seed of the data order, initialisation and attacks.")
  deterministic: bool = _field(False, "Deterministic ops and input pipeline (same seed, same "
                               "weights; a killed run restarted with the same flags ends as "
                               "an uninterrupted one); slower on GPU.")
  strategy: str = _field("default", "tf.distribute strategy: default (one device), mirrored "
                         "(all local GPUs), multi_worker (MultiWorkerMirroredStrategy; "
                         "cluster from the TF_CONFIG environment variable) or tpu "
                         "(TPUStrategy, TPU_NAME). --batch_size is the global batch, split "
                         "over the replicas.", STRATEGIES)
  output_dir: str = _field("runs/experiment", "Where checkpoints, logs, tables and results go.")
  image_every_epochs: int = _field(1, "Write adversarial images and sigma maps to "
                                   "TensorBoard every this many epochs.")

  def __post_init__(self):
    self.mode = MODES.canonical(self.mode)
    if isinstance(self.generator_max_sigma, str):
      self.generator_max_sigma = self._resolve_max_sigma(self.generator_max_sigma)
    for name in ("train_methods", "train_qualities", "test_methods", "test_qualities",
                 "extra_test_datasets", "auc_only_datasets"):
      value = getattr(self, name)
      setattr(self, name, tuple([value] if isinstance(value, str) else value))
    for field in dataclasses.fields(self):
      choices = field.metadata.get("choices")
      if choices is not None:
        checks.one_of(getattr(self, field.name), choices, field.name)
    if not (self.train_methods and self.train_qualities):
      raise ValueError("train_methods and train_qualities must name at least one method "
                       "and quality.")
    for name in ("image_size", "batch_size", "epochs", "g_steps", "generator_width",
                 "generator_blocks", "image_every_epochs"):
      checks.integer(getattr(self, name), name)
    for name in ("tsn_segments", "steps_per_epoch", "val_steps", "decay_epochs",
                 "train_frames_per_video"):
      checks.integer(getattr(self, name), name, minimum=0)
    checks.odd_integer(self.kernel_size, "kernel_size")
    if not 0 < self.generator_min_sigma < self.generator_max_sigma:
      raise ValueError(f"generator_min_sigma and generator_max_sigma must satisfy 0 < "
                       f"min < max (px), got {self.generator_min_sigma!r} and "
                       f"{self.generator_max_sigma!r}.")
    for name in ("weight_decay", "learning_rate", "generator_learning_rate"):
      checks.nonnegative(getattr(self, name), name)
    checks.number(self.dropout, "dropout", minimum=0.0, below=1.0)
    checks.number(self.decay_factor, "decay_factor", above=0.0, maximum=1.0)
    for param in attacks.registry.all_params():
      value = getattr(self, param.flag)
      if param.choices is not None:
        checks.one_of(value, param.choices, param.flag)
      elif isinstance(param.default, bool):
        continue
      elif isinstance(param.default, int):
        checks.integer(value, param.flag, minimum=min(param.default, 1))
      elif isinstance(param.default, float):
        checks.nonnegative(value, param.flag)

  def _resolve_max_sigma(self, value):
    """generator_max_sigma given as text: "auto" (logged in one line) or a number."""
    if value.strip().lower() != AUTO:
      try:
        return float(value)
      except ValueError:
        raise ValueError(f"generator_max_sigma must be a number > 0 (px) or 'auto', got "
                         f"{value!r}.") from None
    checks.integer(self.image_size, "image_size")
    sigma = auto_max_sigma(self.image_size)
    logging.warning("generator_max_sigma=auto: %g px = image_size %d / %d, the reference's "
                    "sigma <= 1 px on %d px faces scaled to this size.", sigma,
                    self.image_size, REFERENCE_SIZE, REFERENCE_SIZE)
    return sigma

  @property
  def run_name(self):
    """The row name of this run in the tables: the backbone for the baseline (no
    adversary), else the paper's name of the mode."""
    mode = MODES.get(self.mode)
    return mode.table_name if mode.adversarial else self.backbone


_BASE_NAMES = {f.name for f in dataclasses.fields(_Fields)}
for _param in attacks.registry.all_params():
  if _param.flag in _BASE_NAMES and _Fields.__dataclass_fields__[_param.flag].default != (
      _param.default):
    raise ValueError(f"adversary parameter {_param.flag!r} shares a config field with a "
                     "different default.")

ExperimentConfig = dataclasses.make_dataclass(
    "ExperimentConfig",
    [(p.flag, type(p.default), _field(p.default, p.help + ".", p.choices))
     for p in attacks.registry.all_params() if p.flag not in _BASE_NAMES],
    bases=(_Fields,),
    namespace={"__module__": __name__, "__doc__": """Everything one run needs.

  Fields: those of the module doc (`dataclasses.fields(ExperimentConfig)` lists them
  with their help, `metadata["help"]`), plus one per adversary parameter of the
  registry (`fgsm_eps_levels`, `pgd_eps_levels`, `pgd_step_levels`, `pgd_steps`,
  `bat_eps`, `bat_steps`, `sat_tau`, ...). Raises ValueError naming the first invalid field.
  """})
