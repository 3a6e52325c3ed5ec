"""Serving a trained detector: uint8 images -> fake probability, as a SavedModel.

`preprocess` maps uint8 RGB images (any size) to the detector's input with
`dfadv_tf.data.images.to_model_range` (the mapping of training); `dfadv-detect` and the
exported signature both use it, so a served model scores exactly like the Python API.
"""

import os
import re
import zipfile

import keras
import tensorflow as tf

# Imported for their registered Keras classes, so that any dfadv_tf model file loads.
from dfadv_tf.augment import layers as _augment_layers  # pylint: disable=unused-import
from dfadv_tf.models import backbones as _backbones  # pylint: disable=unused-import
from dfadv_tf.ops import blur as _blur  # pylint: disable=unused-import
from dfadv_tf.training import TrainingModel
from dfadv_tf.data import images as data_images
from dfadv_tf.evaluation.grid import fake_probability
from dfadv_tf import files


def detector_image_size(detector):
  """The (height, width) a detector was built for, from its input shape."""
  shape = detector.inputs[0].shape if detector.inputs else None
  if shape is None or shape[1] is None or shape[2] is None:
    raise ValueError(f"detector {detector.name!r} has no static input size; build it "
                     "with a fixed image_size.")
  return int(shape[1]), int(shape[2])


def preprocess(images, image_size):
  """uint8 (B, H, W, 3) RGB -> float32 (B, h, w, 3) in [-1, 1]: `data.images.to_model_range`,
  the resize and scaling of training (`dfadv_tf.data.records.load_split`)."""
  images = tf.convert_to_tensor(images)
  if images.dtype != tf.uint8:
    raise ValueError(f"images must be uint8 RGB, got dtype {images.dtype.name}.")
  if images.shape.rank != 4 or images.shape[-1] != 3:
    raise ValueError(f"images must have shape (B, H, W, 3), got {images.shape}.")
  return data_images.to_model_range(tf.cast(images, tf.float32), image_size)


def check_served_images(images):
  """In-graph checks of the serving signature's `images`, which a SavedModel caller can
  pass in any shape: one assertion (InvalidArgumentError with the message "images must
  be uint8 RGB of shape (B, H, W, 3) with B, H, W >= 1, got shape [...]") unless they
  have 4 dimensions, 3 channels and at least one image of at least one pixel."""
  shape = tf.shape(images)
  valid = tf.logical_and(
      tf.reduce_all(tf.concat([[tf.equal(tf.size(shape), 4)], shape >= 1], 0)),
      tf.equal(shape[-1], 3))
  checked = tf.debugging.Assert(valid, [
      "serving_default: images must be uint8 RGB of shape (B, H, W, 3) with B, H, W >= 1, "
      "got shape", shape], summarize=5)
  with tf.control_dependencies([checked]):
    return tf.ensure_shape(tf.identity(images), [None, None, None, 3], name="images")


class ServingModule(tf.Module):
  """`serving_default(images: uint8 (B, H, W, 3)) -> {"fake_probability": (B,)}`; other
  shapes are refused with a message naming the expected one (`check_served_images`)."""

  def __init__(self, detector):
    super().__init__(name="dfadv_detector")
    self.detector = detector
    self.image_size = detector_image_size(detector)

  # Any shape goes in, so that a wrong one meets `check_served_images`' message rather
  # than the signature wrapper's bare shape error.
  @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name="images")])
  def serve(self, images):
    images = check_served_images(images)
    probability = fake_probability(self.detector, preprocess(images, self.image_size))
    return {"fake_probability": probability}


def export_detector(detector, export_dir, keras_path=None, overwrite=False):
  """Writes a SavedModel (signature `serving_default`) to `export_dir` and, if given,
  the detector as a `.keras` file. Every destination is checked before anything is
  written (exists without `overwrite`, not writable, `keras_path` not `.keras`); both
  are written beside their destinations and published together (`files.Staging`): after
  an error neither has changed."""
  if keras_path and not keras_path.endswith(".keras"):
    raise ValueError(f"keras_path {keras_path} must end with .keras.")
  for name, path in (("export_dir", export_dir), ("keras_path", keras_path)):
    if path:
      files.check_writable(path, name, overwrite=overwrite)
  if keras_path and os.path.abspath(keras_path).startswith(
      os.path.abspath(export_dir) + os.sep):
    raise ValueError(f"keras_path {keras_path} is inside export_dir {export_dir}; put it "
                     "beside it.")
  module = ServingModule(detector)
  with files.Staging() as staging:
    tf.saved_model.save(module, staging.folder(export_dir),
                        signatures={"serving_default": module.serve})
    if keras_path:
      detector.save(staging.file(keras_path))
    staging.publish(overwrite=overwrite)


def check_detector(model, source):
  """ValueError naming `source` when `model` is a whole training model (a
  `checkpoints/epoch_NNN.keras` file) rather than a detector."""
  if isinstance(model, TrainingModel):
    raise ValueError(f"{source} is a whole training model ({type(model).__name__}, a "
                     "checkpoints/epoch_NNN.keras file); expected a detector such as "
                     "best_detector.keras.")
  return model


def _refused_in_safe_mode(path, error):
  """The one-line ValueError for a file that Keras' safe mode refuses, naming the kind
  of object (a Lambda layer, a TFSMLayer, ...) that it refused."""
  text = str(error)
  if "Lambda" in text:
    what = "a Lambda layer (arbitrary Python code)"
  else:
    match = re.search(r"deserialization of an? `?(\w+)`?", text)
    what = (f"a {match.group(1)}" if match else "an object") + (
        " (it loads external code or files)")
  return ValueError(f"{path} contains {what} and is refused in safe mode; load it only if "
                    "you trust it, with safe_mode=False (--unsafe_load).")


def load_detector(path, safe_mode=True, compile=True):  # pylint: disable=redefined-builtin
  """A `.keras` model (every load in the project goes through here).

  `safe_mode=True` refuses files that carry code (Lambda layers, TFSMLayers) with a
  message naming the file and the way to opt in. Every other failure is one ValueError
  naming the file: a folder, a file that is no complete `.keras` archive (truncated,
  empty), a crafted or foreign file that Keras cannot rebuild, and a whole training
  model (`check_detector`)."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"detector file {path} does not exist.")
  if os.path.isdir(path):
    raise ValueError(f"detector {path} is a folder (an exported SavedModel?); expected a "
                     ".keras file.")
  if not zipfile.is_zipfile(path):
    raise ValueError(f"detector file {path} is not a complete .keras file (a zip archive): "
                     f"it is truncated, empty or of another format ({os.path.getsize(path)} "
                     "bytes).")
  try:
    model = keras.saving.load_model(path, safe_mode=safe_mode, compile=compile)
  except Exception as e:  # pylint: disable=broad-except
    if safe_mode and "safe_mode" in str(e):
      raise _refused_in_safe_mode(path, e) from e
    reason = " ".join(str(e).split())
    reason = reason if len(reason) <= 200 else reason[:200] + "..."
    raise ValueError(f"{path} is not a Keras model that this project can load "
                     f"({type(e).__name__}: {reason}).") from e
  return check_detector(model, path)
