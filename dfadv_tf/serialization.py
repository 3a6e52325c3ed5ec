"""Keras serialisation of models that wrap other models (training modes, TSN, attention
detectors): their `from_config` rebuilds the nested models from the config."""

import copy

import keras


def deserialize_nested(config, *keys):
  """A copy of `config` with the serialised Keras objects under `keys` rebuilt.

  The nested dicts are deep-copied first: deserialisation consumes what it is given, and
  Keras may call `from_config` twice on one config (e.g. when cloning)."""
  config = dict(config)
  for key in keys:
    config[key] = keras.saving.deserialize_keras_object(copy.deepcopy(config[key]))
  return config
