"""Detectors: an ImageNet backbone with a 2-logit head (paper Sec. IV, App. A).

`build_detector(name, image_size)` returns a functional `keras.Model`

    images (B, H, W, 3) float in [-1, 1]
      -> InputScaling (the family's input range)  -> backbone (a nested keras.Model)
      -> GlobalAveragePooling2D "pool" -> Dropout "dropout" (if > 0) -> Dense(2) "logits"

with float32 logits (fake = 1, real = 0) whatever the dtype policy. The backbones are
`keras.applications`' EfficientNet B0-B7, EfficientNetV2, Xception, MobileNet (alpha 0.25,
0.5, 0.75, 1.0), MobileNetV2, MobileNetV3 Small / Large and ResNet50 without their top,
plus `small_cnn`, a few conv-BN-ReLU stride-2 blocks for tests and the CPU demo.
`INPUT_RANGES` is the one table of what each family takes (also read by
`models.classifiers`). A keras.applications backbone built from random weights logs a
one-line warning once per process: such a detector needs pretrained weights to learn
anything on real faces (App. A: every backbone starts from ImageNet).
"""

import dataclasses
import functools
import os
import types
import typing

from absl import logging
import keras

from dfadv_tf import checks


@dataclasses.dataclass(frozen=True)
class Backbone:
  """A registered detector family member.

  name: the `build_detector` name. family: its input family (a key of INPUT_SCALING).
  build: `build(image_size, weights, dropout, drop_connect)` -> a detector; None for the
    keras.applications backbones that `build_detector` wraps itself.
  application: the keras.applications constructor, or None.
  """
  name: str
  family: str
  build: typing.Optional[typing.Callable] = None
  application: typing.Optional[typing.Callable] = None


_REGISTRY = {}
# name -> Backbone, read-only. The Table VI detectors register themselves when
# `dfadv_tf.models` is imported (its __init__ imports their modules).
BACKBONES = types.MappingProxyType(_REGISTRY)


def register_backbone(name, family, build=None, application=None):
  """Registers `name` for `build_detector` (ValueError if it is taken)."""
  if name in _REGISTRY:
    raise ValueError(f"backbone {name!r} is registered twice.")
  _REGISTRY[name] = Backbone(name, family, build, application)


@dataclasses.dataclass(frozen=True)
class InputRange:
  """What a family's keras.applications model takes, from images in [-1, 1]:
  `images * scale + offset`, then for `caffe` (ResNet50's non-affine preprocessing:
  `keras.applications.resnet50.preprocess_input`) RGB -> BGR minus the ImageNet channel
  means. min_size: the smallest input side its keras.applications model accepts."""
  scale: float = 1.0
  offset: float = 0.0
  caffe: bool = False
  min_size: int = 1


# The one table of input ranges: family -> InputRange. keras' EfficientNet (V1, V2) and
# MobileNetV3 take [0, 255] and normalise inside; Xception, Inception, MobileNet V1 / V2
# take [-1, 1] ("tf" preprocessing); ResNet50 takes caffe-preprocessed BGR pixels.
INPUT_RANGES = {
    "efficientnet": InputRange(127.5, 127.5, min_size=32),
    "efficientnetv2": InputRange(127.5, 127.5, min_size=32),
    "xception": InputRange(min_size=71),
    "inception": InputRange(min_size=75),
    "mobilenet": InputRange(min_size=32),
    "mobilenetv2": InputRange(min_size=32),
    "mobilenetv3": InputRange(127.5, 127.5, min_size=32),
    "resnet": InputRange(127.5, 127.5, caffe=True, min_size=32),
    "small_cnn": InputRange(),
}
# Views of INPUT_RANGES: family -> (scale, offset), and the keras.applications families'
# smallest input side.
INPUT_SCALING = types.MappingProxyType(
    {family: (r.scale, r.offset) for family, r in INPUT_RANGES.items()})
MIN_IMAGE_SIZE = types.MappingProxyType(
    {family: r.min_size for family, r in INPUT_RANGES.items() if family != "small_cnn"})
# ImageNet channel means (B, G, R) of caffe preprocessing.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
MOBILENET_ALPHAS = (0.25, 0.5, 0.75, 1.0)

for _i in range(8):
  register_backbone(f"efficientnetb{_i}", "efficientnet",
                    application=getattr(keras.applications, f"EfficientNetB{_i}"))
for _v in ("B0", "B1", "B2", "B3", "S", "M", "L"):
  register_backbone(f"efficientnetv2{_v.lower()}", "efficientnetv2",
                    application=getattr(keras.applications, f"EfficientNetV2{_v}"))
register_backbone("xception", "xception", application=keras.applications.Xception)
for _alpha in MOBILENET_ALPHAS:  # mobilenet025, mobilenet050, mobilenet075, mobilenet100
  register_backbone(f"mobilenet{round(_alpha * 100):03d}", "mobilenet",
                    application=functools.partial(keras.applications.MobileNet,
                                                  alpha=_alpha))
