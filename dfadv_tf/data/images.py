"""The one mapping from pixels to what every model takes: float32 in [-1, 1].

`to_model_range` resizes RGB pixels (0-255, uint8 or float; any size) to the model's size
(bilinear, antialiased) and scales them to [-1, 1]; `decode` does the same from encoded
image bytes (PNG, JPEG, BMP, GIF; gray is replicated, alpha dropped). The TFRecord
reader, the attack tool's image loader, `dfadv-detect` and the exported SavedModel all
call these, so a served or attacked image is scored exactly as in training.
"""

import tensorflow as tf


def _size(image_size):
  return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)


def to_model_range(pixels, image_size):
  """RGB pixels (..., H, W, 3) in [0, 255] (uint8 or float) -> float32 (..., h, w, 3) in
  [-1, 1] at `image_size` (int side or (h, w)), bilinear with antialiasing."""
  resized = tf.image.resize(pixels, _size(image_size), antialias=True)
  return tf.clip_by_value(resized, 0.0, 255.0) / 127.5 - 1.0


def decode(encoded, image_size):
  """Encoded image bytes (a scalar string tensor) -> (h, w, 3) float32 in [-1, 1]."""
  image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  image = to_model_range(image, image_size)
  image.set_shape((*_size(image_size), 3))
  return image
