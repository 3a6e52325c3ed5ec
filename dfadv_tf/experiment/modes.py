"""The training modes: one registry, `MODES`, and the factory from an `ExperimentConfig`.

A mode is one `Mode`, registered with `register`: its name (the value of `--mode`, the
run folder, the key of results), its display name (tables: "Two-Gen-BAT"), the model it
builds from a config and a detector, the config fields it reads, the class balance of
its training batches and what its blur needs of the image size. Nothing else lists the
modes: the config's choices, the flags' help, the data pipeline, the pre-flight checks,
the benchmarks and the tests read `MODES`. Adding a mode = one `register(Mode(...))`;
every registered adversary of `dfadv_tf.attacks` brings its mode (`GradientATModel`).

baseline -> `DetectorModel`; grad_aat, grad_pgd, grad_bat, grad_sat, ... ->
`GradientATModel(attack=<adversary>)`; gen_bat / two_gen_bat / combined_at ->
`GeneratorBATModel` with one or two generators (+ the FGSM step of Combined AT). The old
names `plain` (the baseline) and `combined` (Combined AT; `--augment=combined` is an
augmentation) still work for one release, with a warning.
"""

import dataclasses
import typing

from absl import logging
import keras

from dfadv_tf import attacks
from dfadv_tf import precision
from dfadv_tf.models.backbones import build_detector
from dfadv_tf.models.tsn import TSNDetector
from dfadv_tf.registry import Registry
from dfadv_tf.training import DetectorModel, GeneratorBATModel, GradientATModel
from dfadv_tf.training.optimizers import RAdam, StepDecay

BALANCES = ("oversample", "halves")
BASELINE = "baseline"  # the mode without an adversary: the other modes' reference


@dataclasses.dataclass(frozen=True)
class Mode:
  """A training mode.

  name: `--mode` value, run folder and results key.
  display_name: the paper's name, in tables and logs ("Two-Gen-BAT").
  build: (config, detector) -> the uncompiled training model (a `TrainingModel`).
  flags: the `ExperimentConfig` fields the mode reads beyond the shared ones.
  balance: how its training batches mix the classes: "oversample" (real and fake drawn
    50/50) or "halves" (exactly B/2 of each, alternating real, fake, ...: each of its two
    generators takes one half, `GeneratorBATModel(routing="halves")`).
  generators: blur generators it trains (they need image_size a multiple of 4).
  blurs: whether it blurs with window `kernel_size` (image_size > kernel_size // 2).
  adversarial: False for the baseline (no adversarial rows).
  in_paper: whether it is one of the paper's rows (Tables I-VI).
  """
  name: str
  display_name: str
  build: typing.Callable
  flags: tuple = ()
  balance: str = "oversample"
  generators: int = 0
  blurs: bool = False
  adversarial: bool = True
  in_paper: bool = True

  @property
  def table_name(self):
    """Its row in the paper's tables: "Baseline", "+ Two-Gen-BAT", ..."""
    return f"+ {self.display_name}" if self.adversarial else self.display_name


MODES = Registry("training mode")


def register(mode):
  """Registers `mode` (a `Mode`); ValueError if its name is taken or a field is off."""
  if mode.balance not in BALANCES:
    raise ValueError(f"mode {mode.name!r}: balance must be one of {BALANCES}, got "
                     f"{mode.balance!r}.")
  return MODES.add(mode.name, mode)


def names():
  """The modes' names, in registration order."""
  return MODES.names()


def get(name):
  """The `Mode` called `name` (an old name: its new one, with a warning)."""
  return MODES.get(name)


def _generator_bat(generators, combined=False):
  def build(config, detector):
    return GeneratorBATModel(
        detector, generators=generators, g_steps=config.g_steps,
        kernel_size=config.kernel_size,
        combined_eps_levels=config.fgsm_eps_levels if combined else None,
        generator_kwargs={"width": config.generator_width,
                          "n_blocks": config.generator_blocks,
                          "min_inv_var": 1.0 / config.generator_max_sigma ** 2,
                          "max_inv_var": 1.0 / config.generator_min_sigma ** 2})
  return build


_GENERATOR_FLAGS = ("g_steps", "kernel_size", "generator_width", "generator_blocks",
                    "generator_max_sigma", "generator_min_sigma",
                    "generator_learning_rate")

register(Mode(BASELINE, "Baseline", lambda config, detector: DetectorModel(detector),
              adversarial=False))
MODES.rename("plain", BASELINE)
for _adversary in attacks.ADVERSARIES.values():
  register(Mode(
      _adversary.mode, _adversary.paper_name,
      lambda config, detector, a=_adversary: GradientATModel(
          detector, attack=a.name, attack_kwargs=a.params_from(config), seed=config.seed),
      flags=tuple(p.flag for p in _adversary.params),
      blurs=any(p.flag == "kernel_size" for p in _adversary.params),
      in_paper=_adversary.in_paper))
register(Mode("gen_bat", "Gen-BAT", _generator_bat(1), flags=_GENERATOR_FLAGS,
              generators=1, blurs=True))
register(Mode("two_gen_bat", "Two-Gen-BAT", _generator_bat(2), flags=_GENERATOR_FLAGS,
              balance="halves", generators=2, blurs=True))
register(Mode("combined_at", "Combined AT", _generator_bat(2, combined=True),
              flags=_GENERATOR_FLAGS + ("fgsm_eps_levels",), balance="halves", generators=2,
              blurs=True))
MODES.rename("combined", "combined_at")


def schedule(config, learning_rate, steps, updates_per_step=1):
  """`learning_rate`, or its step decay every `config.decay_epochs` epochs of `steps`
  batches (`updates_per_step` optimizer updates per batch)."""
  if not config.decay_epochs:
    return learning_rate
  return StepDecay.from_epochs(learning_rate, config.decay_epochs, steps,
                               updates_per_step=updates_per_step,
                               factor=config.decay_factor)


def build_detector_of(config):
  """The detector of `config` (`build_detector`, in a `TSNDetector` for clips)."""
  weights = None if config.weights in ("", "none") else config.weights
  detector = build_detector(config.backbone, config.image_size, weights=weights,
                            dropout=config.dropout)
  if config.tsn_segments:
    detector = TSNDetector(detector, config.tsn_segments)
  return detector


def build_training_model(config, steps):
  """The compiled training mode of `config` (`steps` batches per epoch for the
  learning-rate schedules); seeds Keras and sets the dtype policy first."""
  keras.utils.set_random_seed(config.seed)
  policy, why = precision.resolve_policy(config.mixed_precision)
  logging.info("dtype policy %s (%s)", policy, why)
  keras.mixed_precision.set_global_policy(policy)
  mode = get(config.mode)
  model = mode.build(config, build_detector_of(config))
  compile_kwargs = {}
  if mode.generators:
    compile_kwargs["generator_optimizer"] = RAdam(
        schedule(config, config.generator_learning_rate, steps, config.g_steps),
        weight_decay=config.weight_decay,
        decoupled_weight_decay=config.decoupled_weight_decay)
  model.compile(optimizer=RAdam(schedule(config, config.learning_rate, steps),
                                weight_decay=config.weight_decay,
                                decoupled_weight_decay=config.decoupled_weight_decay),
                jit_compile=config.jit_compile, **compile_kwargs)
  return model