register_backbone("mobilenetv2", "mobilenetv2", application=keras.applications.MobileNetV2)
register_backbone("mobilenetv3small", "mobilenetv3",
                  application=keras.applications.MobileNetV3Small)
register_backbone("mobilenetv3large", "mobilenetv3",
                  application=keras.applications.MobileNetV3Large)
register_backbone("resnet50", "resnet", application=keras.applications.ResNet50)
register_backbone("small_cnn", "small_cnn")

# keras.applications builds EfficientNet with this stochastic-depth rate.
_KERAS_DROP_CONNECT = 0.2
_SMALL_CNN_MULTIPLIERS = (1, 2, 4, 8)


def get(name):
  """The registered `Backbone` `name` (ValueError listing the names otherwise)."""
  if name not in _REGISTRY:
    raise ValueError(f"Unknown backbone {name!r}; expected one of {sorted(_REGISTRY)}.")
  return _REGISTRY[name]


@keras.saving.register_keras_serializable(package="dfadv_tf")
class InputScaling(keras.layers.Layer):
  """`images * scale + offset`: maps [-1, 1] images to a backbone's input range; with
  `caffe`, then RGB -> BGR minus `CAFFE_BGR_MEAN` (an `InputRange`)."""

  def __init__(self, scale=1.0, offset=0.0, caffe=False, **kwargs):
    super().__init__(**kwargs)
    self.scale = float(scale)
    self.offset = float(offset)
    self.caffe = bool(caffe)

  def call(self, images):
    images = images * keras.ops.cast(self.scale, images.dtype) + keras.ops.cast(
        self.offset, images.dtype)
    if self.caffe:
      images = keras.ops.flip(images, axis=-1) - keras.ops.cast(CAFFE_BGR_MEAN,
                                                                images.dtype)
    return images

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    config = super().get_config()
    config.update(scale=self.scale, offset=self.offset)
    if self.caffe:
      config["caffe"] = True
    return config


def input_scaling(family, name="input_scaling"):
  """The `InputScaling` layer of `family` (a key of INPUT_RANGES)."""
  entry = INPUT_RANGES[family]
  return InputScaling(entry.scale, entry.offset, caffe=entry.caffe, name=name)


