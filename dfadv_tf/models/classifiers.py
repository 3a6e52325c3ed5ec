"""Classifiers in the [-1, 1] image space, for blur as an attack (Sec. IV-C).

`ImageSpaceClassifier` wraps a model so that it takes images (B, H, W, 3) in [-1, 1] at
any size: it resizes them to the model's input size and maps them to the model's own
input space (`backbones.input_scaling` of its family: the one table of input ranges,
`backbones.INPUT_RANGES`, the same as keras' `preprocess_input`), so that every
attack acts in the same image space and its step sizes mean the same for every model.
`from_application(spec)` builds one from a keras.applications name (ImageNet weights)
or a name with a local weights file; a saved `.keras` detector taking [-1, 1] images is
wrapped as `ImageSpaceClassifier(name, model, its input size)`.
"""

import os

import keras
import tensorflow as tf

from dfadv_tf.models import backbones

# name -> (keras.applications constructor name, family of backbones.INPUT_RANGES, input
# side in pixels)
APPLICATIONS = {
    "InceptionV3": ("InceptionV3", "inception", 299),
    "InceptionResNetV2": ("InceptionResNetV2", "inception", 299),
    "Xception": ("Xception", "xception", 299),
    "ResNet50": ("ResNet50", "resnet", 224),
    "MobileNet": ("MobileNet", "mobilenet", 224),
    "MobileNetV2": ("MobileNetV2", "mobilenetv2", 224),
    **{f"EfficientNetB{i}": (f"EfficientNetB{i}", "efficientnet", size)
       for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))},
}


class ImageSpaceClassifier:
  """A classifier called on images (B, H, W, 3) in [-1, 1]: resize, preprocess, logits.

  preprocess: None, or a callable taking the resized [-1, 1] images to the model's
  input space (`backbones.input_scaling(family)`)."""

  def __init__(self, name, model, size, preprocess=None):
    self.name = name
    self.model = model
    self.size = size
    self.preprocess = preprocess

  def __call__(self, images, training=False):
    if None not in self.size and tuple(images.shape[1:3]) != self.size:
      images = tf.image.resize(images, self.size, method="bilinear")
    if self.preprocess is not None:
      images = self.preprocess(images)
    return self.model(images, training=training)

  @property
  def num_classes(self):
    return self.model.output_shape[-1]


def from_application(spec, weights="imagenet"):
  """An `ImageSpaceClassifier` from a keras.applications name (`weights`: "imagenet"
  downloads them, or a local file) or `name=/path/weights.h5`."""
  name, _, weights_file = spec.partition("=")
  if name not in APPLICATIONS:
    raise ValueError(
        f"--models: unknown model {name!r}; expected a .keras file or one of "
        f"{sorted(APPLICATIONS)} (keras.applications; Inception-v4 is not among them).")
  constructor, family, size = APPLICATIONS[name]
  weights = weights_file or weights
  if weights not in ("imagenet", None) and not os.path.isfile(weights):
    raise ValueError(f"--models/--weights: weights file {weights!r} for {name} does not "
                     "exist.")
  try:
    model = getattr(keras.applications, constructor)(weights=weights,
                                                     classifier_activation=None)
  except Exception as error:  # pylint: disable=broad-except
    if weights != "imagenet":
      raise
    raise OSError(
        f"could not get the ImageNet weights of {name} ({error}); this machine may be "
        f"offline. Pass a local weights file: --models={name}=/path/to/weights.h5 (or "
        "--weights=/path/to/weights.h5 for every named model).") from error
  return ImageSpaceClassifier(name, model, (size, size), backbones.input_scaling(family))
