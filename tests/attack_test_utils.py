"""Tiny detectors and a toy real/fake set shared by the attack tests.

Toy "faces": smooth random images in [-1, 1] (real, label 0); the fakes (label 1) carry
a faint checkerboard (the high-frequency artifact that blurring removes), a red tint
(a cue that blurring keeps), or both.
"""

import keras
import numpy as np
import tensorflow as tf


CUES = ("checkerboard", "tint", "both")


def toy_batch(n, size=16, seed=0, cue="checkerboard"):
  """(images (n, size, size, 3) float32 in [-1, 1], labels (n,) int32), classes alternate.

  cue: the fakes' artifact, one of CUES.
  """
  rng = np.random.default_rng(seed)
  coarse = rng.uniform(-0.7, 0.7, (n, 4, 4, 3)).astype(np.float32)
  images = tf.image.resize(coarse, (size, size), method="bilinear").numpy()
  labels = (np.arange(n) % 2).astype(np.int32)
  grid = np.indices((size, size)).sum(axis=0) % 2 * 2.0 - 1.0
  if cue in ("checkerboard", "both"):
    images[labels == 1] += 0.25 * grid[None, :, :, None].astype(np.float32)
  if cue in ("tint", "both"):
    images[labels == 1, :, :, 0] += 0.3
  return np.clip(images, -1.0, 1.0), labels


def tiny_detector(size=16, num_classes=2, seed=0):
  """Conv - strided conv - global average pool - Dense(num_classes) logits, untrained."""
  keras.utils.set_random_seed(seed)
  return keras.Sequential([
      keras.Input((size, size, 3)),
      keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
      keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
      keras.layers.GlobalAveragePooling2D(),
      keras.layers.Dense(num_classes),
  ])


def trained_detector(size=16, seed=0, epochs=15, cue="checkerboard"):
  """`tiny_detector` fitted briefly on `toy_batch(256, size, seed, cue)`."""
  model = tiny_detector(size, seed=seed)
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  images, labels = toy_batch(256, size, seed=seed, cue=cue)
  model.fit(images, labels, batch_size=32, epochs=epochs, verbose=0)
  return model


def per_sample_loss(model, images, labels):
  """(B,) float32 cross-entropy of `model` on (images, labels)."""
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels, logits=tf.cast(model(images, training=False), tf.float32)).numpy()