def _small_cnn(input_shape, width):
  """Four conv3x3(stride 2)-BN-ReLU blocks of width x (1, 2, 4, 8) channels.

  BatchNorm momentum 0.9 (Keras: 0.99): the moving statistics that evaluation uses
  follow the weights within the few hundred steps of a CPU run."""
  inputs = keras.Input(input_shape)
  x = inputs
  for i, multiplier in enumerate(_SMALL_CNN_MULTIPLIERS, start=1):
    x = keras.layers.Conv2D(width * multiplier, 3, strides=2, padding="same",
                            use_bias=False, name=f"block{i}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
    x = keras.layers.ReLU(name=f"block{i}_relu")(x)
  return keras.Model(inputs, x, name="small_cnn")


def set_drop_connect(backbone, drop_connect):
  """Rescales EfficientNet's per-block stochastic-depth Dropout layers (named `*drop`,
  rate growing linearly with depth up to 0.2 in keras.applications) to `drop_connect`."""
  for layer in backbone.layers:
    if isinstance(layer, keras.layers.Dropout) and layer.name.endswith("drop"):
      layer.rate = layer.rate * drop_connect / _KERAS_DROP_CONNECT


def application(name, input_shape, weights):
  """The keras.applications backbone `name` without its top; a failed ImageNet download
  re-raised with the offline alternative, a weights file of another model named."""
  family = get(name).family
  low = MIN_IMAGE_SIZE[family]
  if min(input_shape[:2]) < low:
    raise ValueError(f"image_size {input_shape[:2]} is too small for backbone {name!r}: "
                     f"{family} needs at least {low} x {low} pixels.")
  try:
    return get(name).application(include_top=False, weights=weights,
                                 input_shape=input_shape)
  except Exception as e:  # pylint: disable=broad-except
    # keras.utils.get_file raises a bare Exception ("URL fetch failure ...") when the
    # download fails; anything else is not a download problem.
    if weights != "imagenet" and isinstance(e, ValueError):
      raise _weights_mismatch(weights, name, input_shape, e) from e
    if weights != "imagenet" or not (type(e) is Exception or isinstance(e, OSError)):
      raise
    raise OSError(
        f"Could not download the ImageNet weights of backbone {name!r} ({e}). This "
        "machine looks offline: on a machine with network access run "
        f"`get_backbone(build_detector({name!r}, size, weights='imagenet'))"
        ".save_weights('backbone.weights.h5')` (or copy keras' cached "
        "~/.keras/models/*_notop.h5), then pass "
        "weights='/path/to/backbone.weights.h5' (a local weights file).") from e


def _weights_mismatch(weights, name, input_shape, error):
  return ValueError(f"weights file {weights} does not fit backbone {name!r} at input "
                    f"shape {input_shape}: expected the `.weights.h5` of that backbone or, "
                    "for a keras.applications backbone, Keras' own legacy HDF5 file of "
                    f"that model (`*_notop.h5` / `*_no_top.h5`) ({str(error).splitlines()[0]})")


_WARNED_RANDOM = set()


def _warn_random_weights(name):
  """Logs once per process that keras.applications backbone `name` starts from random
  weights."""
  if name in _WARNED_RANDOM:
    return
  _WARNED_RANDOM.add(name)
  logging.warning("backbone %r starts from random weights: results on real faces need "
                  "pretrained weights (--weights=imagenet, or a local file such as Keras' "
                  "*_notop.h5 / *_no_top.h5).", name)


def image_shape(image_size):
  """(height, width, 3) from an int side or a (height, width) pair of positive ints."""
  size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
  try:
    if len(size) != 2:
      raise ValueError
    size = tuple(checks.integer(s, "image_size") for s in size)
  except (ValueError, TypeError):
    raise ValueError(f"image_size must be a positive int or a (height, width) pair, got "
                     f"{image_size!r}.") from None
  return size + (3,)


def build_detector(name, image_size, weights=None, dropout=0.0, drop_connect=0.2,
                   width=None):
  """Builds a detector: (B, H, W, 3) float images in [-1, 1] -> (B, 2) float32 logits.

  Args:
    name: one of `BACKBONES`; "stehouwer_xception" (`attention_ffd`) and
      "multi_attention_efficientnetb<i>" (`multi_attention`) are the Table VI detectors
      (registered by their modules), subclassed models without a nested backbone for
      `get_backbone`.
    image_size: int or (height, width), the input size (at least the family's
      `INPUT_RANGES` min_size: Xception 71, the other keras.applications 32).
    weights: None (random init; a keras.applications backbone warns once), "imagenet"
      (downloaded by keras on first use, needs the network), or the path of a local
      weights file for the backbone, at any input size: a
      `get_backbone(detector).save_weights(...)` `.weights.h5` file, or for the
      keras.applications backbones Keras' own legacy HDF5 file (`*_notop.h5`,
      `mobilenet_2_5_224_tf_no_top.h5`, ...), which `keras.Model.load_weights` reads
      by layer order. The head is always random.
    dropout: rate in [0, 1) of the Dropout before the Dense(2) head.
    drop_connect: stochastic-depth rate in [0, 1) of EfficientNet (V1 and V2) blocks;
      the other backbones have none and ignore it.
    width: `small_cnn` only: channels of its first block (default 32).

  Returns:
    A functional keras.Model named `<name>_detector`; `get_backbone` gives its backbone.
  """
  entry = get(name)
  input_shape = image_shape(image_size)
  for arg, value in (("dropout", dropout), ("drop_connect", drop_connect)):
    checks.number(value, arg, minimum=0.0, below=1.0)
  if weights not in (None, "imagenet") and not (isinstance(weights, (str, os.PathLike))
                                                and os.path.exists(weights)):
    raise ValueError(
        f"weights must be None, 'imagenet' or the path of an existing weights file, "
        f"got {weights!r} (no such file).")
  if width is not None and name != "small_cnn":
    raise ValueError(f"width applies to 'small_cnn' only, got width={width!r} for {name!r}.")
  if entry.build is not None:
    return entry.build(image_size, weights=weights, dropout=dropout,
                       drop_connect=drop_connect)
  family = entry.family

  if name == "small_cnn":
    if weights == "imagenet":
      raise ValueError("small_cnn has no ImageNet weights; use weights=None or a file.")
    width = checks.integer(32 if width is None else width, "width")
    backbone = _small_cnn(input_shape, width)
    if weights is not None:
      try:
        backbone.load_weights(weights)
      except ValueError as e:
        raise _weights_mismatch(weights, name, input_shape, e) from e
  else:
    if weights is None:
      _warn_random_weights(name)
    backbone = application(name, input_shape, weights)
    if family.startswith("efficientnet"):
      set_drop_connect(backbone, drop_connect)

  images = keras.Input(input_shape, name="images")
  x = input_scaling(family)(images)
  x = backbone(x)
  x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
  if dropout > 0:
    x = keras.layers.Dropout(dropout, name="dropout")(x)
  logits = keras.layers.Dense(2, dtype="float32", name="logits")(x)
  return keras.Model(images, logits, name=f"{name}_detector")


def get_backbone(detector):
  """The nested backbone keras.Model of a `build_detector` model."""
  nested = [layer for layer in detector.layers if isinstance(layer, keras.Model)]
  if len(nested) != 1:
    raise ValueError(
        f"detector must hold exactly one nested backbone model (a build_detector model), "
        f"got {len(nested)} in {detector.name!r}.")
  return nested[0]
