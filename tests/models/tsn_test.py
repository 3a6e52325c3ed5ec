"""Tests for dfadv_tf.models.tsn and clip training (frame-folded adversaries)."""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.attacks import fgsm
from dfadv_tf.data import records
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.models.tsn import TSNDetector
from dfadv_tf.training import DetectorModel, GradientATModel
from tests.testing.layers import run_layer_test
from tests.testing.models import IMAGE_SIZE, tiny_detector
from tests.testing.training import fit_every_mode

K = 3


def _clips(n=4, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.uniform(-1, 1, (n, K, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32"),
          (np.arange(n) % 2).astype("int32"))


def _regularised_detector():
  """tiny_detector's layers with an activity regulariser on the logits (an add_loss)."""
  base = tiny_detector()
  x = base.layers[-2].output
  logits = keras.layers.Dense(2, dtype="float32",
                              activity_regularizer=keras.regularizers.L2(1.0))(x)
  return keras.Model(base.input, logits)


class TSNTest(tf.test.TestCase):

  def test_average_consensus_and_frames(self):
    detector = tiny_detector()
    model = TSNDetector(detector, segments=K)
    clips, _ = _clips(2)
    frames = detector(clips.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 3)).numpy().reshape(2, K, 2)
    self.assertAllClose(model(clips), frames.mean(axis=1), atol=1e-6)
    self.assertAllClose(model(clips[:, 0]), frames[:, 0], atol=1e-6)
    with self.assertRaisesRegex(ValueError, "TSNDetector expects clips"):
      model(np.zeros((2, K, 16, 16, 3), "float32"))
    with self.assertRaisesRegex(ValueError, "segments must be an integer >= 1"):
      TSNDetector(detector, segments=0)

  def test_serialisation(self):
    model = TSNDetector(tiny_detector(), segments=K)
    path = os.path.join(self.get_temp_dir(), "tsn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    clips, _ = _clips(2)
    self.assertEqual(loaded.segments, K)
    self.assertAllClose(loaded(clips), model(clips), atol=1e-6)

  def test_layer(self):
    detector = tiny_detector()
    run_layer_test(self, TSNDetector, lambda: {"detector": tiny_detector(), "segments": K},
                   _clips(2)[0], expected_output_shape=(2, 2), output_dtype="float32",
                   expected_num_trainable_weights=len(detector.trainable_weights))

  def test_adversary_runs_per_frame(self):
    model = GradientATModel(TSNDetector(tiny_detector(), segments=K), attack="fgsm",
                            attack_kwargs={"eps_levels": 12.75})
    clips, labels = _clips(2)
    adversarial = model.frame_adversary_step(tf.constant(clips), tf.constant(labels))
    frames = clips.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 3)
    expected = fgsm(model.detector.detector, frames, np.repeat(labels, K), eps=0.1)
    self.assertAllClose(adversarial, np.reshape(expected, clips.shape), atol=1e-6)

  def test_fit_every_mode_on_clips(self):
    clips, labels = _clips()
    data = tf.data.Dataset.from_tensor_slices((clips, labels)).batch(4).repeat()
    fit_every_mode(self, TSNDetector(tiny_detector(), segments=K), data)

  def test_auxiliary_loss_of_the_frame_detector_goes_down(self):
    model = TSNDetector(_regularised_detector(), segments=K)
    clips, labels = _clips()
    model(clips, training=True)
    before = float(model.losses[0])
    trainer = DetectorModel(model)
    trainer.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=False)
    trainer.fit(clips, labels, batch_size=4, epochs=10, verbose=0)
    model(clips, training=True)
    self.assertLess(float(model.losses[0]), 0.5 * before)

  def test_video_level_evaluation_on_clips(self):
    root = self.get_temp_dir()
    writer = records.ShardedWriter(root, "ds")
    for label, method in ((0, "youtube"), (1, "Deepfakes")):
      writer.write("test", method, "c23", "00000", [records.make_example(
          np.full((8, 8, 3), 40 * f, np.uint8), label=label, dataset="ds", method=method,
          quality="c23", split="test", video_id=f"{method}{v}", frame_index=f)
          for v in range(2) for f in range(5)])
    clips = records.load_clips(root, "ds", split="test", image_size=IMAGE_SIZE,
                               batch_size=4, segments=K, shuffle=False, with_metadata=True)
    result = grid_lib.evaluate_set(TSNDetector(tiny_detector(), segments=K), clips)
    self.assertEqual(result["n"], 4)  # one score per video


if __name__ == "__main__":
  tf.test.main()
