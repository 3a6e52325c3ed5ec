"""The tiny detectors of the tests (the library's small_cnn is in tools.save_tiny_detector)."""

import keras

IMAGE_SIZE = 32


def tiny_detector(size=IMAGE_SIZE, seed=0, num_classes=2, batch_norm=True, first_filters=4,
                  first_stride=2):
  """conv3x3 (first_filters, first_stride, relu) [-> BatchNorm] -> conv3x3 stride 2 (8,
  relu) -> GAP -> Dense logits (float32): (B, size, size, 3) -> (B, num_classes), seeded,
  untrained."""
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((size, size, 3))
  x = keras.layers.Conv2D(first_filters, 3, strides=first_stride, padding="same",
                          activation="relu")(inputs)
  if batch_norm:
    x = keras.layers.BatchNormalization()(x)
  x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
  x = keras.layers.GlobalAveragePooling2D()(x)
  logits = keras.layers.Dense(num_classes, dtype="float32")(x)
  return keras.Model(inputs, logits, name="detector")
