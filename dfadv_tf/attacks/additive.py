"""Additive adversaries: FGSM (paper Eq. 1) and PGD / I-FGSM (Madry et al.; App. C).

Images (B, H, W, C) float in [-1, 1]. The tensor functions `fgsm` and `pgd` take eps and
step sizes in that space; the registered adversaries (the flags, config fields and
`GradientATModel`'s `attack_kwargs`) take them in grey levels of 255
(`common.from_grey_levels`): the reference's eps = 1/255 in [-1, 1] is 0.5 levels, the
paper's 16/255 of [0, 1] 16 levels. Both
attacks are untargeted: they ascend the loss of the true labels (0 = real, 1 = fake),
run inside `tf.function` and return `tf.stop_gradient`-ed images in the input dtype.
"""

import keras
import tensorflow as tf

from dfadv_tf.attacks import common
from dfadv_tf.attacks import registry


def fgsm(model, images, labels, eps, loss_fn=None, clip=(-1.0, 1.0), training=False,
         num_classes=2, loss_reduction="class_mean"):
  """Fast gradient sign method, Eq. 1: x + eps * sign(grad_x L(x, y)), then clipped.

  Args:
    model: callable images -> (B, num_classes) logits.
    images: (B, H, W, C) float in [-1, 1].
    labels: (B,) int, 0 = real, 1 = fake.
    eps: L-inf step (>= 0) in the images' [-1, 1] units.
    loss_fn: `loss_fn(labels, logits) -> (B,)` per-example losses; default sparse
      softmax cross-entropy from logits, in float32.
    clip: (low, high) range of the result, or None for no clipping.
    training: passed to `model` (BatchNorm in training or inference mode).
    num_classes: logits expected from `model`; None accepts any K >= 2.
    loss_reduction: how the per-example losses are summed (`common.reduce_losses`);
      the sign step makes the example the same under each.
  Returns:
    Adversarial images, shape and dtype of `images`, without gradient.
  """
  common.check_nonnegative(eps, "eps")
  clip = common.check_clip(clip)
  images, labels = common.check_batch(images, labels)
  _, grad = common.input_gradient(model, images, labels, loss_fn, training, num_classes,
                                  loss_reduction)
  adv = tf.cast(images, tf.float32) + tf.cast(eps, tf.float32) * tf.sign(grad)
  return tf.stop_gradient(tf.cast(common.clip_images(adv, clip), images.dtype))


def pgd(model, images, labels, eps, step_size, steps, random_start=False,
        clip=(-1.0, 1.0), loss_fn=None, training=False, seed=None, num_classes=2,
        loss_reduction="class_mean"):
  """Projected gradient descent in the L-inf ball (I-FGSM without random start).

  Each of `steps` steps: x <- clip(proj_eps(x + step_size * sign(grad_x L(x, y)))),
  where proj_eps clips x - images to [-eps, eps] and clip to the `clip` range.

  Args:
    model, images, labels, loss_fn, clip, training, num_classes, loss_reduction: as in
      `fgsm`.
    eps: L-inf radius (>= 0) around `images`, [-1, 1] units.
    step_size: per-step size (>= 0), [-1, 1] units.
    steps: number of steps, Python int >= 1.
    random_start: start from images + uniform(-eps, eps) noise (Madry et al.).
    seed: seed of the random start: None (stateful draw), an int or a
      `keras.random.SeedGenerator` (reproducible draws inside `train_step`).
  Returns:
    Adversarial images, shape and dtype of `images`, without gradient.
  """
  common.check_nonnegative(eps, "eps")
  common.check_nonnegative(step_size, "step_size")
  steps = common.check_steps(steps)
  clip = common.check_clip(clip)
  images, labels = common.check_batch(images, labels)
  x0 = tf.cast(images, tf.float32)
  eps = tf.cast(eps, tf.float32)
  step_size = tf.cast(step_size, tf.float32)
  adv = x0
  if random_start:
    adv = common.clip_images(x0 + _uniform(tf.shape(x0), eps, seed), clip)
  for _ in range(steps):
    _, grad = common.input_gradient(model, tf.cast(adv, images.dtype), labels, loss_fn,
                                    training, num_classes, loss_reduction)
    adv = adv + step_size * tf.sign(grad)
    adv = common.clip_images(x0 + tf.clip_by_value(adv - x0, -eps, eps), clip)
  return tf.stop_gradient(tf.cast(adv, images.dtype))


def _uniform(shape, bound, seed):
  """Uniform(-bound, bound) float32 noise; seed None, int or keras SeedGenerator."""
  if seed is None:
    noise = tf.random.uniform(shape, -1.0, 1.0)
  else:
    noise = keras.random.uniform(shape, -1.0, 1.0, seed=seed)
  return bound * noise


# The adversaries' eps before they were given in grey levels: [-1, 1] units, for one
# release (a `.keras` file or code from the earlier release).
_OLD_EPS = {"eps": ("eps_levels", common.to_grey_levels)}


@registry.register("fgsm", mode="grad_aat", paper_name="Grad-AAT", params=(
    registry.Param("eps_levels", 0.5, "FGSM L-inf step in grey levels of 255 (the "
                   "reference's 1/255 in [-1, 1] is 0.5; the paper's 16/255 of [0, 1] is 16)"),
), renamed=_OLD_EPS)
def fgsm_adversary(model, images, labels, *, eps_levels, seed=None, training=False,
                   num_classes=2, loss_reduction="class_mean"):
  """FGSM, Eq. 1 (Grad-AAT)."""
  del seed
  return registry.Adversarial(fgsm(model, images, labels, common.from_grey_levels(eps_levels),
                                   training=training, num_classes=num_classes,
                                   loss_reduction=loss_reduction))


@registry.register("pgd", mode="grad_pgd", paper_name="Grad-AAT (PGD)", in_paper=False, params=(
    registry.Param("eps_levels", 0.5, "PGD L-inf radius in grey levels of 255"),
    registry.Param("step_levels", 0.25, "PGD step in grey levels of 255"),
    registry.Param("steps", 3, "PGD iterations (App. C: 3)"),
    registry.Param("random_start", False, "PGD: start at a uniform point of the eps ball"),
), renamed=dict(_OLD_EPS, step_size=("step_levels", common.to_grey_levels)))
def pgd_adversary(model, images, labels, *, eps_levels, step_levels, steps, random_start,
                  seed=None, training=False, num_classes=2, loss_reduction="class_mean"):
  """PGD / iterative FGSM (App. C, Table XIV)."""
  return registry.Adversarial(pgd(model, images, labels, common.from_grey_levels(eps_levels),
                                  common.from_grey_levels(step_levels), steps,
                                  random_start=random_start, training=training, seed=seed,
                                  num_classes=num_classes, loss_reduction=loss_reduction))
