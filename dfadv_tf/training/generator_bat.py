"""Generator BAT: the min-max game of Eq. 7 (Sec. III-C), one or two blur generators, and
Combined AT (Fig. 3).

Each batch (docs/reference.md, "Min-max game"):
1. `g_steps` generator updates, detector frozen and in inference mode:
   G: minimise -CE(D(blur(x, G(x))), y) over its rows (untargeted, no label flip).
   Two-Gen-BAT: G_r owns the real rows (label 0), G_f the fake rows (label 1).
2. One detector update on [x, blur(x, G(x))] (mean CE over the 2B rows), the blurred rows
   under stop-gradient. They are the rows that the last generator update already made in
   its forward pass (before its optimizer step), as in the reference: no extra generator
   pass. Combined AT adds an FGSM step of `combined_fgsm_eps` on them (x_adv2 of Fig. 3),
   taken from the detector's input gradient that the same backward pass gave.

How Two-Gen-BAT routes the rows to its generators (`routing`):
- "halves" (default): every batch (every replica's share of it) alternates real and fake
  rows, r, f, r, f, ... (`records.load_split(balance="halves")`), i.e. B/2 of each, the
  reference's sampling. Each generator runs on its own B/2 rows only (static strided
  slices: XLA- and MirroredStrategy-friendly), so a step does the reference's arithmetic.
  Under `tf.distribute` each replica takes a contiguous, even-sized slice of the global
  batch, which alternates too: every generator sees B/(2N) rows per replica and its
  BatchNorm normalises with them. A batch that does not alternate is an error that names
  the fix. TSN clips are split into real and fake clips before they become frames.
- "masks": any batch (one class only, odd sizes, any order). Both generators run on every
  row, with BatchNorm statistics (`RowMaskedBatchNormalization`) and losses masked to their
  own rows, each row's map taken from its own generator: twice the generator arithmetic.
  A generator with no rows in the global batch keeps its weights.
Both give the same updates on an alternating batch (tests/training/generator_bat_test.py).
"""

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.attacks.combined import combined_attack
from dfadv_tf.models.generator import BlurGenerator
from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.training import base
from dfadv_tf.training.optimizers import RAdam

