"""Tests for dfadv_tf.attacks.blur: gradient BAT (Eq. 6)."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from dfadv_tf.attacks import blur_attack
from tests.testing.attacks import per_sample_loss, toy_batch, trained_detector, untrained_detector


def loop_blur(images, inv_var, kernel_size):
  """Eq. 4-5 written out tap by tap in TF: normalised weights, reflect padding."""
  half = kernel_size // 2
  padded = tf.pad(images, [[0, 0], [half, half], [half, half], [0, 0]], mode="REFLECT")
  height, width = images.shape[1], images.shape[2]
  num, den = 0.0, 0.0
  for du in range(-half, half + 1):
    for dv in range(-half, half + 1):
      w = tf.exp(-(du * du + dv * dv) * inv_var / 2.0)
      num += w * padded[:, half + du:half + du + height, half + dv:half + dv + width, :]
      den += w
  return num / den


TO_INV_VAR = {
    "inv_var": lambda v: v,
    "inv_sigma": lambda v: v * v,
    "sigma": lambda v: 1.0 / tf.square(tf.maximum(v, 1e-6)),
}


def reference_steps(model, images, labels, eps, steps, kernel_size, channels, param="inv_var",
                    start=None):
  """Reference BAT, taken as the reference takes it: separately on the real rows and on
  the fake rows, each step on the mean cross-entropy of those rows alone."""
  adv, inv_var = np.zeros(images.shape, np.float32), None
  for label in np.unique(labels):
    rows = np.flatnonzero(labels == label)
    got = batch_mean_steps(model, images[rows], labels[rows], eps, steps, kernel_size,
                           channels, param, None if start is None else start[rows])
    if inv_var is None:
      inv_var = np.zeros(images.shape[:3] + got[1].shape[-1:], np.float32)
    adv[rows], inv_var[rows] = got
  return adv, inv_var


def batch_mean_steps(model, images, labels, eps, steps, kernel_size, channels,
                     param="inv_var", start=None):
  """BAT on one group of rows: ones at L2 norm 100 per sample, + eps * grad of the
  group's mean cross-entropy, renormalise, clamp."""
  batch, height, width, _ = images.shape
  if start is None:
    start = np.full((batch, height, width, channels), 100.0 / np.sqrt(height * width * channels),
                    np.float32)
  value = tf.constant(start)
  norms = np.sqrt((start.astype(np.float64) ** 2).sum(axis=(1, 2, 3), keepdims=True))
  to_inv_var = TO_INV_VAR[param]
  for _ in range(steps):
    with tf.GradientTape() as tape:
      tape.watch(value)
      logits = model(loop_blur(images, to_inv_var(value), kernel_size))
      loss = tf.reduce_mean(
          tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    value = value + eps * tape.gradient(loss, value)
    value = value * norms / tf.sqrt(tf.reduce_sum(value ** 2, axis=(1, 2, 3), keepdims=True))
    value = tf.maximum(value, 0.0)
  inv_var = to_inv_var(value)
  return loop_blur(images, inv_var, kernel_size).numpy(), inv_var.numpy()


class BlurAttackTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = untrained_detector(seed=1)
    cls.images, cls.labels = toy_batch(6, seed=3)

  @parameterized.parameters("rings", "patches")
  def test_reference_default_step(self, blur_method):
    adv, inv_var = blur_attack(self.model, self.images, self.labels, kernel_size=5,
                               blur_method=blur_method)
    want_adv, want_inv_var = reference_steps(self.model, self.images, self.labels, 10.0, 1, 5,
                                             3)
    self.assertAllClose(inv_var, want_inv_var, atol=1e-5, rtol=1e-5)
    self.assertAllClose(adv, want_adv, atol=1e-5, rtol=1e-5)
    self.assertAllClose(np.sqrt((inv_var.numpy() ** 2).sum(axis=(1, 2, 3))), [100.0] * 6,
                        rtol=1e-4)
    self.assertGreater(np.abs(want_inv_var - want_inv_var.mean()).max(), 1e-4)  # it moved

  @parameterized.product(param=("inv_var", "inv_sigma", "sigma"), channels=(1, 3),
                         steps=(1, 3))
  def test_params_channels_and_steps(self, param, channels, steps):
    adv, inv_var = blur_attack(self.model, self.images, self.labels, eps=1e4, steps=steps,
                               kernel_size=3, channels=channels, param=param,
                               blur_method="patches")
    want_adv, want_inv_var = reference_steps(self.model, self.images, self.labels, 1e4, steps,
                                             3, channels, param)
    self.assertEqual(inv_var.shape, (6, 16, 16, channels))
    self.assertAllClose(inv_var, want_inv_var, atol=1e-4, rtol=1e-4)
    self.assertAllClose(adv, want_adv, atol=1e-5, rtol=1e-5)

  def test_constant_init_without_renormalisation(self):
    adv, inv_var = blur_attack(self.model, self.images, self.labels, eps=0.0, kernel_size=5,
                               param="sigma", init="constant", init_value=1.0,
                               renormalize=False, blur_method="patches")
    self.assertAllClose(inv_var, np.ones_like(inv_var))
    self.assertAllClose(adv, loop_blur(self.images, np.ones((6, 16, 16, 3), np.float32), 5),
                        atol=1e-5)
    _, moved = blur_attack(self.model, self.images, self.labels, eps=1e3, kernel_size=5,
                           param="sigma", init="constant", init_value=1.0, renormalize=False,
                           blur_method="patches")
    start = np.ones((6, 16, 16, 3), np.float32)
    self.assertGreater(np.abs(moved - start).max(), 1e-3)

  def test_step_per_class_half_on_a_mixed_and_a_one_class_batch(self):
    kwargs = dict(eps=1e4, kernel_size=3, blur_method="patches")
    start = np.full((6, 16, 16, 3), 100.0 / np.sqrt(16 * 16 * 3), np.float32)
    _, class_mean = blur_attack(self.model, self.images, self.labels, renormalize=False,
                                **kwargs)
    _, batch_mean = blur_attack(self.model, self.images, self.labels, renormalize=False,
                                loss_reduction="mean", **kwargs)
    # 3 real + 3 fake rows: each class half's mean moves the map twice as far.
    self.assertAllClose(class_mean - start, 2.0 * (batch_mean - start), atol=1e-5)
    self.assertGreater(np.abs(batch_mean - start).max(), 1e-2)
    fakes = self.labels == 1
    _, one_class = blur_attack(self.model, self.images[fakes], self.labels[fakes], **kwargs)
    want = batch_mean_steps(self.model, self.images[fakes], self.labels[fakes], 1e4, 1, 3, 3)
    self.assertAllClose(one_class, want[1], atol=1e-4, rtol=1e-4)
    _, alone = blur_attack(self.model, self.images[:1], self.labels[:1],
                           loss_reduction="sum", **kwargs)
    _, in_batch = blur_attack(self.model, self.images, self.labels, loss_reduction="sum",
                              **kwargs)
    self.assertAllClose(in_batch[:1], alone, atol=1e-4, rtol=1e-4)

  def test_map_is_nonnegative_and_gradient_stops(self):
    @tf.function
    def attack(images, labels):
      with tf.GradientTape() as tape:
        tape.watch(images)
        adv, inv_var = blur_attack(self.model, images, labels, eps=1e6, kernel_size=3,
                                   blur_method="patches")
      return adv, inv_var, tape.gradient(adv, images)

    adv, inv_var, grad = attack(tf.constant(self.images), tf.constant(self.labels))
    self.assertGreaterEqual(inv_var.numpy().min(), 0.0)
    self.assertTrue(np.isfinite(adv.numpy()).all())
    self.assertIsNone(grad)

  def test_raises_the_loss_of_a_trained_model(self):
    model = trained_detector(seed=0)
    images, labels = toy_batch(64, seed=11)
    adv, _ = blur_attack(model, images, labels, kernel_size=9, blur_method="patches")
    clean = per_sample_loss(model, images, labels)
    self.assertGreaterEqual(np.mean(per_sample_loss(model, adv, labels) > clean), 0.9)

  def test_bad_inputs(self):
    model, images, labels = self.model, self.images, self.labels
    for kwargs, message in (
        ({"eps": -1.0}, "eps must be >= 0"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"param": "variance"}, "param must be one of"),
        ({"init": "zeros"}, "init must be one of"),
        ({"channels": 2}, "channels must be 1 or 3"),
        ({"init_value": 0.0}, "init_value must be > 0"),
        ({"kernel_size": 4}, "kernel_size must be an odd integer"),
        ({"loss_reduction": "max"}, "loss_reduction must be one of"),
    ):
      with self.assertRaisesRegex(ValueError, message):
        blur_attack(model, images, labels, **kwargs)
    with self.assertRaisesRegex(ValueError, "labels must have one entry per image"):
      blur_attack(model, images, labels[:2])
    with self.assertRaisesRegex(ValueError, r"model output must be \(B, 2\) logits"):
      blur_attack(untrained_detector(num_classes=3), images, labels)


if __name__ == "__main__":
  tf.test.main()
