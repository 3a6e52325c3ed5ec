"""Argument checks shared by every room of the library: one message per kind of mistake.

Each check returns the value in its canonical type and raises `ValueError` naming the
argument and what was expected. They look at Python values only (static shapes and
numbers), so they cost nothing inside `tf.function`.
"""

import numbers

import numpy as np


def integer(value, name, minimum=1):
  """`value` as an int; ValueError unless it is an integer (not a bool) >= `minimum`."""
  if (isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer))
      or value < minimum):
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
  return int(value)


def odd_integer(value, name, minimum=1):
  """`value` as an int; ValueError unless it is an odd integer >= `minimum`."""
  if (isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer))
      or value < minimum or value % 2 == 0):
    raise ValueError(f"{name} must be an odd integer >= {minimum}, got {value!r}.")
  return int(value)


def number(value, name, minimum=None, maximum=None, below=None, above=None):
  """`value` as a float; ValueError unless it is a finite real number in the given
  bounds (`minimum` <= value <= `maximum`, `above` < value < `below`)."""
  if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating,
                                                       np.integer)):
    raise ValueError(f"{name} must be a number, got {value!r}.")
  value = float(value)
  if not np.isfinite(value):
    raise ValueError(f"{name} must be finite, got {value!r}.")
  bounds = []
  if above is not None:
    bounds.append(f"> {above}")
  if minimum is not None:
    bounds.append(f">= {minimum}")
  if maximum is not None:
    bounds.append(f"<= {maximum}")
  if below is not None:
    bounds.append(f"< {below}")
  if ((minimum is not None and value < minimum) or (maximum is not None and value > maximum)
      or (below is not None and value >= below) or (above is not None and value <= above)):
    raise ValueError(f"{name} must be {' and '.join(bounds)}, got {value!r}.")
  return value


def nonnegative(value, name):
  """`value` as a float >= 0 (see `number`)."""
  return number(value, name, minimum=0.0)


def probability(value, name):
  """`value` as a float in [0, 1]."""
  value = number(value, name)
  if not 0.0 <= value <= 1.0:
    raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}.")
  return value


def one_of(value, choices, name):
  """`value` if it is one of `choices`; ValueError listing them otherwise."""
  if value not in choices:
    raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
  return value


def requires(condition, message):
  """ValueError(`message`) unless `condition`: flags that contradict each other."""
  if not condition:
    raise ValueError(message)


def face_crop_flags(margin, min_face_confidence, face_detector=None, align=False):
  """The face-cropping flags of `dfadv-detect` and `dfadv-preprocess`: --margin a
  finite number >= 1 (the crop at least the face box), --min_face_confidence a
  probability, --align only with MTCNN's landmarks."""
  number(margin, "--margin", minimum=1.0, maximum=10.0)
  probability(min_face_confidence, "--min_face_confidence")
  requires(not align or face_detector in (None, "mtcnn"),
           f"--align needs MTCNN's landmarks; --face_detector={face_detector} has none.")
