"""Serving a trained detector: uint8 images -> fake probability, as a SavedModel.

`preprocess` maps uint8 RGB images (any size) to the detector's input with
`dfadv_tf.data.images.to_model_range` (the mapping of training); `dfadv-detect` and the
exported signature both use it, so a served model scores exactly like the Python API.
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

# Imported for their registered Keras classes, so that any dfadv_tf model file loads.
from dfadv_tf.augment import layers as _augment_layers  # pylint: disable=unused-import
from dfadv_tf.models import backbones as _backbones  # pylint: disable=unused-import
from dfadv_tf.ops import blur as _blur  # pylint: disable=unused-import
from dfadv_tf import training as _training  # pylint: disable=unused-import
from dfadv_tf.data import images as data_images
from dfadv_tf.evaluation.grid import fake_probability
from dfadv_tf.files import atomic_write


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


class ServingModule(tf.Module):
  """`serving_default(images: uint8 (None, None, None, 3)) -> {"fake_probability": (B,)}`."""

  def __init__(self, detector):
    super().__init__(name="dfadv_detector")
    self.detector = detector
    self.image_size = detector_image_size(detector)

  @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8,
                                              name="images")])
  def serve(self, images):
    probability = fake_probability(self.detector, preprocess(images, self.image_size))
    return {"fake_probability": probability}


def export_detector(detector, export_dir, keras_path=None, overwrite=False):
  """Writes a SavedModel (signature `serving_default`) to `export_dir` and, if given,
  the detector as a `.keras` file. Both appear atomically (temp path, then rename)."""
  for path in (export_dir, keras_path):
    if path and os.path.exists(path) and not overwrite:
      raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to "
                            "replace it.")
  parent = os.path.dirname(os.path.abspath(export_dir))
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-savedmodel-")
  try:
    module = ServingModule(detector)
    tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve})
    if os.path.exists(export_dir):
      shutil.rmtree(export_dir)
    os.replace(tmp, export_dir)
  finally:
    if os.path.exists(tmp):
      shutil.rmtree(tmp)
  if keras_path:
    atomic_write(keras_path, detector.save)


def load_detector(path, safe_mode=True, compile=True):  # pylint: disable=redefined-builtin
  """A `.keras` model (every load in the project goes through here); `safe_mode=True`
  refuses files that carry Python code (Lambda layers) with a message naming the file
  and the way to opt in."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"detector file {path} does not exist.")
  try:
    return keras.saving.load_model(path, safe_mode=safe_mode, compile=compile)
  except ValueError as e:
    if "safe_mode" in str(e) or "Lambda" in str(e):
      raise ValueError(f"{path} contains a Lambda layer (arbitrary Python code) and is "
                       "refused in safe mode; load it only if you trust it, with "
                       "safe_mode=False (--unsafe_load).") from e
    raise
