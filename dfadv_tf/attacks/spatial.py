"""Spatial (flow) adversary, SAT: Xiao et al. 2018 (stAdv) as a gradient attack.

The adversary warps each image with a per-pixel flow f (pixels, see ops/warp.py) and
ascends, per image b,

    J_b(f) = L(D(warp(x_b, f_b)), y_b) - tau * L_flow(f_b) / (H W)

with L the cross-entropy of the true label (untargeted, as for FGSM/BAT) and L_flow the
smoothness cost of Xiao et al. Eq. 4 (`flow_smoothness`, a sum over neighbouring
pixels), here averaged over the image's pixels; tau = 0.05 is Xiao et al.'s. Where
stAdv differs (a C&W margin loss, L-BFGS), this attack takes `steps` gradient steps
from the zero flow, each normalised per image,

    f_b <- f_b + step_size * g_b / rms(g_b),   g_b = grad_{f_b} J_b,

and each image keeps its best iterate (the highest J_b).

Why these choices (measured on a trained 64 px detector, docs/fidelity.md): with
Xiao's sum and tau = 0.05, the smoothness cost of any flow that moves the cross-entropy
outweighs the gain, so the zero flow is the best of J (the attack is a no-op); the mean
per pixel gives the cost the scale of one image's cross-entropy at any resolution. A
sign step would ignore tau's balance once the flow is rough (the step is the same for
any tau), and fixed steps overshoot the non-smooth cost; the normalised step keeps the
balance, moves each image's flow by `step_size` px root-mean-square whatever the loss
scale or the batch, and the best iterate makes J_b >= J_b(0), hence each image's loss
>= its clean loss. At the zero flow the smoothness cost has no gradient, so tau acts
from the second step on. The defaults (3 steps of 0.005 px) raise a trained detector's
cross-entropy about as much as FGSM at eps = 1/255 (`benchmarks/attack_strength.py`).
"""

import tensorflow as tf

from dfadv_tf.attacks import common
from dfadv_tf.attacks import registry
from dfadv_tf.ops.warp import flow_smoothness, flow_warp

TAU, STEPS, STEP_SIZE = 0.05, 3, 0.005


def _normalized(gradient):
  """`gradient` (B, H, W, 2) divided by each image's root-mean-square (0 stays 0)."""
  rms = tf.sqrt(tf.reduce_mean(tf.square(gradient), axis=[1, 2, 3], keepdims=True))
  return tf.math.divide_no_nan(gradient, rms)


def spatial_attack(model, images, labels, tau=TAU, steps=STEPS, step_size=STEP_SIZE,
                   clip=(-1.0, 1.0), training=False, loss_fn=None, num_classes=2,
                   return_flow=False, loss_reduction="class_mean"):
  """Grad-SAT: images warped by an adversarial flow field.

  Args:
    model: callable images -> (B, num_classes) logits.
    images: (B, H, W, C) float in [-1, 1].
    labels: (B,) int, 0 = real, 1 = fake.
    tau: weight (>= 0) of the smoothness cost per pixel (Xiao et al.: 0.05).
    steps: normalised gradient steps on the flow, Python int >= 1.
    step_size: root-mean-square flow change per step and image (>= 0), pixels; each
      image's flow stays within steps * step_size pixels root-mean-square.
    clip: (low, high) range of the result, or None.
    training: passed to `model`.
    loss_fn: `loss_fn(labels, logits) -> (B,)` per-example losses; default
      cross-entropy.
    num_classes: logits expected from `model`; None accepts any K >= 2.
    return_flow: also return the flow.
    loss_reduction: `common.reduce_losses` of the per-image objectives; the per-image
      normalisation gives the same flow under each.
  Returns:
    Warped images, shape and dtype of `images`, without gradient; with `return_flow`,
    (images, flow (B, H, W, 2) float32).
  """
  common.check_nonnegative(tau, "tau")
  common.check_nonnegative(step_size, "step_size")
  steps = common.check_steps(steps)
  clip = common.check_clip(clip)
  common.check_reduction(loss_reduction)
  images, labels = common.check_batch(images, labels)
  shape = tf.shape(images)
  flow = tf.zeros(tf.stack([shape[0], shape[1], shape[2], 2]), tf.float32)
  tau = tf.cast(tau, tf.float32)
  step_size = tf.cast(step_size, tf.float32)
  pixels = tf.cast(shape[1] * shape[2], tf.float32)

  def objectives(flow):  # J_b of every image, (B,)
    losses = common.example_losses(model, flow_warp(images, flow), labels, loss_fn,
                                   training, num_classes)
    return losses - tau * flow_smoothness(flow) / pixels

  best_flow, best = flow, None
  for step in range(steps + 1):
    with tf.GradientTape() as tape:
      tape.watch(flow)
      values = objectives(flow)
      objective = common.reduce_losses(values, labels, loss_reduction)
    if best is None:
      best = values
    else:  # keep each image's best iterate: J, hence the loss, never ends below J(0)
      better = values > best
      best_flow = tf.where(better[:, None, None, None], flow, best_flow)
      best = tf.where(better, values, best)
    if step < steps:
      flow = flow + step_size * _normalized(tape.gradient(objective, flow))
  flow = best_flow
  adv = tf.stop_gradient(common.clip_images(flow_warp(images, flow), clip))
  if return_flow:
    return adv, tf.stop_gradient(flow)
  return adv


@registry.register("sat", mode="grad_sat", paper_name="Grad-SAT", params=(
    registry.Param("tau", TAU, "Weight of Xiao et al.'s flow-smoothness cost, averaged "
                   "over the pixels (>= 0; theirs: 0.05)"),
    registry.Param("steps", STEPS, "Normalised gradient steps on the flow (the smoothness "
                   "cost acts from the second on)"),
    registry.Param("step_size", STEP_SIZE, "Flow change per step, in pixels root-mean-"
                   "square per image"),
))
def sat_adversary(model, images, labels, *, tau, steps, step_size, seed=None,
                  training=False, num_classes=2, loss_reduction="class_mean"):
  """Spatial flow adversary of Xiao et al. (Grad-SAT)."""
  del seed
  adv, flow = spatial_attack(model, images, labels, tau=tau, steps=steps,
                             step_size=step_size, training=training,
                             num_classes=num_classes, return_flow=True,
                             loss_reduction=loss_reduction)
  return registry.Adversarial(adv, flow=flow)
