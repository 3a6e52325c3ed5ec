"""Tiny images, labels and datasets for the tests."""

import numpy as np
import tensorflow as tf

from tests.testing.models import IMAGE_SIZE


def random_images(shape=(4, IMAGE_SIZE, IMAGE_SIZE, 3), seed=0, low=-1.0, high=1.0):
  """float32 images uniform in [low, high] of `shape`."""
  return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def tiny_arrays(n=8, labels=None, seed=0, size=IMAGE_SIZE):
  """n images (n, size, size, 3) uniform in [-1, 1] and labels (alternating 0/1 by
  default, or all `labels`)."""
  images = random_images((n, size, size, 3), seed)
  labels = np.arange(n) % 2 if labels is None else np.full(n, labels)
  return images, labels.astype("int32")


def tiny_dataset(n=8, batch_size=8, labels=None, dicts=False):
  """A tf.data.Dataset of (images, labels) batches, or of {"image", "label"} dicts."""
  images, labels = tiny_arrays(n, labels)
  if dicts:
    return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels}).batch(
        batch_size)
  return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
