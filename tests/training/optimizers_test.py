"""Tests of dfadv_tf.training.optimizers: RAdam against Liu et al. Algorithm 2, StepDecay."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.training.optimizers import RAdam
from dfadv_tf.training.optimizers import StepDecay


def numpy_radam(w, grad_fn, steps, lr, beta_1, beta_2, eps, weight_decay):
  """Liu et al. 2020, Algorithm 2, with L2 weight decay added to the gradient and the
  epsilon of torch.optim.RAdam in the adaptive term. Returns the iterates."""
  m = np.zeros_like(w)
  v = np.zeros_like(w)
  rho_inf = 2.0 / (1.0 - beta_2) - 1.0
  out = []
  for t in range(1, steps + 1):
    g = grad_fn(w) + weight_decay * w
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    m_hat = m / (1 - beta_1 ** t)
    rho_t = rho_inf - 2 * t * beta_2 ** t / (1 - beta_2 ** t)
    if rho_t > 5:
      l_t = np.sqrt(1 - beta_2 ** t) / (np.sqrt(v) + eps)
      r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
      w = w - lr * r_t * m_hat * l_t
    else:
      w = w - lr * m_hat
    out.append(w.copy())
  return out


def numpy_reference_radam(w, grad_fn, steps, lr_fn, beta_1, beta_2, eps, weight_decay):
  """The update of the paper's reference RAdam (docs/reference.md), written out: the
  moments of the plain gradient; while the variance is not tractable (rho_t < 5) a
  momentum step lr * m / (1 - beta_1^t) ("degenerated to SGD"); the weight decay is
  decoupled, w <- w - weight_decay * lr * w, before either step. lr_fn(t) is the
  learning rate of step t (1-based). Returns the iterates."""
  m = np.zeros_like(w)
  v = np.zeros_like(w)
  rho_max = 2.0 / (1.0 - beta_2) - 1.0
  out = []
  for t in range(1, steps + 1):
    lr = lr_fn(t)
    g = grad_fn(w)
    v = beta_2 * v + (1.0 - beta_2) * g * g
    m = beta_1 * m + (1.0 - beta_1) * g
    beta_2_t = beta_2 ** t
    rho = rho_max - 2.0 * t * beta_2_t / (1.0 - beta_2_t)
    w = w - weight_decay * lr * w
    if rho >= 5:
      factor = np.sqrt((1.0 - beta_2_t) * (rho - 4.0) / (rho_max - 4.0) * (rho - 2.0) / rho
                       * rho_max / (rho_max - 2.0)) / (1.0 - beta_1 ** t)
      w = w - lr * factor * m / (np.sqrt(v) + eps)
    else:
      w = w - lr / (1.0 - beta_1 ** t) * m
    out.append(w.copy())
  return out


class RAdamTest(tf.test.TestCase):

  def test_decoupled_matches_the_reference_update(self):
    scale = np.array([1.0, 3.0, 0.5, 2.0, 1e-4])
    center = np.array([0.5, -1.0, 2.0, 0.0, 0.0])
    grad_fn = lambda w: scale * (w - center)
    w0 = np.array([1.0, 1.0, -1.0, 3.0, 0.05])
    schedule = StepDecay(0.1, step_size=8, factor=0.5)  # the decay uses the current lr
    lr_fn = lambda t: float(np.float32(0.1)) * 0.5 ** ((t - 1) // 8)
    expected = numpy_reference_radam(w0, grad_fn, 20, lr_fn, 0.9, 0.999, 1e-8, 5e-2)
    var = tf.Variable(w0, dtype=tf.float64)
    optimizer = RAdam(schedule, weight_decay=5e-2, decoupled_weight_decay=True)
    for t in range(20):
      with tf.GradientTape() as tape:
        loss = 0.5 * tf.reduce_sum(scale * tf.square(var - center))
      optimizer.apply([tape.gradient(loss, var)], [var])
      self.assertAllClose(var.numpy(), expected[t], rtol=1e-6, atol=1e-10)

  def test_decoupled_decay_keeps_weights_with_a_small_gradient(self):
    # Under Adam's 1/sqrt(v) scaling, L2 in the gradient drags a weight whose loss
    # gradient is small to 0 at about lr per step; decoupled, it decays by lr * wd.
    finals = {}
    for decoupled in (False, True):
      var = tf.Variable([0.05], dtype=tf.float64)
      optimizer = RAdam(5e-4, weight_decay=5e-4, decoupled_weight_decay=decoupled)
      step = tf.function(lambda: optimizer.apply([tf.zeros([1], tf.float64)], [var]))
      for _ in range(2000):
        step()
      finals[decoupled] = float(var.numpy()[0])
    self.assertLess(abs(finals[False]), 0.005)
    self.assertAllClose(finals[True], 0.05 * (1 - 5e-4 * 5e-4) ** 2000, rtol=1e-6)

  def test_matches_algorithm_2_with_l2_weight_decay(self):
    scale = np.array([1.0, 3.0, 0.5, 2.0])
    center = np.array([0.5, -1.0, 2.0, 0.0])
    grad_fn = lambda w: scale * (w - center)  # of 0.5 * sum(scale * (w - center)^2)
    w0 = np.array([1.0, 1.0, -1.0, 3.0])
    kwargs = dict(beta_1=0.9, beta_2=0.999, weight_decay=5e-2)
    # Keras keeps the learning rate in a float32 variable.
    expected = numpy_radam(w0, grad_fn, 20, lr=float(np.float32(0.1)), eps=1e-8, **kwargs)
    var = tf.Variable(w0, dtype=tf.float64)
    optimizer = RAdam(0.1, epsilon=1e-8, **kwargs)
    rho_inf = 2.0 / (1.0 - 0.999) - 1.0
    steps_before = [t for t in range(1, 21)
                    if rho_inf - 2 * t * 0.999 ** t / (1 - 0.999 ** t) <= 5]
    self.assertNotEmpty(steps_before)  # the un-rectified phase is covered
    for t in range(20):
      with tf.GradientTape() as tape:
        loss = 0.5 * tf.reduce_sum(scale * tf.square(var - center))
      optimizer.apply([tape.gradient(loss, var)], [var])
      self.assertAllClose(var.numpy(), expected[t], rtol=1e-10, atol=1e-12)

  def test_decoupled_weight_decay(self):
    var = tf.Variable([2.0], dtype=tf.float64)
    optimizer = RAdam(0.1, weight_decay=0.5, decoupled_weight_decay=True)
    optimizer.apply([tf.constant([0.0], tf.float64)], [var])
    self.assertAllClose(var.numpy(), [2.0 * (1 - 0.1 * 0.5)])

  def test_weight_decay_not_given_to_keras_base(self):
    optimizer = RAdam(1e-3, weight_decay=5e-4)
    self.assertIsNone(optimizer.weight_decay)
    var = tf.Variable([1.0])
    optimizer.apply([tf.constant([0.0])], [var])
    # One L2-only step: m_hat = wd * w, un-rectified update lr * m_hat.
    self.assertAllClose(var.numpy(), [1.0 - 1e-3 * 5e-4], rtol=1e-7)

  def test_config_round_trip(self):
    optimizer = RAdam(StepDecay(5e-4, 100), beta_2=0.99, weight_decay=5e-4,
                      decoupled_weight_decay=True)
    revived = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    self.assertIsInstance(revived, RAdam)
    self.assertEqual(revived.get_config(), optimizer.get_config())
    self.assertEqual(revived.l2_weight_decay, 5e-4)

  def test_invalid_arguments(self):
    with self.assertRaisesRegex(ValueError, "beta_1"):
      RAdam(beta_1=1.0)
    with self.assertRaisesRegex(ValueError, "weight_decay"):
      RAdam(weight_decay=-1.0)


class StepDecayTest(tf.test.TestCase):

  def test_values(self):
    schedule = StepDecay(5e-4, step_size=10)
    self.assertAllClose([float(schedule(s)) for s in (0, 9, 10, 25)],
                        [5e-4, 5e-4, 5e-5, 5e-6])

  def test_from_epochs(self):
    schedule = StepDecay.from_epochs(2e-3, epochs=10, steps_per_epoch=2160,
                                     updates_per_step=3)
    self.assertEqual(schedule.step_size, 64_800)

  def test_config_round_trip(self):
    schedule = StepDecay(1e-3, 7, factor=0.5)
    revived = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule))
    self.assertEqual(revived.get_config(), schedule.get_config())

  def test_invalid_step_size(self):
    with self.assertRaisesRegex(ValueError, "step_size"):
      StepDecay(1e-3, 0)


if __name__ == "__main__":
  tf.test.main()
