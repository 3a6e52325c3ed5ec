"""Images/s of the training input pipeline vs. what the detector consumes in training.

  python benchmarks/input_pipeline.py [--image_size=256 --batch_size=32]

Writes a small demo dataset (PNG crops at --image_size) to a temp folder, then times
`load_split` (read, decode, resize, augment: flip + brightness, balance, batch) and
`train_on_batch` of `build_detector(--detector)` at the same size, on this machine.
Prints both rates and their ratio (target: pipeline >= 3x the detector).
"""

import tempfile
import time

import numpy as np
import tensorflow as tf
from absl import app
from absl import flags

from dfadv_tf.data import records
from dfadv_tf.data import synthetic
from dfadv_tf.models import backbones

FLAGS = flags.FLAGS
flags.DEFINE_integer("image_size", 256, "Image side in pixels.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("pipeline_batches", 20, "Timed pipeline batches.")
flags.DEFINE_integer("detector_steps", 3, "Timed detector training steps.")
flags.DEFINE_string("detector", "efficientnetb0", "Detector backbone (build_detector).")


def augment(images):
  """Flip + brightness on a batch (B, H, W, 3) in [-1, 1]: a cheap stand-in."""
  images = tf.image.random_flip_left_right(images)
  return tf.clip_by_value(images + tf.random.uniform((tf.shape(images)[0], 1, 1, 1),
                                                     -0.1, 0.1), -1.0, 1.0)


def pipeline_rate(root, dataset):
  data = records.load_split(root, dataset, image_size=FLAGS.image_size,
                            batch_size=FLAGS.batch_size, balance="oversample",
                            augment=augment, seed=0, repeat=True)
  iterator = iter(data)
  next(iterator)
  start = time.perf_counter()
  for _ in range(FLAGS.pipeline_batches):
    next(iterator)
  return FLAGS.pipeline_batches * FLAGS.batch_size / (time.perf_counter() - start)


def detector_rate():
  import keras  # pylint: disable=g-import-not-at-top
  model = backbones.build_detector(FLAGS.detector, FLAGS.image_size)
  model.compile(keras.optimizers.Adam(1e-4),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (FLAGS.batch_size, FLAGS.image_size, FLAGS.image_size, 3))
  labels = rng.integers(0, 2, FLAGS.batch_size)
  model.train_on_batch(images.astype(np.float32), labels)
  start = time.perf_counter()
  for _ in range(FLAGS.detector_steps):
    model.train_on_batch(images.astype(np.float32), labels)
  return FLAGS.detector_steps * FLAGS.batch_size / (time.perf_counter() - start)


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as root:
    config = synthetic.DemoConfig(identities=20, frames=8, image_size=FLAGS.image_size)
    synthetic.make_demo_data(root, "bench", config, log=lambda _: None)
    pipeline = pipeline_rate(root, "bench")
  detector = detector_rate()
  print(f"input pipeline  {pipeline:8.1f} images/s  ({FLAGS.image_size} px, batch "
        f"{FLAGS.batch_size}, read+decode+resize+augment+balance+batch)")
  print(f"detector train  {detector:8.1f} images/s  ({FLAGS.detector}, train_on_batch)")
  print(f"ratio           {pipeline / detector:8.1f}x  (target >= 3x)")


if __name__ == "__main__":
  app.run(main)
