"""Detectors: an ImageNet backbone with a 2-logit head (paper Sec. IV, App. A).

`build_detector(name, image_size)` returns a functional `keras.Model`

    images (B, H, W, 3) float in [-1, 1]
      -> InputScaling (the family's input range)  -> backbone (a nested keras.Model)
      -> GlobalAveragePooling2D "pool" -> Dropout "dropout" (if > 0) -> Dense(2) "logits"

with float32 logits (fake = 1, real = 0) whatever the dtype policy. The backbones are
`keras.applications`' EfficientNet B0-B7, EfficientNetV2 and Xception without their top,
plus `small_cnn`, a few conv-BN-ReLU stride-2 blocks for tests and the CPU demo.
"""

import importlib
import os

import keras

# name -> (family, keras.applications constructor or None for small_cnn)
_APPLICATIONS = {
    **{f"efficientnetb{i}": ("efficientnet", getattr(keras.applications, f"EfficientNetB{i}"))
       for i in range(8)},
    **{f"efficientnetv2{v.lower()}": ("efficientnetv2",
                                      getattr(keras.applications, f"EfficientNetV2{v}"))
       for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    "xception": ("xception", keras.applications.Xception),
    "small_cnn": ("small_cnn", None),
}
# Table VI detectors, built by their own modules' `build_from_name` (imported on use).
_TABLE6_MODULES = {
    "stehouwer_xception": "dfadv_tf.models.attention_ffd",
    **{f"multi_attention_efficientnetb{i}": "dfadv_tf.models.multi_attention"
       for i in range(8)},
}
BACKBONES = list(_APPLICATIONS) + list(_TABLE6_MODULES)

# family -> (scale, offset) taking [-1, 1] to the range its backbone expects: keras'
# EfficientNet (V1 and V2) takes [0, 255] and normalises inside; Xception takes [-1, 1].
INPUT_SCALING = {
    "efficientnet": (127.5, 127.5),
    "efficientnetv2": (127.5, 127.5),
    "xception": (1.0, 0.0),
    "small_cnn": (1.0, 0.0),
}

# keras.applications builds EfficientNet with this stochastic-depth rate.
_KERAS_DROP_CONNECT = 0.2
_SMALL_CNN_MULTIPLIERS = (1, 2, 4, 8)


@keras.saving.register_keras_serializable(package="dfadv_tf")
class InputScaling(keras.layers.Layer):
  """`images * scale + offset`: maps [-1, 1] images to a backbone's input range."""

  def __init__(self, scale=1.0, offset=0.0, **kwargs):
    super().__init__(**kwargs)
    self.scale = float(scale)
    self.offset = float(offset)

  def call(self, images):
    return images * keras.ops.cast(self.scale, images.dtype) + keras.ops.cast(
        self.offset, images.dtype)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    config = super().get_config()
    config.update(scale=self.scale, offset=self.offset)
    return config


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


def _set_drop_connect(backbone, drop_connect):
  """Rescales EfficientNet's per-block stochastic-depth Dropout layers (named `*drop`,
  rate growing linearly with depth up to 0.2 in keras.applications) to `drop_connect`."""
  for layer in backbone.layers:
    if isinstance(layer, keras.layers.Dropout) and layer.name.endswith("drop"):
      layer.rate = layer.rate * drop_connect / _KERAS_DROP_CONNECT


def _application(name, constructor, input_shape, weights):
  """keras.applications backbone without its top; a failed ImageNet download re-raised
  with the offline alternative."""
  try:
    return constructor(include_top=False, weights=weights, input_shape=input_shape)
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
                    f"shape {input_shape}: expected the `.weights.h5` of that backbone "
                    f"({str(error).splitlines()[0]})")


def _image_shape(image_size):
  size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
  if (len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                for s in size)):
    raise ValueError(
        f"image_size must be a positive int or a (height, width) pair, got {image_size!r}.")
  return size + (3,)


def build_detector(name, image_size, weights=None, dropout=0.0, drop_connect=0.2,
                   width=None):
  """Builds a detector: (B, H, W, 3) float images in [-1, 1] -> (B, 2) float32 logits.

  Args:
    name: one of `BACKBONES`; "stehouwer_xception" (`attention_ffd`) and
      "multi_attention_efficientnetb<i>" (`multi_attention`) are the Table VI detectors,
      subclassed models without a nested backbone for `get_backbone`.
    image_size: int or (height, width), the input size (EfficientNet >= 32,
      Xception >= 71).
    weights: None (random init), "imagenet" (downloaded by keras on first use, needs the
      network), or the path of a local weights file for the backbone: a
      `get_backbone(detector).save_weights(...)` `.weights.h5` file, or for the
      keras.applications backbones keras' own `*_notop.h5`. The head is always random.
    dropout: rate in [0, 1) of the Dropout before the Dense(2) head.
    drop_connect: stochastic-depth rate in [0, 1) of EfficientNet (V1 and V2) blocks;
      the other backbones have none and ignore it.
    width: `small_cnn` only: channels of its first block (default 32).

  Returns:
    A functional keras.Model named `<name>_detector`; `get_backbone` gives its backbone.
  """
  if name not in BACKBONES:
    raise ValueError(f"Unknown backbone {name!r}; expected one of {BACKBONES}.")
  input_shape = _image_shape(image_size)
  for arg, value in (("dropout", dropout), ("drop_connect", drop_connect)):
    if not 0.0 <= value < 1.0:
      raise ValueError(f"{arg} must be in [0, 1), got {value!r}.")
  if weights not in (None, "imagenet") and not (isinstance(weights, (str, os.PathLike))
                                                and os.path.exists(weights)):
    raise ValueError(
        f"weights must be None, 'imagenet' or the path of an existing weights file, "
        f"got {weights!r} (no such file).")
  if width is not None and name != "small_cnn":
    raise ValueError(f"width applies to 'small_cnn' only, got width={width!r} for {name!r}.")
  if name in _TABLE6_MODULES:
    return importlib.import_module(_TABLE6_MODULES[name]).build_from_name(
        name, image_size, weights=weights, dropout=dropout, drop_connect=drop_connect)
  family, constructor = _APPLICATIONS[name]

  if name == "small_cnn":
    if weights == "imagenet":
      raise ValueError("small_cnn has no ImageNet weights; use weights=None or a file.")
    width = 32 if width is None else width
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
      raise ValueError(f"width must be a positive int, got {width!r}.")
    backbone = _small_cnn(input_shape, width)
    if weights is not None:
      try:
        backbone.load_weights(weights)
      except ValueError as e:
        raise _weights_mismatch(weights, name, input_shape, e) from e
  else:
    backbone = _application(name, constructor, input_shape, weights)
    if family.startswith("efficientnet"):
      _set_drop_connect(backbone, drop_connect)

  scale, offset = INPUT_SCALING[family]
  images = keras.Input(input_shape, name="images")
  x = InputScaling(scale, offset, name="input_scaling")(images)
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
