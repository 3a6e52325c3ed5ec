"""Tiny detectors and a toy real/fake set shared by the attack tests.

Toy "faces": smooth random images in [-1, 1] (real, label 0); the fakes (label 1) carry
a faint checkerboard (the high-frequency artifact that blurring removes), a red tint
(a cue that blurring keeps), or both.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.models.classifiers import ImageSpaceClassifier
from tests.testing.models import tiny_detector


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


def trained_detector(size=16, seed=0, epochs=15, cue="checkerboard"):
  """`tiny_detector` fitted briefly on `toy_batch(256, size, seed, cue)`."""
  model = tiny_detector(size, seed=seed, batch_norm=False, first_filters=8, first_stride=1)
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  images, labels = toy_batch(256, size, seed=seed, cue=cue)
  model.fit(images, labels, batch_size=32, epochs=epochs, verbose=0)
  return model


def per_sample_loss(model, images, labels):
  """(B,) float32 cross-entropy of `model` on (images, labels)."""
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels, logits=tf.cast(model(images, training=False), tf.float32)).numpy()


TOY_SIZE = 16


def untrained_detector(seed=0, num_classes=2):
  """The attack tests' detector: `tiny_detector` at the toy set's 16 px, no BatchNorm."""
  return tiny_detector(TOY_SIZE, seed=seed, num_classes=num_classes, batch_norm=False,
                       first_filters=8, first_stride=1)


class AttackSetTestCase(tf.test.TestCase):
  """Two saved detectors that see different artifacts (`NAMES`: checkerboard, tint) and
  48 toy images with both, as a folder with an ImageNet-style labels file."""

  NAMES = ("checkerboard", "tint")

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir()
    cls.model_paths = []
    for seed, cue in enumerate(cls.NAMES):
      path = os.path.join(cls.root, f"{cue}.keras")
      trained_detector(seed=seed, cue=cue).save(path)
      cls.model_paths.append(path)
    images, cls.labels = toy_batch(48, seed=21, cue="both")
    cls.pixels = np.round((images + 1.0) * 127.5).astype(np.uint8)
    cls.images_dir = os.path.join(cls.root, "val")
    os.makedirs(cls.images_dir, exist_ok=True)
    lines = []
    for i, (image, label) in enumerate(zip(cls.pixels, cls.labels)):
      name = f"val_{i:05d}.png"
      tf.io.write_file(os.path.join(cls.images_dir, name), tf.io.encode_png(image))
      lines.append(f"{name} {label}\n")
    cls.labels_file = os.path.join(cls.root, "val.txt")
    with open(cls.labels_file, "w", encoding="utf-8") as f:
      f.writelines(lines)

  def write_text(self, name, content):
    """Writes `content` to `<root>/<name>`; returns the path."""
    path = os.path.join(self.root, name)
    with open(path, "w", encoding="utf-8") as f:
      f.write(content)
    return path

  def classifiers(self):
    """The two saved detectors as `ImageSpaceClassifier`s, named after their cue."""
    out = []
    for name, path in zip(self.NAMES, self.model_paths):
      model = serving.load_detector(path, compile=False)
      out.append(ImageSpaceClassifier(name, model, tuple(model.input_shape[1:3])))
    return out
