"""Tests for dfadv_tf.models.multi_attention (Zhao et al. multi-attentional detector)."""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.models.backbones import build_detector
from dfadv_tf.models.multi_attention import (MultiAttentionDetector, TextureEnhancement,
                                             bilinear_attention_pooling,
                                             build_multi_attention,
                                             regional_independence_loss)
from dfadv_tf.training import DetectorModel
from tests.testing.layers import run_layer_test
from tests.testing.training import fit_every_mode

SIZE = 64
SMALL = {"backbone": "efficientnetb0", "texture_channels": 8}


def _batch(n=4, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.uniform(-1, 1, (n, SIZE, SIZE, 3)).astype("float32"),
          (np.arange(n) % 2).astype("int32"))


class MultiAttentionTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    keras.utils.set_random_seed(0)
    cls.model = build_multi_attention(SIZE, **SMALL)

  def test_texture_enhancement_layer(self):
    run_layer_test(self, TextureEnhancement, {"channels": 4},
                   np.random.default_rng(0).normal(size=(2, 8, 8, 6)).astype("float32"),
                   expected_output_shape=(2, 8, 8, 4))

  def test_pooling_rows_are_unit_norm_and_loss_margins(self):
    matrix = bilinear_attention_pooling(tf.random.normal((2, 8, 8, 5)),
                                        tf.random.uniform((2, 4, 4, 3)))
    self.assertEqual(matrix.shape, (2, 3, 5))
    self.assertAllClose(tf.norm(matrix, axis=-1), tf.ones((2, 3)), atol=1e-5)
    centers = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    # Features on their centres, centres 2 apart (squared): no loss beyond the margins.
    self.assertAllClose(regional_independence_loss(centers[None], centers, 0.05, 0.2), 0.0)
    self.assertAllClose(regional_independence_loss(tf.zeros((1, 2, 2)), centers, 0.05, 3.0),
                        2 * (1 - 0.05) + 2 * (3.0 - 2.0))

  def test_layer(self):
    run_layer_test(self, MultiAttentionDetector,
                   {"features": self.model.features, "texture_channels": 8}, _batch(2)[0],
                   expected_output_shape=(2, 2), output_dtype="float32",
                   expected_num_non_trainable_weights=len(
                       self.model.non_trainable_weights))

  def test_shapes_losses_and_centres(self):
    images, _ = _batch(2)
    self.assertEqual(tuple(self.model(images).shape), (2, 2))
    self.assertEqual(self.model.losses, [])  # inference: no L_RIL, centres still
    centres = np.array(self.model.centers)
    self.model(images, training=True)
    self.assertLen(self.model.losses, 1)
    self.assertNotAllClose(np.array(self.model.centers), centres)
    self.assertEqual(self.model.centers.shape, (4, 8))
    self.assertFalse(self.model.centers.trainable)

  def test_build_detector_name_and_serialisation(self):
    model = build_detector("multi_attention_efficientnetb0", SIZE)
    self.assertIsInstance(model, MultiAttentionDetector)
    model = build_multi_attention(SIZE, agda_prob=0.5, seed=3, **SMALL)
    model(_batch(2)[0], training=True)
    path = os.path.join(self.get_temp_dir(), "d.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    images, _ = _batch(2)
    self.assertAllClose(loaded(images), model(images), atol=1e-5)
    self.assertAllClose(loaded.centers, model.centers)
    self.assertEqual(loaded.agda_prob, 0.5)

  def test_attention_guided_augmentation_blurs_a_region(self):
    model = build_multi_attention(SIZE, agda_prob=1.0, agda_threshold=0.3, seed=0, **SMALL)
    images = tf.constant(_batch(2)[0])
    dropped = model._agda(images)  # pylint: disable=protected-access
    changed = tf.reduce_any(tf.abs(dropped - images) > 1e-6, axis=-1)
    self.assertTrue(bool(tf.reduce_any(changed)))
    self.assertFalse(bool(tf.reduce_all(changed)))

  def test_fit_every_mode(self):
    images, labels = _batch()
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4).repeat()
    fit_every_mode(self, self.model, data)

  def test_regional_independence_loss_goes_down(self):
    keras.utils.set_random_seed(1)
    model = build_multi_attention(SIZE, **SMALL)
    images, labels = _batch(4, seed=1)

    def ril():
      model(images, training=True)
      return float(model.losses[0])

    before = ril()
    trainer = DetectorModel(model)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    trainer.fit(images, labels, batch_size=4, epochs=15, verbose=0)
    self.assertLess(ril(), 0.8 * before)

  def test_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, "backbone must be an EfficientNet"):
      build_multi_attention(SIZE, backbone="xception")
    with self.assertRaisesRegex(ValueError, r"agda_prob must be a probability in \[0, 1\]"):
      MultiAttentionDetector(self.model.features, agda_prob=2.0)
    with self.assertRaisesRegex(ValueError, "num_attentions must be an integer >= 1"):
      MultiAttentionDetector(self.model.features, num_attentions=0)


if __name__ == "__main__":
  tf.test.main()
