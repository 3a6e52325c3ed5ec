"""absl flags from `ExperimentConfig`: one flag per field, with the field's help.

Fields with choices (mode, backbone, augment, the adversaries' string parameters) become
enum flags, so a typo is refused when the flags are parsed; tuples become list flags.

A binary that reads an experiment without training it (dfadv-evaluate, dfadv-robustness)
names its own groups (`DATA`, `ADVERSARY`): its --help lists those; the other fields are
still defined, so the flag file a model was trained with can be passed as it is, and
--helpfull lists them under `OTHER_MODULE`.

Renamed flags (`config.RENAMED`) still parse for one release: each one given logs a
one-line warning naming its replacement, and `config_from_flags` sets the replacement
from it (converted to its unit).
"""

import dataclasses
import os

from absl import flags
from absl import logging

from dfadv_tf import attacks
from dfadv_tf.experiment import config as config_lib
from dfadv_tf.experiment.config import ExperimentConfig

# The fields that choose an experiment's data, test grids and output folder.
DATA = ("data_root", "dataset", "train_methods", "train_qualities", "test_methods",
        "test_qualities", "extra_test_datasets", "auc_only_datasets", "image_size",
        "batch_size", "tsn_segments", "map_supervision", "seed", "output_dir")
# The adversaries' parameters (`--fgsm_eps_levels`, `--bat_steps`, `--kernel_size`, ...).
ADVERSARY = tuple(param.flag for param in attacks.registry.all_params())
# Where --helpfull lists the fields a binary accepts but does not use.
OTHER_MODULE = "training flags (accepted, e.g. from a training flag file; not used here)"
DEPRECATED_MODULE = "deprecated flags (parsed for one release; each warns)"


class FloatOrAutoParser(flags.FloatParser):
  """A float flag that also takes "auto" (resolved by `ExperimentConfig`)."""

  def parse(self, argument):
    if isinstance(argument, str) and argument.strip().lower() == "auto":
      return "auto"
    return super().parse(argument)

  def flag_type(self):
    return "float or 'auto'"


def define_config_flags(flag_values=flags.FLAGS, fields=None, own=None):
  """Defines one absl flag per `ExperimentConfig` field (or those in `fields`) in
  `flag_values`. `own`: the fields this binary uses (default: all); the others are
  defined under `OTHER_MODULE`, so that its --help leaves them out."""
  for field in dataclasses.fields(ExperimentConfig):
    if fields is not None and field.name not in fields:
      continue
    default, name = field.default, field.name
    text, choices = field.metadata["help"], field.metadata.get("choices")
    kwargs = {"flag_values": flag_values}
    if own is not None and name not in own:
      kwargs["module_name"] = OTHER_MODULE
    if field.metadata.get("auto"):
      flags.DEFINE(FloatOrAutoParser(), name, default, text, **kwargs)
    elif choices is not None:
      flags.DEFINE_enum(name, default, list(choices), text, **kwargs)
    elif isinstance(default, bool):
      flags.DEFINE_bool(name, default, text, **kwargs)
    elif isinstance(default, int):
      flags.DEFINE_integer(name, default, text, **kwargs)
    elif isinstance(default, float):
      flags.DEFINE_float(name, default, text, **kwargs)
    elif isinstance(default, tuple):
      flags.DEFINE_list(name, list(default), text, **kwargs)
    else:
      flags.DEFINE_string(name, default, text, **kwargs)
  for old, (new, _, what, unit) in config_lib.RENAMED.items():
    if fields is None or new in fields:
      flags.DEFINE_float(old, None, f"Deprecated: {what}; use --{new} ({unit}).",
                         flag_values=flag_values, module_name=DEPRECATED_MODULE)


def _replaced(flag_values):
  """{new flag: value} from the deprecated flags given (one warning line each)."""
  out = {}
  for old, (new, convert, _, _) in config_lib.RENAMED.items():
    if old not in flag_values or not flag_values[old].present:
      continue
    value = convert(flag_values[old].value)
    if flag_values[new].present:
      raise ValueError(f"--{old} (deprecated) and --{new} set the same thing: keep "
                       f"--{new}.")
    logging.warning("--%s is deprecated and goes in the next release: use --%s=%g.", old,
                    new, value)
    out[new] = value
  return out


def config_from_flags(overrides=None, flag_values=flags.FLAGS):
  """An `ExperimentConfig` from the parsed flags (fields without a flag keep their
  defaults), with `overrides` applied last."""
  values = {f.name: flag_values[f.name].value
            for f in dataclasses.fields(ExperimentConfig) if f.name in flag_values}
  values.update(_replaced(flag_values))
  values.update(overrides or {})
  return ExperimentConfig(**values)


def parse_detectors(items):
  """--detectors ['name=path' or 'path'] -> {name: path}, names unique (a bare path is
  named after its folder)."""
  out = {}
  for item in items:
    name, _, path = item.rpartition("=")
    name = name or os.path.basename(os.path.dirname(os.path.abspath(path)))
    if name in out:
      raise ValueError(f"--detectors names {name!r} twice.")
    out[name] = path
  return out
