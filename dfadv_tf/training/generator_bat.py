"""Generator BAT: the min-max game of Eq. 7 (Sec. III-C), one or two blur generators, and
Combined AT (Fig. 3). `GeneratorBATModel.train_step` is the whole game on one screen.

Each batch (docs/reference.md, "Min-max game"):
1. `g_steps` generator updates, detector frozen and in inference mode:
   G: minimise -CE(D(blur(x, G(x))), y) over its rows (untargeted, no label flip).
   Two-Gen-BAT: G_r owns the real rows (label 0), G_f the fake rows (label 1).
2. One detector update on [x, blur(x, G(x))] (mean CE over the 2B rows), the blurred rows
   under stop-gradient. They are the rows that the last generator update already made in
   its forward pass (before its optimizer step), as in the reference: no extra generator
   pass. Combined AT adds an FGSM step of `combined_eps_levels` on them (x_adv2 of Fig. 3),
   taken from the detector's input gradient that the same backward pass gave.

How Two-Gen-BAT routes the rows to its generators (`routing`, `dfadv_tf.training.routing`):
"halves" (default; batches alternate real, fake, ..., the reference's sampling; each
generator runs on its own half) or "masks" (any batch; both generators on every row,
masked). Both give the same updates on an alternating batch
(tests/training/generator_bat_test.py). Under `tf.distribute` each replica takes a
contiguous, even-sized slice of the global batch, which alternates too. TSN clips are
split into real and fake clips before they become frames.
"""

from absl import logging
import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.attacks.combined import combined_attack
from dfadv_tf.attacks.common import from_grey_levels
from dfadv_tf.attacks.common import to_grey_levels
from dfadv_tf.models.generator import BlurGenerator
from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.training import base
from dfadv_tf.training import routing as routing_lib
from dfadv_tf.training.optimizers import RAdam
from dfadv_tf.training.routing import ROUTINGS
from dfadv_tf.training.routing import Rows


def fgsm_step(blurred, grad_of_loss, eps):
  """Combined AT's x_adv2 = clip(x_adv1 + eps * sign(grad CE)) (Eq. 1 at x_adv1, Fig. 3),
  from the gradient of the generators' loss at x_adv1: each row's loss is a positive
  multiple of -CE of that row, so the step goes against its sign (the detector in
  inference mode, the same weights as `fgsm` takes); a non-finite (loss-scaled) entry
  takes no step."""
  grad = tf.where(tf.math.is_finite(grad_of_loss), grad_of_loss, 0.0)
  return tf.clip_by_value(blurred - eps * tf.sign(grad), -1.0, 1.0)


def clamped(generator, inv_var):
  """Per row (N,), the fraction of `inv_var`'s entries on `generator`'s clamp
  (`min_inv_var` or `max_inv_var`: they get no gradient)."""
  on_clamp = tf.logical_or(inv_var <= generator.min_inv_var,
                           inv_var >= generator.max_inv_var)
  return tf.reduce_mean(tf.cast(on_clamp, tf.float32), axis=[1, 2, 3])


