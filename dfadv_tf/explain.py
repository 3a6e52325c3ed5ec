"""Explanations of a detector's scores on face crops: Grad-CAM maps and PNG overlays.

What `dfadv-detect --explain` needs: `explain_crops(detector, crops)` gives one Grad-CAM
map (`dfadv_tf.models.grad_cam`) per uint8 face crop, at the crop's own size (crops are
resized to the detector's input exactly as `dfadv_tf.serving.preprocess` does for
scoring), and `write_overlays(crops, maps, folder)` writes each map as a heat map on its
crop (`dfadv_tf.ops.heatmap`, jet: red = most evidence of the target class), one PNG per
crop, atomically.
"""

import os

import numpy as np
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf import serving
from dfadv_tf.files import atomic_write
from dfadv_tf.models import grad_cam
from dfadv_tf.ops import heatmap


def _check_crop(crop, index):
  crop = np.asarray(crop)
  if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[-1] != 3:
    raise ValueError(f"crop {index} must be a uint8 RGB array (H, W, 3), got dtype "
                     f"{crop.dtype} and shape {crop.shape}.")
  return crop


def explain_crops(detector, crops, target="fake", batch_size=32):
  """Grad-CAM maps of `detector` on uint8 RGB face crops.

  crops: a sequence of (H, W, 3) uint8 arrays (sizes may differ).
  target: "fake" or "real", the class whose evidence is mapped.
  Returns a list of float32 (H, W) maps in [0, 1], one per crop, at the crop's size.
  """
  crops = [_check_crop(c, i) for i, c in enumerate(crops)]
  batch_size = checks.integer(batch_size, "batch_size")
  size = serving.detector_image_size(detector)
  maps = []
  for start in range(0, len(crops), batch_size):
    chunk = crops[start:start + batch_size]
    batch = tf.stack([serving.preprocess(c[None], size)[0] for c in chunk])
    for crop, cam in zip(chunk, grad_cam.grad_cam(detector, batch, target)):
      cam = tf.image.resize(cam[..., None], crop.shape[:2], method="bilinear")[..., 0]
      maps.append(np.clip(cam.numpy(), 0.0, 1.0))
  return maps


def overlay_image(crop, cam, alpha=0.5):
  """The uint8 (H, W, 3) overlay of map `cam` (H, W) in [0, 1] on uint8 crop (H, W, 3)."""
  crop = _check_crop(crop, 0)
  cam = np.asarray(cam, np.float32)
  if cam.shape != crop.shape[:2]:
    raise ValueError(f"map of shape {cam.shape} does not fit crop of shape {crop.shape}; "
                     "expected (H, W) of the crop (explain_crops gives that).")
  blended = heatmap.overlay(crop.astype(np.float32) / 127.5 - 1.0, cam, alpha)
  return np.round(blended.numpy() * 255.0).astype(np.uint8)


def write_overlays(crops, maps, folder, names=None, alpha=0.5):
  """Writes one PNG per crop: its map as a heat map on it (`overlay_image`).

  names: file names inside `folder` (default overlay_0000.png, ...), one per crop.
  Each file is written atomically (`dfadv_tf.files`). Returns the paths written.
  """
  crops, maps = list(crops), list(maps)
  names = [f"overlay_{i:04d}.png" for i in range(len(crops))] if names is None else list(
      names)
  if not len(crops) == len(maps) == len(names):
    raise ValueError(f"write_overlays needs one map and one name per crop, got "
                     f"{len(crops)} crops, {len(maps)} maps and {len(names)} names.")
  for name in names:
    if os.path.basename(name) != name or not name.lower().endswith(".png"):
      raise ValueError(f"overlay name {name!r} must be a file name ending in .png.")
  paths = []
  for crop, cam, name in zip(crops, maps, names):
    encoded = tf.io.encode_png(overlay_image(crop, cam, alpha)).numpy()
    path = os.path.join(folder, name)

    def write(temp, data=encoded):
      with open(temp, "wb") as f:
        f.write(data)

    atomic_write(path, write)
    paths.append(path)
  return paths
