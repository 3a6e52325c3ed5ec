"""Spatial (flow) adversary, SAT: Xiao et al. 2018 (stAdv) as a gradient attack.

The adversary warps each image with a per-pixel flow f (pixels, see ops/warp.py) and
ascends, per image b,

    J_b(f) = L(D(warp(x_b, f_b)), y_b) - tau * L_flow(f_b)

with L the cross-entropy of the true label (untargeted, as for FGSM/BAT) and L_flow the
smoothness cost of Xiao et al. Eq. 4. Choices where stAdv differs (it minimises a C&W
margin loss with L-BFGS): the flow starts at zero and takes `steps` signed-gradient
steps of `step_size` pixels, `f <- f + step_size * sign(grad_f mean_b J_b)`, like PGD on
the flow; there is no hard bound on the flow, only the smoothness penalty. The signed
step makes the batch size and the loss scale irrelevant; tau = 0.05 is Xiao et al.'s.
"""

import tensorflow as tf

from dfadv_tf.attacks import common
from dfadv_tf.attacks import registry
from dfadv_tf.ops.warp import flow_smoothness, flow_warp


def spatial_attack(model, images, labels, tau=0.05, steps=5, step_size=0.1,
                   clip=(-1.0, 1.0), training=False, loss_fn=None, num_classes=2,
                   return_flow=False):
  """Grad-SAT: images warped by an adversarial flow field.

  Args:
    model: callable images -> (B, num_classes) logits.
    images: (B, H, W, C) float in [-1, 1].
    labels: (B,) int, 0 = real, 1 = fake.
    tau: weight (>= 0) of the smoothness cost.
    steps: signed-gradient steps on the flow, Python int >= 1.
    step_size: flow change per step (>= 0), pixels; the flow stays within
      steps * step_size pixels per component.
    clip: (low, high) range of the result, or None.
    training: passed to `model`.
    loss_fn: `loss_fn(labels, logits) -> scalar`; default batch-mean cross-entropy.
    num_classes: logits expected from `model`; None accepts any K >= 2.
    return_flow: also return the flow.
  Returns:
    Warped images, shape and dtype of `images`, without gradient; with `return_flow`,
    (images, flow (B, H, W, 2) float32).
  """
  common.check_nonnegative(tau, "tau")
  common.check_nonnegative(step_size, "step_size")
  steps = common.check_steps(steps)
  clip = common.check_clip(clip)
  images, labels = common.check_batch(images, labels)
  shape = tf.shape(images)
  flow = tf.zeros(tf.stack([shape[0], shape[1], shape[2], 2]), tf.float32)
  tau = tf.cast(tau, tf.float32)
  step_size = tf.cast(step_size, tf.float32)
  for _ in range(steps):
    with tf.GradientTape() as tape:
      tape.watch(flow)
      loss = common.adversarial_loss(model, flow_warp(images, flow), labels, loss_fn,
                                     training, num_classes)
      objective = loss - tau * tf.reduce_mean(flow_smoothness(flow))
    flow = flow + step_size * tf.sign(tape.gradient(objective, flow))
  adv = tf.stop_gradient(common.clip_images(flow_warp(images, flow), clip))
  if return_flow:
    return adv, tf.stop_gradient(flow)
  return adv


@registry.register("sat", mode="grad_sat", paper_name="Grad-SAT", params=(
    registry.Param("tau", 0.05, "Weight of Xiao et al.'s flow-smoothness cost (>= 0)"),
    registry.Param("steps", 1, "Signed-gradient steps on the flow"),
    registry.Param("step_size", 0.01, "Flow change per step, in pixels"),
))
def sat_adversary(model, images, labels, *, tau, steps, step_size, seed=None,
                  training=False, num_classes=2):
  """Spatial flow adversary of Xiao et al. (Grad-SAT)."""
  del seed
  adv, flow = spatial_attack(model, images, labels, tau=tau, steps=steps,
                             step_size=step_size, training=training,
                             num_classes=num_classes, return_flow=True)
  return registry.Adversarial(adv, flow=flow)
