"""The one mapping from pixels to what every model takes: float32 in [-1, 1].

`to_model_range` resizes RGB pixels (0-255, uint8 or float; any size) to the model's size
(bilinear, antialiased) and scales them to [-1, 1]; `decode` does the same from encoded
image bytes (PNG, JPEG, BMP, GIF; gray is replicated, alpha dropped). The TFRecord
reader, the attack tool's image loader, `dfadv-detect` and the exported SavedModel all
call these, so a served or attacked image is scored exactly as in training.

`read_file(path)` is the one reader of image files outside TensorFlow: the bytes are
read with Python's `open` (any file name, not valid UTF-8 included), the size in the
header is checked against `MAX_PIXELS` before anything is decoded (PNG, JPEG, GIF,
BMP, WebP headers), a truncated PNG or JPEG (no end marker) is refused, and
`cv2.imdecode` decodes it; every refusal is one line naming the file.
"""

import os
import struct

import cv2
import numpy as np
import tensorflow as tf

# The largest image decoded (width x height): 8192 x 8192; a 20000 x 20000 PNG of a
# few MB would need 1.2 GB as RGB.
MAX_PIXELS = 8192 * 8192


def _jpeg_size(data):
  position = 2
  while position + 9 < len(data):
    if data[position] != 0xFF:
      return None
    marker = data[position + 1]
    if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
      position += 2
      continue
    if marker == 0xFF:
      position += 1
      continue
    length = struct.unpack(">H", data[position + 2:position + 4])[0]
    if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
      height, width = struct.unpack(">HH", data[position + 5:position + 9])
      return width, height
    position += 2 + length
  return None


def header_size(data):
  """(width, height) from an encoded image's header (PNG, JPEG, GIF, BMP, WebP), read
  without decoding it; None when the header does not say."""
  if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
    return struct.unpack(">II", data[16:24])
  if data[:3] == b"\xff\xd8\xff":
    return _jpeg_size(data)
  if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
    return struct.unpack("<HH", data[6:10])
  if data[:2] == b"BM" and len(data) >= 26:
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)
  if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
    chunk = data[12:16]
    if chunk == b"VP8 ":
      width, height = struct.unpack("<HH", data[26:30])
      return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
      bits = int.from_bytes(data[21:25], "little")
      return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
      return (int.from_bytes(data[24:27], "little") + 1,
              int.from_bytes(data[27:30], "little") + 1)
  return None


def truncated(data):
  """Whether a PNG or JPEG lacks its end (IEND chunk, EOI marker): a cut-off file."""
  if data[:8] == b"\x89PNG\r\n\x1a\n":
    return b"IEND" not in data[-16:]
  if data[:3] == b"\xff\xd8\xff":
    return not data.rstrip(b"\0\r\n ").endswith(b"\xff\xd9")
  return False


def display_name(path):
  """A file name for messages: names that are not valid UTF-8 escaped, not a crash."""
  return os.fsencode(path).decode("utf-8", "backslashreplace")


def _check_size(name, size, max_pixels):
  if size is not None and size[0] * size[1] > max_pixels:
    raise OSError(f"{name}: a {size[0]}x{size[1]} image ({size[0] * size[1] / 1e6:.0f} "
                  f"megapixels) is larger than the limit of {max_pixels / 1e6:.0f} "
                  "megapixels; scale it down first.")


def check_header(path, max_pixels=MAX_PIXELS):
  """OSError naming an image file whose header gives more than `max_pixels` (reads its
  first 256 KiB only): for readers that decode inside TensorFlow."""
  with open(path, "rb") as f:
    _check_size(display_name(path), header_size(f.read(1 << 18)), max_pixels)


def read_file(path, max_pixels=MAX_PIXELS):
  """uint8 RGB (H, W, 3) of an image file (gray replicated, alpha dropped); OSError
  naming the file when it cannot be read, is larger than `max_pixels` (checked from
  its header before decoding), is cut off or is no image."""
  name = display_name(path)
  with open(path, "rb") as f:
    data = f.read()
  _check_size(name, header_size(data), max_pixels)
  if truncated(data):
    raise OSError(f"{name}: the image file is truncated (its end is missing); "
                  "re-copy or re-encode it.")
  image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
  if image is None:
    raise OSError(f"{name} is not a readable image.")
  _check_size(name, image.shape[1::-1], max_pixels)
  return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


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
