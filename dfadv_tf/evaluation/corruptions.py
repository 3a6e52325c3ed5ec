"""Test-time corruptions at graded severities: the registry of the robustness report.

Each entry is a function with one signature,

    apply(images, severity, *, seed, model=None, labels=None, values=None) -> images

images (B, H, W, 3) float32 in [-1, 1] in and out; `severity` a Python number in the
entry's unit (its `severities` are graded, mildest first); `seed` a (2,) int32 tensor for
stateless random ops (the same seed gives the same corruption); `model`, `labels` and
`values` ({flag: value} of the adversaries' parameters, e.g. an `ExperimentConfig`) are
for the white-box entries, which attack `model` itself through the adversary registry
(`dfadv_tf.attacks.ADVERSARIES`) with the other parameters taken from `values`.

| name | severity | what |
| --- | --- | --- |
| jpeg | JPEG quality | `tf.image.adjust_jpeg_quality` round trip (8-bit) |
| blur | sigma (px) | Gaussian blur, window 2 ceil(3 sigma) + 1, reflect padding |
| noise | std (grey levels of 255) | additive Gaussian noise, clipped to [-1, 1] |
| resize | scale | down-scaled (bilinear, antialiased) then up-scaled (bilinear) |
| h264 | H.264 CRF | libx264 round trip (8-bit, 4:2:0), each image a one-frame clip |
| fgsm | eps (grey levels of 255) | white-box FGSM (Eq. 1) on the scored detector |
| bat | eps (`--bat_param` units) | white-box gradient blur attack (Eq. 6), the `--bat_*` settings |

jpeg, blur and noise are the degradations of `dfadv_tf.ops.degrade`, which the
augmentations use too.

Adding one is one decorated function here (`h264` below is the pattern for a codec
that runs outside TensorFlow: a `tf.numpy_function` over 8-bit images);
`dfadv-robustness --corruptions=<name>` and the report then have it.
"""

import dataclasses
import types
import typing

import numpy as np
import tensorflow as tf

from dfadv_tf import attacks
from dfadv_tf import checks
from dfadv_tf.data import codecs
from dfadv_tf.ops import degrade


@dataclasses.dataclass(frozen=True)
class Corruption:
  """A registered corruption: `apply` (the module doc's signature), the `unit` of its
  severities, its default `severities` (mildest first), and whether it is `white_box`
  (needs the scored detector and the labels)."""
  name: str
  unit: str
  severities: tuple
  apply: typing.Callable
  white_box: bool = False
  bounds: tuple = (0.0, None, None)  # (minimum, maximum, above) of a severity

  def check(self, severity):
    """`severity` as a float; ValueError naming the corruption and its valid range
    unless it is a finite number in it (checked before any image is corrupted)."""
    minimum, maximum, above = self.bounds
    return checks.number(severity, f"{self.name} severity ({self.unit})", minimum=minimum,
                         maximum=maximum, above=above)


_REGISTRY = {}
CORRUPTIONS = types.MappingProxyType(_REGISTRY)  # name -> Corruption, read-only


def register(name, unit, severities, white_box=False, minimum=0.0, maximum=None,
             above=None):
  """Decorator: registers `fn` as corruption `name` (ValueError if taken); a severity
  must lie in [minimum, maximum] and be > `above` (`Corruption.check`)."""

  def add(fn):
    if name in _REGISTRY:
      raise ValueError(f"corruption {name!r} is registered twice.")
    _REGISTRY[name] = Corruption(name, unit, tuple(severities), fn, white_box,
                                 (minimum, maximum, above))
    return fn

  return add


def get(name):
  """The `Corruption` registered as `name` (ValueError listing the names otherwise)."""
  if name not in _REGISTRY:
    raise ValueError(f"unknown corruption {name!r}; expected one of {sorted(_REGISTRY)}.")
  return _REGISTRY[name]


def _to_unit(images):
  return tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0)


@register("jpeg", "JPEG quality", (90, 70, 50, 30, 10), maximum=100)
def jpeg(images, quality, **_):
  """JPEG round trip at `quality` (0-100) of every image."""
  quality = int(quality)
  if not 0 <= quality <= 100:
    raise ValueError(f"jpeg quality must be in [0, 100], got {quality}.")
  return degrade.jpeg(images, quality)