ROUTINGS = ("halves", "masks")


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
               combined_fgsm_eps=None, generator_kwargs=None, routing="halves", **kwargs):
    super().__init__(detector, **kwargs)
    self.num_generators = checks.one_of(generators, (1, 2), "generators")
    self.g_steps = checks.integer(g_steps, "g_steps")
    self.kernel_size = checks.odd_integer(kernel_size, "kernel_size")
    self.combined_fgsm_eps = (None if combined_fgsm_eps is None else
                              checks.nonnegative(combined_fgsm_eps, "combined_fgsm_eps"))
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

  # ---- routing -------------------------------------------------------------------------

  @property
  def _halves(self):
    return self.num_generators == 2 and self.routing == "halves"

  def split(self, images, labels):
    """The batch as the generators take it: [(real rows, labels), (fake rows, labels)]
    with "halves" routing (rows 0, 2, 4, ... and 1, 3, 5, ...; InvalidArgumentError
    unless they are real and fake rows of equal counts), else [(images, labels)]."""
    if not self._halves:
      return [(images, labels)]
    parts = [(images[i::2], labels[i::2]) for i in (0, 1)]
    n_real, n_fake = tf.shape(parts[0][1])[0], tf.shape(parts[1][1])[0]
    alternating = tf.logical_and(
        tf.equal(n_real, n_fake),
        tf.logical_and(tf.reduce_all(tf.equal(parts[0][1], 0)),
                       tf.reduce_all(tf.equal(parts[1][1], 1))))
    check = tf.debugging.Assert(alternating, [
        "GeneratorBATModel(routing='halves') needs batches whose rows alternate real, "
        "fake, real, fake, ... (an even count per replica), e.g. records.load_split("
        "balance='halves'); pass routing='masks' for batches of any composition. Got "
        "labels:", labels], summarize=64)
    with tf.control_dependencies([check]):
      return [(tf.identity(x), tf.identity(y)) for x, y in parts]

  def merge(self, parts):
    """The inverse of `split`: rows of each part back in the batch's order."""
    if len(parts) == 1:
      return parts[0]
    real, fake = parts
    stacked = tf.stack([real, fake], axis=1)  # (n, 2, ...): r0, f0, r1, f1, ...
    return tf.reshape(stacked, tf.concat([[-1], tf.shape(real)[1:]], axis=0))

  def _row_masks(self, labels):
    """"masks" routing: rows of each generator, [None] (all) or [real rows, fake rows]."""
    if self.num_generators == 1:
      return [None]
    return [tf.equal(labels, 0), tf.equal(labels, 1)]

  # ---- the game ------------------------------------------------------------------------

  def inv_var(self, images, labels, training):
    """Each row's map from its generator: (B, H, W, 1) float32 inverse variance. Used
    outside the game (any batch): both generators run on every row and each row takes
    its generator's map (in training mode with "masks" BatchNorm statistics)."""
    masks = self._row_masks(labels)
    maps = [g(images, training=training, row_mask=m) for g, m in zip(self.generators, masks)]
    if len(maps) == 1:
      return maps[0]
    return tf.where(masks[1][:, None, None, None], maps[1], maps[0])

  def _update(self, parts):
    """One update of every generator against the frozen detector (inference mode) on
    `parts` (`split`'s output, adversary rows). Returns the adversarial rows of each part
    made by this update's forward pass, before its optimizer step, under stop-gradient:
    blur(x, G(x)), + the FGSM step for Combined AT."""
    halves = len(parts) == 2
    # (part, row mask) of each generator: "halves" gives each its own part; one
    # generator, or "masks", runs every generator on the one part, masked to its rows.
    masks = [None, None] if halves else self._row_masks(parts[0][1])
    owners = [(i if halves else 0, mask) for i, mask in enumerate(masks)]
    counts = [base.global_sum(tf.cast(tf.shape(parts[i][1])[0] if mask is None else
                                      tf.math.count_nonzero(mask), tf.float32))
              for i, mask in owners]
    labels = tf.concat([y for _, y in parts], axis=0)
    variables = [g.trainable_variables for g in self.generators]
    with tf.GradientTape() as tape:
      maps = [g(parts[i][0], training=True, row_mask=mask)
              for g, (i, mask) in zip(self.generators, owners)]
      if halves or len(maps) == 1:
        part_maps = maps
      else:
        part_maps = [tf.where(masks[1][:, None, None, None], maps[1], maps[0])]
      blurred = [pixel_gaussian_blur(x, m, self.kernel_size)
                 for (x, _), m in zip(parts, part_maps)]
      ce = base.cross_entropy(labels, self.detector(tf.concat(blurred, axis=0),
                                                    training=False))
      if halves:
        owns = tf.split(ce, [tf.shape(parts[0][1])[0], tf.shape(parts[1][1])[0]])
      else:
        owns = [ce if mask is None else tf.where(mask, ce, 0.0) for mask in masks]
      losses = [-tf.math.divide_no_nan(tf.reduce_sum(own), count)
                for own, count in zip(owns, counts)]
      total = tf.add_n([opt.scale_loss(loss)
                        for opt, loss in zip(self.generator_optimizers, losses)])
    # Each loss depends on its own generator only, so one backward pass gives all; for
    # Combined AT it also gives the detector's input gradient at the blurred rows.
    wanted = tf.nest.flatten(variables)
    if self.combined_fgsm_eps is not None:
      wanted = wanted + blurred
    grads = tape.gradient(total, wanted)
    start = 0
    for k, (optimizer, var_list) in enumerate(zip(self.generator_optimizers, variables)):
      var_grads = grads[start:start + len(var_list)]
      start += len(var_list)
      if masks[k] is None:
        optimizer.apply(var_grads, var_list)
      else:
        self._apply_if_rows(optimizer, var_grads, var_list, counts[k] > 0)
      self.track(self._generator_losses[k], losses[k], present=counts[k] > 0)
      self._track_clamped(k, maps[k], masks[k], counts[k])
    if self.combined_fgsm_eps is not None:
      blurred = [self._fgsm_step(x, g) for x, g in zip(blurred, grads[start:])]
    return [tf.stop_gradient(x) for x in blurred]

  def _fgsm_step(self, blurred, grad_of_total):
    """x_adv2 = clip(x_adv1 + eps * sign(grad CE)) (Eq. 1 at x_adv1, Fig. 3). Each row's
    generator loss is a positive multiple of -CE of that row, so the sign of -grad is
    that of the detector's CE gradient which `fgsm` takes (detector in inference mode,
    the same weights); a non-finite (loss-scaled) entry takes no step."""
    grad = tf.where(tf.math.is_finite(grad_of_total), grad_of_total, 0.0)
    stepped = blurred - self.combined_fgsm_eps * tf.sign(grad)
    return tf.clip_by_value(stepped, -1.0, 1.0)

  def _track_clamped(self, k, inv_var, mask, count):
    """Fraction of generator k's map entries (its own rows) on its clamp."""
    generator = self.generators[k]
    clamped = tf.logical_or(inv_var <= generator.min_inv_var,
                            inv_var >= generator.max_inv_var)
    per_row = tf.reduce_mean(tf.cast(clamped, tf.float32), axis=[1, 2, 3])
    if mask is not None:
      per_row = tf.where(mask, per_row, 0.0)
    self.track(self._generator_clamped[k],
               tf.math.divide_no_nan(tf.reduce_sum(per_row), count), present=count > 0)

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

  def _play(self, parts):
    """`g_steps` updates on `parts`; the last update's adversarial rows of each part.

    Outside `tf.distribute` the updates are a `tf.while_loop`, so that a step traces and
    compiles one update instead of g_steps of them (its first call is that much
    quicker); under a strategy they are unrolled, since the optimizers' cross-replica
    merge_call cannot sit in a loop body."""
    if self.g_steps == 1 or tf.distribute.has_strategy():
      for _ in range(self.g_steps):
        rows = self._update(parts)
      return rows
    _, *rows = tf.while_loop(
        lambda step, *_: step < self.g_steps,
        lambda step, *_: (step + 1, *self._update(parts)),
        (tf.constant(0), *[tf.zeros_like(x) for x, _ in parts]),
        maximum_iterations=self.g_steps)
    return rows

  def generator_step(self, images, labels):
    """One update of every generator on a batch; returns the adversarial rows that its
    forward pass made (before the optimizer step), in the batch's order."""
    return self.merge(self._update(self.split(images, labels)))

  def adversary_step(self, images, labels):
    return self.merge(self._play(self.split(images, labels)))

  def frame_adversary_step(self, images, labels):
    """The game on what the detector's adversaries see: the batch is split into the
    generators' rows first (TSN clips stay whole), then each part becomes frames
    (detector protocol `to_frames`) and the adversarial frames go back into clips."""
    parts = self.split(images, labels)
    to_frames = getattr(self.detector, "to_frames", None)
    if to_frames is None:
      return self.merge(self._play(parts))
    rows = self._play([to_frames(x, y) for x, y in parts])
    return self.merge([self.detector.from_frames(r, x) for r, (x, _) in zip(rows, parts)])

  def adversarial_examples(self, images, labels):
    """(adversarial images, inv_var (B, H, W, 1)) with the generators in inference mode,
    for any batch."""
    images = tf.cast(images, tf.float32)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    inv_var = self.inv_var(images, labels, training=False)
    if self.combined_fgsm_eps is None:
      return pixel_gaussian_blur(images, inv_var, self.kernel_size), inv_var
    return combined_attack(self.detector, images, labels, inv_var, self.combined_fgsm_eps,
                           kernel_size=self.kernel_size), inv_var

  def get_config(self):
    config = super().get_config()
    config.update(generators=self.num_generators, g_steps=self.g_steps,
                  kernel_size=self.kernel_size, combined_fgsm_eps=self.combined_fgsm_eps,
                  generator_kwargs=self.generator_kwargs, routing=self.routing)
    return config
