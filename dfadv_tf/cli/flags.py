"""absl flags from `ExperimentConfig`: one flag per field, with the field's help.

Fields with choices (mode, backbone, augment, the adversaries' string parameters) become
enum flags, so a typo is refused when the flags are parsed; tuples become list flags.
"""

import dataclasses
import os

from absl import flags

from dfadv_tf.experiment.config import ExperimentConfig


class FloatOrAutoParser(flags.FloatParser):
  """A float flag that also takes "auto" (resolved by `ExperimentConfig`)."""

  def parse(self, argument):
    if isinstance(argument, str) and argument.strip().lower() == "auto":
      return "auto"
    return super().parse(argument)

  def flag_type(self):
    return "float or 'auto'"


def define_config_flags(flag_values=flags.FLAGS, fields=None):
  """Defines one absl flag per `ExperimentConfig` field (or those in `fields`) in
  `flag_values`."""
  for field in dataclasses.fields(ExperimentConfig):
    if fields is not None and field.name not in fields:
      continue
    default, name = field.default, field.name
    text, choices = field.metadata["help"], field.metadata.get("choices")
    if field.metadata.get("auto"):
      flags.DEFINE(FloatOrAutoParser(), name, default, text, flag_values=flag_values)
    elif choices is not None:
      flags.DEFINE_enum(name, default, list(choices), text, flag_values=flag_values)
    elif isinstance(default, bool):
      flags.DEFINE_bool(name, default, text, flag_values=flag_values)
    elif isinstance(default, int):
      flags.DEFINE_integer(name, default, text, flag_values=flag_values)
    elif isinstance(default, float):
      flags.DEFINE_float(name, default, text, flag_values=flag_values)
    elif isinstance(default, tuple):
      flags.DEFINE_list(name, list(default), text, flag_values=flag_values)
    else:
      flags.DEFINE_string(name, default, text, flag_values=flag_values)


def config_from_flags(overrides=None, flag_values=flags.FLAGS):
  """An `ExperimentConfig` from the parsed flags (fields without a flag keep their
  defaults), with `overrides` applied last."""
  values = {f.name: flag_values[f.name].value
            for f in dataclasses.fields(ExperimentConfig) if f.name in flag_values}
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