@register("blur", "sigma (px)", (0.5, 1.0, 1.5, 2.0, 3.0), minimum=None, above=0.0,
          maximum=100.0)
def blur(images, sigma, **_):
  """Gaussian blur of standard deviation `sigma` px (> 0): window 2 ceil(3 sigma) + 1,
  weights normalised to sum 1, reflect padding (the image sides must exceed half the
  window): `ops.degrade.gaussian_blur`."""
  if sigma <= 0:
    raise ValueError(f"blur sigma must be > 0 px, got {sigma}.")
  return degrade.gaussian_blur(images, sigma, degrade.blur_window(sigma))


@register("noise", "std (grey levels of 255)", (2.0, 4.0, 8.0, 16.0, 32.0), maximum=255.0)
def noise(images, std, *, seed, **_):
  """Additive Gaussian noise of standard deviation `std` grey levels, clipped; the noise
  pattern is a function of `seed` alone, so the severities differ only in its scale."""
  if std < 0:
    raise ValueError(f"noise std must be >= 0, got {std}.")
  return degrade.add_noise(images, std, tf.random.stateless_normal(tf.shape(images),
                                                                  seed=seed))


@register("resize", "scale", (0.75, 0.5, 0.35, 0.25), minimum=None, above=0.0, maximum=1.0)
def resize(images, scale, **_):
  """Down-scales by `scale` in (0, 1] (bilinear, antialiased), then back up (bilinear)."""
  if not 0 < scale <= 1:
    raise ValueError(f"resize scale must be in (0, 1], got {scale}.")
  size = tf.shape(images)[1:3]
  small = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * scale), tf.int32), 1)
  down = tf.image.resize(images, small, method="bilinear", antialias=True)
  return tf.clip_by_value(tf.image.resize(down, size, method="bilinear"), -1.0, 1.0)


def _to_uint8(images):
  """[-1, 1] float images -> uint8 (rounded to the nearest grey level)."""
  return tf.cast(tf.round(_to_unit(images) * 255.0), tf.uint8)


@register("h264", "H.264 CRF", (23, 28, 33, 38, 43), maximum=51)
def h264(images, crf, **_):
  """H.264 round trip at `crf` (0-51; FF++'s c23 / c40 are 23 / 40) through libx264
  (`dfadv_tf.data.codecs.h264`: 4:2:0, `medium` preset, one thread, so deterministic).
  Every image is encoded as its own one-frame clip: an image's result does not depend on
  the others of its batch (one clip of the batch would predict frames from each other,
  and even all-intra x264 shares rate control across frames)."""
  crf = int(crf)
  if not 0 <= crf <= 51:
    raise ValueError(f"h264 crf must be in [0, 51], got {crf}.")

  def round_trip(batch):
    return np.stack([codecs.h264(image[None], crf)[0] for image in batch]) if len(
        batch) else batch

  frames = tf.numpy_function(round_trip, [_to_uint8(images)], tf.uint8, stateful=False)
  out = tf.cast(frames, tf.float32) * (2.0 / 255.0) - 1.0
  return tf.ensure_shape(out, images.shape)


def _white_box(adversary_name, param, to_value=lambda severity: severity):
  """apply() attacking `model` with adversary `adversary_name`, `param` set to
  to_value(severity), its other parameters from `values`."""

  def apply(images, severity, *, model=None, labels=None, values=None, **_):
    if model is None or labels is None:
      raise ValueError(f"corruption {adversary_name!r} is a white-box attack: it needs the "
                       "model and the labels.")
    adversary = attacks.get(adversary_name)
    params = adversary.params_from(values if values is not None else {})
    params[param] = to_value(severity)
    return adversary.attack(model, images, labels, **params).images

  return apply


register("fgsm", "eps (grey levels of 255)", (0.5, 1.0, 2.0, 4.0, 8.0), white_box=True,
         maximum=255.0)(
    _white_box("fgsm", "eps_levels"))
register("bat", "eps (--bat_param units)", (1.0, 10.0, 100.0, 1000.0), white_box=True)(
    _white_box("bat", "eps"))
