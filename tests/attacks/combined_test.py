"""Tests for dfadv_tf.attacks.combined: blur, then FGSM (paper Fig. 3)."""

import numpy as np
import tensorflow as tf

from dfadv_tf.attacks import combined_attack, fgsm
from dfadv_tf.ops.blur import pixel_gaussian_blur
from tests.testing.attacks import per_sample_loss, toy_batch, trained_detector, untrained_detector


class CombinedAttackTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = untrained_detector(seed=1)
    cls.images, cls.labels = toy_batch(6, seed=3)
    cls.inv_var = np.random.default_rng(0).uniform(0.2, 3.0, (6, 16, 16, 1)).astype(
        np.float32)

  def test_is_fgsm_on_the_blurred_images(self):
    got = combined_attack(self.model, self.images, self.labels, self.inv_var, 0.05,
                          kernel_size=5)
    blurred = pixel_gaussian_blur(self.images, self.inv_var, 5, method="patches")
    self.assertAllClose(got, fgsm(self.model, blurred, self.labels, 0.05), atol=1e-5)
    self.assertLessEqual(np.abs(got.numpy() - blurred.numpy()).max(), 0.05 + 1e-5)

  def test_no_gradient_to_images_or_map_in_tf_function(self):
    @tf.function
    def attack(images, labels, inv_var):
      with tf.GradientTape() as tape:
        tape.watch([images, inv_var])
        adv = combined_attack(self.model, images, labels, inv_var, 0.05, kernel_size=3)
      return adv, tape.gradient(adv, [images, inv_var])

    adv, grads = attack(tf.constant(self.images), tf.constant(self.labels),
                        tf.constant(self.inv_var))
    self.assertEqual(adv.shape, self.images.shape)
    self.assertEqual(grads, [None, None])

  def test_raises_the_loss_of_a_trained_model_beyond_the_blur(self):
    model = trained_detector(seed=0)
    images, labels = toy_batch(64, seed=11)
    inv_var = np.full((64, 16, 16, 1), 4.0, np.float32)
    blurred = pixel_gaussian_blur(images, inv_var, 5)
    adv = combined_attack(model, images, labels, inv_var, 2 / 255, kernel_size=5)
    before = per_sample_loss(model, blurred, labels)
    self.assertGreaterEqual(np.mean(per_sample_loss(model, adv, labels) > before), 0.9)

  def test_bad_inputs(self):
    model, images, labels = self.model, self.images, self.labels
    with self.assertRaisesRegex(ValueError, "eps must be >= 0"):
      combined_attack(model, images, labels, self.inv_var, -0.1)
    with self.assertRaisesRegex(ValueError, "labels must have one entry per image"):
      combined_attack(model, images, labels[:2], self.inv_var, 0.1)
    with self.assertRaisesRegex(ValueError, "inv_var must have 1 or 3 channels"):
      combined_attack(model, images, labels, np.ones((6, 16, 16, 2), np.float32), 0.1)


if __name__ == "__main__":
  tf.test.main()
