"""Tests for dfadv_tf.attacks.additive: FGSM (Eq. 1) and PGD."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method
from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

from dfadv_tf.attacks import fgsm, pgd
from tests.testing.attacks import per_sample_loss, toy_batch, trained_detector, untrained_detector


def tape_fgsm(model, images, labels, eps):
  """FGSM written out: sign of the gradient of the mean cross-entropy, then clip."""
  x = tf.constant(images)
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
        labels, model(x), from_logits=True))
  return tf.clip_by_value(x + eps * tf.sign(tape.gradient(loss, x)), -1.0, 1.0)


def tape_pgd(model, images, labels, eps, step_size, steps):
  x = images
  for _ in range(steps):
    x = tape_fgsm(model, x, labels, step_size)
    x = tf.clip_by_value(images + tf.clip_by_value(x - images, -eps, eps), -1.0, 1.0)
  return x


def cleverhans_loss(labels, logits):
  return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


class AdditiveTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = untrained_detector(seed=1)
    cls.images, cls.labels = toy_batch(8, seed=3)

  @parameterized.parameters(0.0, 2 / 255, 0.1)
  def test_fgsm_matches_tape_and_cleverhans(self, eps):
    got = fgsm(self.model, self.images, self.labels, eps)
    self.assertAllClose(got, tape_fgsm(self.model, self.images, self.labels, eps),
                        atol=1e-6, rtol=0)
    reference = fast_gradient_method(
        self.model, self.images, eps, np.inf, loss_fn=cleverhans_loss, clip_min=-1.0,
        clip_max=1.0, y=self.labels)
    self.assertAllClose(got, reference, atol=1e-6, rtol=0)

  @parameterized.parameters((0.05, 0.02, 1), (0.05, 0.02, 4), (8 / 255, 2 / 255, 3))
  def test_pgd_matches_tape_and_cleverhans(self, eps, step_size, steps):
    got = pgd(self.model, self.images, self.labels, eps, step_size, steps)
    self.assertAllClose(
        got, tape_pgd(self.model, self.images, self.labels, eps, step_size, steps),
        atol=1e-6, rtol=0)
    reference = projected_gradient_descent(
        self.model, self.images, eps, step_size, steps, np.inf, loss_fn=cleverhans_loss,
        clip_min=-1.0, clip_max=1.0, y=self.labels, rand_init=False, sanity_checks=False)
    self.assertAllClose(got, reference, atol=1e-6, rtol=0)

  @parameterized.product(attack=("fgsm", "pgd"), random_start=(False, True))
  def test_linf_bound_and_clip_range(self, attack, random_start):
    images = np.clip(self.images * 1.5, -1.0, 1.0)  # many pixels on the clip bounds
    eps = 0.2
    if attack == "fgsm":
      got = fgsm(self.model, images, self.labels, eps, clip=(-0.9, 0.9))
      images = np.clip(images, -0.9, 0.9)
    else:
      got = pgd(self.model, images, self.labels, eps, 0.07, 5, random_start=random_start,
                clip=(-1.0, 1.0), seed=4)
    got = got.numpy()
    self.assertLessEqual(np.abs(got - images).max(), eps + 1e-6)
    self.assertBetween(got.min(), -1.0, 1.0)
    self.assertBetween(got.max(), -1.0, 1.0)

  def test_pgd_random_start_is_seeded(self):
    first = pgd(self.model, self.images, self.labels, 0.1, 0.01, 1, random_start=True,
                seed=7)
    again = pgd(self.model, self.images, self.labels, 0.1, 0.01, 1, random_start=True,
                seed=7)
    self.assertAllEqual(first, again)
    plain = pgd(self.model, self.images, self.labels, 0.1, 0.01, 1)
    self.assertGreater(np.abs(first - plain).max(), 0.02)

  def test_runs_in_tf_function_and_stops_gradient(self):
    @tf.function
    def attack(images, labels):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch(images)
        adv_fgsm = fgsm(self.model, images, labels, 0.1)
        adv_pgd = pgd(self.model, images, labels, 0.1, 0.05, 2, random_start=True)
      return (adv_fgsm, adv_pgd, tape.gradient(adv_fgsm, images),
              tape.gradient(adv_pgd, images))

    images = tf.constant(self.images)
    adv_fgsm, adv_pgd, grad_fgsm, grad_pgd = attack(images, tf.constant(self.labels))
    self.assertAllClose(adv_fgsm, fgsm(self.model, self.images, self.labels, 0.1),
                        atol=1e-6)
    self.assertEqual(adv_pgd.shape, images.shape)
    self.assertIsNone(grad_fgsm)
    self.assertIsNone(grad_pgd)

  def test_mixed_precision_model_keeps_image_dtype(self):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
      model = untrained_detector(seed=2)
    finally:
      keras.mixed_precision.set_global_policy("float32")
    got = pgd(model, self.images, self.labels, 0.1, 0.05, 2)
    self.assertEqual(got.dtype, tf.float32)
    self.assertLessEqual(np.abs(got - self.images).max(), 0.1 + 1e-6)

  def test_attacks_raise_the_loss_of_a_trained_model(self):
    model = trained_detector(seed=0)
    images, labels = toy_batch(64, seed=11)
    clean = per_sample_loss(model, images, labels)
    for adv in (fgsm(model, images, labels, 2 / 255),
                pgd(model, images, labels, 4 / 255, 1 / 255, 5)):
      self.assertGreaterEqual(np.mean(per_sample_loss(model, adv, labels) > clean), 0.9)

  def test_bad_inputs(self):
    model, images, labels = self.model, self.images, self.labels
    with self.assertRaisesRegex(ValueError, "eps must be >= 0"):
      fgsm(model, images, labels, -0.1)
    with self.assertRaisesRegex(ValueError, "step_size must be >= 0"):
      pgd(model, images, labels, 0.1, -0.01, 2)
    with self.assertRaisesRegex(ValueError, "steps must be an integer >= 1"):
      pgd(model, images, labels, 0.1, 0.01, 0)
    with self.assertRaisesRegex(ValueError, "labels must have one entry per image"):
      fgsm(model, images, labels[:5], 0.1)
    with self.assertRaisesRegex(ValueError, r"labels must have shape \(B,\)"):
      fgsm(model, images, labels[:, None], 0.1)
    with self.assertRaisesRegex(ValueError, "labels must be an integer tensor"):
      fgsm(model, images, labels.astype(np.float32), 0.1)
    with self.assertRaisesRegex(ValueError, "images must have rank 4"):
      fgsm(model, images[0], labels, 0.1)
    with self.assertRaisesRegex(ValueError, "clip must be"):
      fgsm(model, images, labels, 0.1, clip=(1.0, -1.0))
    one_logit = untrained_detector(num_classes=1)
    with self.assertRaisesRegex(ValueError, r"model output must be \(B, 2\) logits"):
      fgsm(one_logit, images, labels, 0.1)
    with self.assertRaisesRegex(ValueError, r"K >= 2"):
      pgd(one_logit, images, labels, 0.1, 0.01, 1, num_classes=None)


if __name__ == "__main__":
  tf.test.main()