@keras.saving.register_keras_serializable(package="dfadv_tf")
class GeneratorBATModel(base.TrainingModel):
  """Gen-BAT (`generators=1`), Two-Gen-BAT (2) and Combined AT (`combined_eps_levels`).

  Args:
    detector: a built `keras.Model`, (B, H, W, 3) float in [-1, 1] -> (B, 2) logits.
    generators: 1 (one G for all rows) or 2 (G_r for real rows, G_f for fake rows).
    g_steps: generator updates per detector update (reference 3), int >= 1.
    kernel_size: odd blur window k (paper 9).
    combined_eps_levels: None, or the FGSM step in grey levels of 255 (>= 0; the
      reference's 1/255 in [-1, 1] is 0.5) applied on the blurred rows: Combined AT.
      `combined_fgsm_eps` ([-1, 1] units, a `.keras` file of the earlier release) is
      read for one release, with a warning.
    generator_kwargs: `BlurGenerator` arguments (width, n_blocks, min_inv_var, ...).
    routing: two generators only: "halves" (batches alternate real, fake, ...; each
      generator runs on its half) or "masks" (any batch; both generators on every row).
  Compile: `compile(optimizer=None, generator_optimizer=None, ...)`; each generator gets
  its own clone of `generator_optimizer` (default RAdam lr 2e-3, weight decay 5e-4).
  Trackers: loss, clean_loss, adv_loss, g_loss (one generator) or g_real_loss and
  g_fake_loss (the -CE each generator minimises), g_clamped or g_real_clamped and
  g_fake_clamped (the fraction of its map's pixels on its clamp, `min_inv_var` or
  `max_inv_var`: they get no gradient), both averaged over the g_steps updates;
  accuracy, auc.
  """

  def __init__(self, detector, generators=2, g_steps=3, kernel_size=9,
               combined_eps_levels=None, generator_kwargs=None, routing="halves", **kwargs):
    old_eps = kwargs.pop("combined_fgsm_eps", None)
    if old_eps is not None:
      if combined_eps_levels is not None:
        raise ValueError("combined_fgsm_eps (deprecated) and combined_eps_levels set the "
                         "same thing: keep combined_eps_levels.")
      combined_eps_levels = to_grey_levels(checks.nonnegative(old_eps, "combined_fgsm_eps"))
      logging.warning("combined_fgsm_eps is deprecated and goes in the next release: use "
                      "combined_eps_levels=%g (grey levels of 255).", combined_eps_levels)
    super().__init__(detector, **kwargs)
    self.num_generators = checks.one_of(generators, (1, 2), "generators")
    self.g_steps = checks.integer(g_steps, "g_steps")
    self.kernel_size = checks.odd_integer(kernel_size, "kernel_size")
    self.combined_eps_levels = (None if combined_eps_levels is None else
                                checks.nonnegative(combined_eps_levels,
                                                   "combined_eps_levels"))
    self.routing = checks.one_of(routing, ROUTINGS, "routing")
    self.generator_kwargs = dict(generator_kwargs or {})
    names = [""] if generators == 1 else ["_real", "_fake"]
    self.generators = [BlurGenerator(**self.generator_kwargs, name=f"generator{n}")
                       for n in names]
    for generator in self.generators:
      generator.build((None, None, None, 3))
    self.add_adversarial_trackers()
    self._generator_losses = [f"g{n}_loss" for n in names]
    self._generator_clamped = [f"g{n}_clamped" for n in names]
    for name in self._generator_losses + self._generator_clamped:
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

  # ---- the game (Eq. 7) ----------------------------------------------------------------

  def train_step(self, data):
    """One round of the min-max game of Eq. 7 (Sec. III-C):
    min_D max_G  CE(D(x), y) + CE(D(blur(x, G(x))), y)."""
    images, labels, extra = self.checked_batch(data)
    # Two-Gen-BAT: G_r plays on the real rows, G_f on the fake rows (`routing`); a TSN's
    # clips become frames, each blurred with its own map.
    parts = self.split(images, labels)
    rows = Rows([base.to_frames(self.detector, x, y) for x, y in parts], self.num_generators)
    # max over G: g_steps generator updates against the frozen detector.
    blurred = base.repeat(self.g_steps, lambda: self.generator_update(rows), rows.images)
    adversarial = self.merge([base.from_frames(self.detector, b, x)
                              for b, (x, _) in zip(blurred, parts)])
    # min over D: one update on the clean and the adversarial rows (without gradient).
    self.detector_update(images, labels, adversarial, extra)
    return self.results()

  def generator_update(self, rows):
    """One update of every generator against the detector (inference mode, frozen):
    each G maps its rows to a per-pixel inverse variance 1/sigma^2, the rows are blurred
    with it (Eq. 4-5) and G descends -CE of the detector over its own rows. Returns the
    blurred rows of this forward pass (before the optimizer step), without gradient;
    Combined AT adds its FGSM step (Fig. 3)."""
    variables = [g.trainable_variables for g in self.generators]
    with tf.GradientTape() as tape:
      inv_var = rows.maps(self.generators)
      blurred = [pixel_gaussian_blur(x, m, self.kernel_size)
                 for x, m in zip(rows.images, inv_var)]
      ce = base.cross_entropy(rows.labels, self.detector(tf.concat(blurred, axis=0),
                                                         training=False))
      losses = [-mean_ce for mean_ce in rows.means(ce)]
      total = base.scaled_sum(self.generator_optimizers, losses)
    combined = self.combined_eps_levels is not None
    grads, input_grads = tape.gradient(total, (variables, blurred if combined else []))
    for k, generator in enumerate(self.generators):
      rows.apply(k, self.generator_optimizers[k], grads[k], variables[k])
      on_clamp = rows.means(clamped(generator, tf.concat(inv_var, axis=0)))[k]
      self.track(self._generator_losses[k], losses[k], present=rows.present(k))
      self.track(self._generator_clamped[k], on_clamp, present=rows.present(k))
    if combined:
      blurred = [fgsm_step(x, g, from_grey_levels(self.combined_eps_levels))
                 for x, g in zip(blurred, input_grads)]
    return [tf.stop_gradient(x) for x in blurred]

  # ---- the same pieces, for tests, benchmarks and callbacks ------------------------------

  def split(self, images, labels):
    """`routing_lib.split` of a batch: its real and fake halves under "halves" routing."""
    halves = self.num_generators == 2 and self.routing == "halves"
    return routing_lib.split(images, labels, halves)

  def merge(self, parts):
    """`routing_lib.merge`: the inverse of `split`."""
    return routing_lib.merge(parts)

  def generator_step(self, images, labels):
    """One update of every generator on a batch; returns the adversarial rows that its
    forward pass made (before the optimizer step), in the batch's order."""
    rows = Rows(self.split(images, labels), self.num_generators)
    return self.merge(self.generator_update(rows))

  def adversary_step(self, images, labels):
    """The `g_steps` generator updates of a training step; the adversarial rows."""
    rows = Rows(self.split(images, labels), self.num_generators)
    return self.merge(base.repeat(self.g_steps, lambda: self.generator_update(rows),
                                  rows.images))

  def inv_var(self, images, labels, training):
    """Each row's map from its generator: (B, H, W, 1) float32 inverse variance. Used
    outside the game (any batch): both generators run on every row and each row takes
    its generator's map (in training mode with "masks" BatchNorm statistics)."""
    return Rows([(images, labels)], self.num_generators).maps(
        self.generators, training=training)[0]

  def adversarial_examples(self, images, labels):
    """(adversarial images, inv_var (B, H, W, 1)) with the generators in inference mode,
    for any batch."""
    images = tf.cast(images, tf.float32)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    inv_var = self.inv_var(images, labels, training=False)
    if self.combined_eps_levels is None:
      return pixel_gaussian_blur(images, inv_var, self.kernel_size), inv_var
    return combined_attack(self.detector, images, labels, inv_var,
                           from_grey_levels(self.combined_eps_levels),
                           kernel_size=self.kernel_size), inv_var

  def get_config(self):
    config = super().get_config()
    config.update(generators=self.num_generators, g_steps=self.g_steps,
                  kernel_size=self.kernel_size, combined_eps_levels=self.combined_eps_levels,
                  generator_kwargs=self.generator_kwargs, routing=self.routing)
    return config
