"""RAdam (Liu et al. 2020, Algorithm 2) and the step-decay schedule of the paper (Sec. IV).

Paper values: RAdam beta = (0.9, 0.999), weight decay 5e-4, detector lr 5e-4, generator
lr 2e-3, learning rate x0.1 every 10 epochs.
"""

import keras
from keras import ops

from dfadv_tf import checks


@keras.saving.register_keras_serializable(package="dfadv_tf")
class RAdam(keras.optimizers.Optimizer):
  """Rectified Adam with the argument meanings of `torch.optim.RAdam`.

  With g = grad + weight_decay * w (L2; or, if `decoupled_weight_decay`,
  w <- w * (1 - lr * weight_decay) and g = grad), at step t:

      m = beta_1 m + (1 - beta_1) g,   v = beta_2 v + (1 - beta_2) g^2
      m_hat = m / (1 - beta_1^t)
      rho_inf = 2 / (1 - beta_2) - 1,  rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)
      rho_t > 5:  w -= lr * r_t * m_hat * sqrt(1 - beta_2^t) / (sqrt(v) + epsilon)
                  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
      otherwise:  w -= lr * m_hat          (un-rectified momentum step)

  `weight_decay` is this optimizer's own (L2 or decoupled as above); it is not handed to
  Keras' base class, which would add its own decoupled decay on top.
  """

  def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
               weight_decay=0.0, decoupled_weight_decay=False, name="radam", **kwargs):
    super().__init__(learning_rate=learning_rate, name=name, **kwargs)
    for value, label in ((beta_1, "beta_1"), (beta_2, "beta_2")):
      if not 0.0 <= value < 1.0:
        raise ValueError(f"{label} must be in [0, 1), got {value!r}.")
    if epsilon < 0.0 or weight_decay < 0.0:
      raise ValueError(
          f"epsilon and weight_decay must be >= 0, got {epsilon!r} and {weight_decay!r}.")
    self.beta_1 = float(beta_1)
    self.beta_2 = float(beta_2)
    self.epsilon = float(epsilon)
    self.l2_weight_decay = float(weight_decay)
    self.decoupled_weight_decay = bool(decoupled_weight_decay)

  def build(self, var_list):
    if self.built:
      return
    super().build(var_list)
    self._momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list]
    self._velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]

  def update_step(self, gradient, variable, learning_rate):
    lr = ops.cast(learning_rate, variable.dtype)
    gradient = ops.cast(gradient, variable.dtype)
    t = ops.cast(self.iterations + 1, variable.dtype)
    beta_1 = ops.convert_to_tensor(self.beta_1, variable.dtype)
    beta_2 = ops.convert_to_tensor(self.beta_2, variable.dtype)
    if self.l2_weight_decay:
      if self.decoupled_weight_decay:
        self.assign(variable, variable * (1.0 - lr * self.l2_weight_decay))
      else:
        gradient = gradient + self.l2_weight_decay * variable
    m = self._momentums[self._get_variable_index(variable)]
    v = self._velocities[self._get_variable_index(variable)]
    self.assign(m, beta_1 * m + (1.0 - beta_1) * gradient)
    self.assign(v, beta_2 * v + (1.0 - beta_2) * ops.square(gradient))
    beta_2_t = ops.power(beta_2, t)
    m_hat = m / (1.0 - ops.power(beta_1, t))
    rho_inf = 2.0 / (1.0 - self.beta_2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta_2_t / (1.0 - beta_2_t)
    rect = ops.sqrt(ops.maximum(
        (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
        / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t), 0.0))
    adaptive = ops.sqrt(1.0 - beta_2_t) / (ops.sqrt(v) + self.epsilon)
    step = ops.where(rho_t > 5.0, rect * adaptive * m_hat, m_hat)
    self.assign_sub(variable, lr * step)

  def get_config(self):
    config = super().get_config()
    config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                  weight_decay=self.l2_weight_decay,
                  decoupled_weight_decay=self.decoupled_weight_decay)
    return config


@keras.saving.register_keras_serializable(package="dfadv_tf")
class StepDecay(keras.optimizers.schedules.ExponentialDecay):
  """lr(step) = initial_learning_rate * factor ** floor(step / step_size).

  Keras' `ExponentialDecay(staircase=True)` under the paper's names ("x0.1 every N
  epochs"), with `from_epochs` to count in epochs. `step` is the optimizer's update count:
  a generator optimizer of GeneratorBATModel makes `g_steps` updates per batch.
  """

  def __init__(self, initial_learning_rate, step_size, factor=0.1, name="StepDecay"):
    self.step_size = checks.integer(step_size, "step_size")
    self.factor = checks.number(factor, "factor", minimum=0.0)
    initial_learning_rate = checks.number(initial_learning_rate, "initial_learning_rate",
                                          minimum=0.0)
    if initial_learning_rate == 0.0 or self.factor == 0.0:
      raise ValueError("initial_learning_rate and factor must be > 0, got "
                       f"{initial_learning_rate!r} and {factor!r}.")
    super().__init__(initial_learning_rate, decay_steps=self.step_size,
                     decay_rate=self.factor, staircase=True, name=name)

  @classmethod
  def from_epochs(cls, initial_learning_rate, epochs, steps_per_epoch,
                  updates_per_step=1, factor=0.1):
    """Decay every `epochs` epochs of `steps_per_epoch` batches, with `updates_per_step`
    optimizer updates per batch (g_steps for a generator optimizer)."""
    return cls(initial_learning_rate, int(epochs * steps_per_epoch * updates_per_step),
               factor)

  def get_config(self):
    return {"initial_learning_rate": self.initial_learning_rate,
            "step_size": self.step_size, "factor": self.factor, "name": self.name}
