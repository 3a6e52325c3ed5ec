"""The configuration of one experiment: `ExperimentConfig`, one field per flag.

Every field carries its help text (`metadata["help"]`), so the binaries' flags
(`dfadv_tf.cli.flags`), the flag files under `flags/`, this dataclass and the
`config.json` of every run folder are one thing. The adversaries' parameters are fields
too, one per registered `Param` of `dfadv_tf.attacks.ADVERSARIES` (`fgsm_eps`,
`bat_steps`, ...), added from the registry, so a new adversary brings its fields.

Defaults are the paper's (Sec. IV) and the reference code's where the paper is silent
(docs/reference.md). Units: learning rates per update, step sizes in each field's help,
`decay_epochs` in epochs (0 = no decay), `steps_per_epoch` 0 = one pass over the
balanced train split.
"""

import dataclasses

from dfadv_tf import attacks
from dfadv_tf import checks
from dfadv_tf.augment.layers import AUGMENTATIONS
from dfadv_tf.models.backbones import BACKBONES

GENERATOR_MODES = ("gen_bat", "two_gen_bat", "combined")
MODES = ("baseline", *[a.mode for a in attacks.ADVERSARIES.values()], *GENERATOR_MODES)
PAPER_NAMES = {"baseline": "Baseline",
               **{a.mode: f"+ {a.paper_name}" for a in attacks.ADVERSARIES.values()},
               "gen_bat": "+ Gen-BAT", "two_gen_bat": "+ Two-Gen-BAT",
               "combined": "+ Combined AT"}
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def _field(default, help, choices=None):  # pylint: disable=redefined-builtin
  return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def _mode_help():
  names = ", ".join(f"{mode} = {PAPER_NAMES[mode].lstrip('+ ')}" for mode in MODES)
  return f"Training mode (= the paper's name): {names}."


@dataclasses.dataclass
class _Fields:
  """The fields that are not an adversary's parameters (see ExperimentConfig)."""
  mode: str = _field("baseline", _mode_help(), MODES)
  backbone: str = _field("efficientnetb5", "Detector backbone.", tuple(BACKBONES))
  weights: str = _field("none", "Backbone weights: none, imagenet (downloads; needs the "
                        "network) or the path of a local .weights.h5 file.")
  image_size: int = _field(256, "Input side in pixels.")
  dropout: float = _field(0.0, "Dropout rate before the 2-logit head.")
  tsn_segments: int = _field(0, "TSN (end of Sec. IV-A): segments K per video, one frame "
                             "each, logits averaged; clips for training and video-level "
                             "tests (0: single frames).")
  map_supervision: bool = _field(False, "Train with the records' manipulation masks (L1 map "
                                 "loss of the stehouwer_xception detector).")
  base_augment: str = _field("none", "Augmentation of every training image before "
                             "--augment: reference (the reference code's pipeline, "
                             "ReferenceAugment) or none (the paper's rows: README "
                             "\"Fidelity\").", AUGMENTATIONS)
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
  generator_min_inv_var: float = _field(1.0, "Lower clamp of the generators' inverse "
                                        "variance 1/sigma^2, in 1/px^2 (reference: 1, so "
                                        "sigma <= 1 px; App. D's kernel sizes need a lower "
                                        "floor, e.g. 0.01: sigma <= 10 px).")
  generator_max_inv_var: float = _field(1e12, "Upper clamp of the generators' inverse "
                                        "variance, in 1/px^2 (reference: 1e12, the "
                                        "identity).")
  kernel_size: int = _field(9, "Blur window k (odd) of every blur adversary: the "
                            "generators and gradient BAT (paper: 9).")
  mixed_precision: str = _field("float32", "Keras dtype policy: float32, mixed_float16 "
                                "(GPU, loss scaling), mixed_bfloat16 (CPU/TPU) or auto "
                                "(mixed_bfloat16 on a CPU with AMX or AVX512-BF16, else "
                                "float32; the log says which and why).", POLICIES)
  jit_compile: bool = _field(False, "XLA-compile the whole train step.")
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
    checks.nonnegative(self.generator_min_inv_var, "generator_min_inv_var")
    if not self.generator_max_inv_var > self.generator_min_inv_var:
      raise ValueError(f"generator_max_inv_var must be > generator_min_inv_var, got "
                       f"{self.generator_max_inv_var!r} and {self.generator_min_inv_var!r}.")
    for name in ("weight_decay", "learning_rate", "generator_learning_rate"):
      checks.nonnegative(getattr(self, name), name)
    checks.number(self.dropout, "dropout", minimum=0.0, below=1.0)
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

  @property
  def run_name(self):
    """The row name of this run in the tables: the backbone for the baseline, else the
    paper's name of the mode."""
    return PAPER_NAMES[self.mode] if self.mode != "baseline" else self.backbone


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
  registry (`fgsm_eps`, `pgd_eps`, `pgd_step_size`, `pgd_steps`, `bat_eps`,
  `bat_steps`, `sat_tau`, ...). Raises ValueError naming the first invalid field.
  """})


def adversary_params(config, adversary):
  """{parameter: value} of `adversary` (an `attacks.Adversary`) in `config`."""
  return adversary.params_from(config)
