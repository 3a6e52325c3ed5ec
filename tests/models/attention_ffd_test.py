"""Tests for dfadv_tf.models.attention_ffd (Dang/Stehouwer et al. attention Xception)."""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.models.attention_ffd import (AttentionXception, ManipulationAttention,
                                           build_attention_xception, map_loss)
from dfadv_tf.models.backbones import build_detector
from dfadv_tf.training import DetectorModel
from tests.testing.layers import run_layer_test
from tests.testing.training import fit_every_mode

SIZE = 72  # >= 71 (Xception); even, as the blur generator needs


def _batch(n=4, seed=0):
  """Images, labels (alternating) and masks: real rows zeros, fake rows a top band."""
  rng = np.random.default_rng(seed)
  images = rng.uniform(-1, 1, (n, SIZE, SIZE, 3)).astype("float32")
  labels = (np.arange(n) % 2).astype("int32")
  masks = np.zeros((n, SIZE, SIZE, 1), "float32")
  masks[1::2, :SIZE // 2] = 1.0
  return images, labels, masks


class AttentionXceptionTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    keras.utils.set_random_seed(0)
    cls.model = build_attention_xception(SIZE)

  def test_attention_layer(self):
    out = run_layer_test(self, ManipulationAttention, {"kernel_size": 3},
                         np.random.default_rng(0).normal(size=(2, 5, 5, 8)).astype("float32"),
                         expected_output_shape=(2, 5, 5, 1))
    self.assertAllInRange(out, 0.0, 1.0)

  def test_layer(self):
    images, _, _ = _batch(2)
    run_layer_test(self, AttentionXception, {"network": self.model.network, "map_weight": 1.0},
                   images, expected_output_shape=(2, 2), output_dtype="float32",
                   expected_num_trainable_weights=len(self.model.network.trainable_weights))

  def test_shapes_and_map_multiplied_into_features(self):
    images, _, _ = _batch(2)
    self.assertEqual(tuple(self.model(images).shape), (2, 2))
    self.assertEqual(tuple(self.model.attention_map(images).shape), (2, 5, 5, 1))
    self.assertEqual(self.model.training_inputs, {"mask": "masks"})
    multiply = self.model.network.get_layer("attention_multiply")
    self.assertIs(multiply.input[1], self.model.network.outputs[1])
    self.assertEqual(self.model.losses, [])

  def test_build_detector_name_and_serialisation(self):
    model = build_detector("stehouwer_xception", SIZE, dropout=0.1)
    self.assertIsInstance(model, AttentionXception)
    images, _, _ = _batch(2)
    path = os.path.join(self.get_temp_dir(), "d.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    self.assertIsInstance(loaded, AttentionXception)
    self.assertAllClose(loaded(images), model(images), atol=1e-5)

  def test_map_loss_skips_unknown_rows(self):
    attention = tf.fill((3, 2, 2, 1), 0.25)
    masks = np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1)), -np.ones((4, 4, 1))])
    self.assertAllClose(map_loss(attention, masks), (0.25 + 0.75) / 2)
    self.assertAllClose(map_loss(attention, -np.ones((3, 4, 4, 1))), 0.0)

  def test_fit_every_mode_with_and_without_masks(self):
    images, labels, masks = _batch()
    with_masks = tf.data.Dataset.from_tensor_slices(
        {"image": images, "label": labels, "mask": masks}).batch(4).repeat()
    fit_every_mode(self, self.model, with_masks)
    plain = DetectorModel(self.model)  # the default path: (images, labels), no masks
    plain.compile(jit_compile=False)
    history = plain.fit(images, labels, batch_size=4, epochs=1, verbose=0).history
    self.assertTrue(np.isfinite(history["loss"][0]))

  def test_map_loss_goes_down(self):
    keras.utils.set_random_seed(1)
    model = build_attention_xception(SIZE)
    images, labels, masks = _batch(4, seed=1)
    data = tf.data.Dataset.from_tensor_slices(
        {"image": images, "label": labels, "mask": masks}).batch(4).repeat()
    def current_map_loss():  # as in the detector update: training mode, via add_loss
      model(images, training=True, masks=masks)
      return float(model.losses[0])

    before = current_map_loss()
    trainer = DetectorModel(model)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    trainer.fit(data, epochs=1, steps_per_epoch=15, verbose=0)
    after = current_map_loss()
    self.assertLess(after, 0.8 * before)

  def test_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, "attention_block must be one of"):
      build_attention_xception(SIZE, attention_block=13)
    with self.assertRaisesRegex(ValueError, "map_weight must be >= 0"):
      AttentionXception(self.model.network, map_weight=-1.0)


if __name__ == "__main__":
  tf.test.main()
