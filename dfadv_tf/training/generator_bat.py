"""Generator BAT: the min-max game of Eq. 7 (Sec. III-C), one or two blur generators, and
Combined AT (Fig. 3).

Each batch (REFERENCE_NOTES.md, "The min-max loop"):
1. `g_steps` generator updates, detector frozen and in inference mode:
   G: minimise -CE(D(blur(x, G(x))), y) over its rows (untargeted, no label flip).
   Two-Gen-BAT: G_r owns the real rows (label 0), G_f the fake rows (label 1); both run
   on the whole static-shape batch with their BatchNorm statistics and losses masked to
   their own rows, and the map of each row is taken from its own generator.
2. One detector update on [x, blur(x, G(x))] (mean CE over the 2B rows), the blurred rows
   under stop-gradient; Combined AT adds an FGSM step of `combined_fgsm_eps` on the
   blurred rows (x_adv2 of Fig. 3).
A generator with no rows in the batch (e.g. G_f on an all-real batch) is not updated.
"""

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.attacks.combined import combined_attack
from dfadv_tf.models.generator import BlurGenerator
from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.training import base
from dfadv_tf.training.optimizers import RAdam


@keras.saving.register_keras_serializable(package="dfadv_tf")
class GeneratorBATModel(base.TrainingModel):
  """Gen-BAT (`generators=1`), Two-Gen-BAT (2) and Combined AT (`combined_fgsm_eps`).

  Args:
    detector: a built `keras.Model`, (B, H, W, 3) float in [-1, 1] -> (B, 2) logits.
    generators: 1 (one G for all rows) or 2 (G_r for real rows, G_f for fake rows).
    g_steps: generator updates per detector update (reference 3), int >= 1.
    kernel_size: odd blur window k (paper 9).
    combined_fgsm_eps: None, or the FGSM step (>= 0, [-1, 1] units; reference 1/255)
      applied on the blurred rows: Combined AT.
    generator_kwargs: `BlurGenerator` arguments (width, n_blocks, min_inv_var, ...).
  Compile: `compile(optimizer=None, generator_optimizer=None, ...)`; each generator gets
  its own clone of `generator_optimizer` (default RAdam lr 2e-3, weight decay 5e-4).
  Trackers: loss, clean_loss, adv_loss, g_loss (one generator) or g_real_loss and
  g_fake_loss (the -CE each generator minimises, averaged over its g_steps updates),
  accuracy, auc.
  """

  def __init__(self, detector, generators=2, g_steps=3, kernel_size=9,
               combined_fgsm_eps=None, generator_kwargs=None, **kwargs):
    super().__init__(detector, **kwargs)
    self.num_generators = checks.one_of(generators, (1, 2), "generators")
    self.g_steps = checks.integer(g_steps, "g_steps")
    self.kernel_size = checks.odd_integer(kernel_size, "kernel_size")
    self.combined_fgsm_eps = (None if combined_fgsm_eps is None else
                              checks.nonnegative(combined_fgsm_eps, "combined_fgsm_eps"))
    self.generator_kwargs = dict(generator_kwargs or {})
    names = [""] if generators == 1 else ["_real", "_fake"]
    self.generators = [BlurGenerator(**self.generator_kwargs, name=f"generator{n}")
                       for n in names]
    for generator in self.generators:
      generator.build((None, None, None, 3))
    self.add_adversarial_trackers()
    self._generator_losses = [f"g{n}_loss" for n in names]
    for name in self._generator_losses:
      self.add_tracker(name)

  def compile(self, optimizer=None, generator_optimizer=None, **kwargs):
    super().compile(optimizer=optimizer, **kwargs)
    if generator_optimizer is None:
      generator_optimizer = RAdam(base.GENERATOR_LEARNING_RATE, weight_decay=base.WEIGHT_DECAY,
                                  decoupled_weight_decay=True)
    template = keras.optimizers.get(generator_optimizer)
    if isinstance(template, keras.optimizers.LossScaleOptimizer):
      template = template.inner_optimizer
    self.generator_optimizer_template = template
    self.generator_optimizers = [
        self.prepare_optimizer(base.clone_optimizer(template), g.trainable_variables)
        for g in self.generators]

  def get_compile_config(self):
    """Keras' compile config plus the generators' optimizer (for `compile_from_config`)."""
    config = super().get_compile_config()
    if config:
      config["generator_optimizer"] = keras.saving.serialize_keras_object(
          self.generator_optimizer_template)
    return config

  # ---- the game ------------------------------------------------------------------------

  def _row_masks(self, labels):
    """Rows of each generator: [None] (all) or [real rows, fake rows], (B,) bool."""
    if self.num_generators == 1:
      return [None]
    return [tf.equal(labels, 0), tf.equal(labels, 1)]

  def inv_var(self, images, labels, training):
    """Each row's map from its generator: (B, H, W, 1) float32 inverse variance."""
    masks = self._row_masks(labels)
    maps = [g(images, training=training, row_mask=m) for g, m in zip(self.generators, masks)]
    if len(maps) == 1:
      return maps[0]
    return tf.where(masks[1][:, None, None, None], maps[1], maps[0])

  def _adversarial_rows(self, images, labels, inv_var):
    if self.combined_fgsm_eps is None:
      return pixel_gaussian_blur(images, inv_var, self.kernel_size)
    return combined_attack(self.detector, images, labels, inv_var, self.combined_fgsm_eps,
                           kernel_size=self.kernel_size)

  def generator_step(self, images, labels):
    """One update of every generator against the frozen detector (inference mode)."""
    masks = self._row_masks(labels)
    variables = [g.trainable_variables for g in self.generators]
    counts = [base.global_sum(tf.cast(tf.size(labels) if m is None else
                                      tf.math.count_nonzero(m), tf.float32))
              for m in masks]
    with tf.GradientTape() as tape:
      inv_var = self.inv_var(images, labels, training=True)
      blurred = pixel_gaussian_blur(images, inv_var, self.kernel_size)
      ce = base.cross_entropy(labels, self.detector(blurred, training=False))
      scaled = []
      for name, mask, count, optimizer in zip(self._generator_losses, masks, counts,
                                              self.generator_optimizers):
        rows_ce = ce if mask is None else tf.where(mask, ce, 0.0)
        loss = -tf.math.divide_no_nan(tf.reduce_sum(rows_ce), count)
        self.track(name, loss, present=count > 0)
        scaled.append(optimizer.scale_loss(loss))
      total = tf.add_n(scaled)
    # Each loss depends on its own generator only, so one backward pass gives all.
    grads = tape.gradient(total, tf.nest.flatten(variables))
    start = 0
    for optimizer, var_list, mask, count in zip(self.generator_optimizers, variables,
                                                masks, counts):
      var_grads = grads[start:start + len(var_list)]
      start += len(var_list)
      if mask is None:
        optimizer.apply(var_grads, var_list)
      else:
        self._apply_if_rows(optimizer, var_grads, var_list, count > 0)

  def _apply_if_rows(self, optimizer, grads, variables, present):
    """Applies `grads`, then puts the old weights back unless `present` (the generator
    has rows in the global batch). A zero gradient alone would still move the weights
    (momentum, weight decay). A tf.where, not a tf.cond: the optimizer's cross-replica
    merge_call cannot sit in a cond branch under MirroredStrategy. The optimizer's own
    state (iterations, moments) still takes the zero-gradient step."""
    olds = [tf.identity(v) for v in variables]
    optimizer.apply(grads, variables)
    for var, old in zip(variables, olds):
      var.assign(tf.where(present, var, old))

  def adversary_step(self, images, labels):
    for _ in range(self.g_steps):
      self.generator_step(images, labels)
    return self.detector_rows(images, labels)

  def detector_rows(self, images, labels):
    """The adversarial rows of the detector update, blur(x, G(x)) (+ FGSM for Combined
    AT), from the generators in training mode, under stop-gradient."""
    inv_var = tf.stop_gradient(self.inv_var(images, labels, training=True))
    return tf.stop_gradient(self._adversarial_rows(images, labels, inv_var))

  def adversarial_examples(self, images, labels):
    """(adversarial images, inv_var (B, H, W, 1)) with the generators in inference mode."""
    images = tf.cast(images, tf.float32)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    inv_var = self.inv_var(images, labels, training=False)
    return self._adversarial_rows(images, labels, inv_var), inv_var

  def get_config(self):
    config = super().get_config()
    config.update(generators=self.num_generators, g_steps=self.g_steps,
                  kernel_size=self.kernel_size, combined_fgsm_eps=self.combined_fgsm_eps,
                  generator_kwargs=self.generator_kwargs)
    return config
