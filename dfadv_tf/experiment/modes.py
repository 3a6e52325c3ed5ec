"""The mode factory: an `ExperimentConfig` -> the compiled training mode.

baseline -> `DetectorModel`; every registered adversary's mode (grad_aat, grad_pgd,
grad_bat, grad_sat, ...) -> `GradientATModel(attack=<adversary>)` with the adversary's
parameters read from the config; gen_bat / two_gen_bat / combined ->
`GeneratorBATModel` with one or two generators (+ the FGSM step of Combined AT).
"""

from absl import logging
import keras

from dfadv_tf import attacks
from dfadv_tf import precision
from dfadv_tf.models.backbones import build_detector
from dfadv_tf.models.tsn import TSNDetector
from dfadv_tf.training import DetectorModel, GeneratorBATModel, GradientATModel
from dfadv_tf.training.optimizers import RAdam, StepDecay


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
  detector = build_detector_of(config)
  adversary = attacks.registry.by_mode(config.mode)
  compile_kwargs = {}
  if config.mode == "baseline":
    model = DetectorModel(detector)
  elif adversary is not None:
    model = GradientATModel(detector, attack=adversary.name,
                            attack_kwargs=adversary.params_from(config), seed=config.seed)
  else:
    model = GeneratorBATModel(
        detector, generators=1 if config.mode == "gen_bat" else 2, g_steps=config.g_steps,
        kernel_size=config.kernel_size,
        combined_fgsm_eps=config.fgsm_eps if config.mode == "combined" else None,
        generator_kwargs={"width": config.generator_width,
                          "n_blocks": config.generator_blocks,
                          "min_inv_var": config.generator_min_inv_var,
                          "max_inv_var": config.generator_max_inv_var})
    compile_kwargs["generator_optimizer"] = RAdam(
        schedule(config, config.generator_learning_rate, steps, config.g_steps),
        weight_decay=config.weight_decay,
        decoupled_weight_decay=config.decoupled_weight_decay)
  model.compile(optimizer=RAdam(schedule(config, config.learning_rate, steps),
                                weight_decay=config.weight_decay,
                                decoupled_weight_decay=config.decoupled_weight_decay),
                jit_compile=config.jit_compile, **compile_kwargs)
  return model
