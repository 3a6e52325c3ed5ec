"""Labelled image collections for the attack experiments (Sec. IV-C): a folder with a
labels file (the ImageNet validation layout) or TFRecords with `image` / `label`.

Both stream batches (images (B, S, S, 3) float32 in [-1, 1], labels (B,) int32) in file
order, decoded with `dfadv_tf.data.images.decode`.
"""

import os

import numpy as np
import tensorflow as tf

from dfadv_tf.data import images as image_lib
from dfadv_tf.data import records

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp")


def read_labels_file(images_dir, labels_file):
  """(paths, labels) from '<file> <class>' lines, or one class per line for the sorted
  image files of `images_dir`."""
  with open(labels_file, encoding="utf-8") as f:
    lines = [line.split() for line in f if line.strip()]
  if all(len(parts) == 2 for parts in lines):
    names = [parts[0] for parts in lines]
    labels = [parts[1] for parts in lines]
  elif all(len(parts) == 1 for parts in lines):
    names = sorted(n for n in os.listdir(images_dir)
                   if n.lower().endswith(IMAGE_EXTENSIONS))
    labels = [parts[0] for parts in lines]
    if len(names) != len(labels):
      raise ValueError(
          f"--labels_file {labels_file!r} has {len(labels)} labels but --images_dir "
          f"{images_dir!r} has {len(names)} images.")
  else:
    raise ValueError(f"--labels_file {labels_file!r}: expected '<file> <class>' lines or "
                     "one class per line.")
  paths = [os.path.join(images_dir, n) for n in names]
  missing = [p for p in paths if not os.path.isfile(p)]
  if missing:
    raise ValueError(f"--labels_file names {len(missing)} missing images, e.g. {missing[0]!r}.")
  for path in paths:  # refused before TensorFlow decodes a huge one
    image_lib.check_header(path)
  try:
    return paths, [int(label) for label in labels]
  except ValueError as error:
    raise ValueError(f"--labels_file {labels_file!r}: class indices must be integers "
                     f"({error}).") from error


def load_images(image_size, batch_size, images_dir=None, labels_file=None, tfrecords=None,
                num_images=0):
  """Batches (images (B, S, S, 3) float32 in [-1, 1], labels (B,) int32), in order:
  from `images_dir` + `labels_file`, or from the TFRecords matching `tfrecords`; the
  first `num_images` (0: all)."""
  if (images_dir is None) == (tfrecords is None):
    raise ValueError("give exactly one of --images_dir (with --labels_file) and --tfrecords.")
  if tfrecords is not None:
    files = sorted(tf.io.gfile.glob(tfrecords))
    if not files:
      raise ValueError(f"--tfrecords {tfrecords!r} matches no file.")
    schema = {key: records.FEATURES[key] for key in ("image", "label")}
    data = tf.data.TFRecordDataset(files).map(
        lambda r: tf.io.parse_single_example(r, schema))
    data = data.map(lambda f: (image_lib.decode(f["image"], image_size),
                               tf.cast(f["label"], tf.int32)))
  else:
    if labels_file is None:
      raise ValueError("--images_dir needs --labels_file.")
    paths, labels = read_labels_file(images_dir, labels_file)
    data = tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, np.int32)))
    data = data.map(lambda p, y: (image_lib.decode(tf.io.read_file(p), image_size), y))
  if num_images > 0:
    data = data.take(num_images)
  return data.batch(batch_size).prefetch(2)
