"""Gradient blurring adversary (BAT), paper Eq. 6, one- or multi-step (App. C).

The attack moves a per-pixel blur map `v` up the loss gradient (no sign):

    v <- v + eps * grad_v L(D(blur(x, inv_var(v))), y)                       (Eq. 6)

and returns `blur(x, inv_var(v))` with the pixel-wise Gaussian blur of Eq. 4-5. `v` is
the variable named by `param`, turned into the blur's inverse variance 1/sigma^2 by

    "inv_var":   inv_var = v            (the reference code)
    "inv_sigma": inv_var = v^2          (the paper's "we optimise 1/sigma")
    "sigma":     inv_var = 1 / v^2      (Eq. 6 as written; sigma floored at SIGMA_MIN)

Reference defaults (docs/reference.md): `v` starts as ones L2-normalised per sample to
100 (`init="l2"`), one step with eps = 10 of the cross-entropy averaged over each class
half of the batch separately (`loss_reduction="class_mean"`: the reference steps on its
B/2 real and B/2 fake images apart), then each sample's map is rescaled to its starting
L2 norm (`renormalize`) and clamped at >= 0. The step is not signed, so its size
depends on the reduction: "sum" (each image's own loss, Eq. 6 per image) makes an
image's map independent of its batch, which `dfadv-attack` uses.
Sec. IV-C (blur as an attack) starts instead from sigma = 1 everywhere:
`init="constant", init_value=1.0, param="sigma"`.
"""

import tensorflow as tf

from dfadv_tf.attacks import common
from dfadv_tf.attacks import registry
from dfadv_tf.ops.blur import pixel_gaussian_blur

PARAMS = ("inv_var", "inv_sigma", "sigma")
INITS = ("l2", "constant")
SIGMA_MIN = 1e-6  # param="sigma": inv_var <= 1e12, the generator's clamp (Sec. III-C)


def param_to_inv_var(value, param):
  """The blur's inverse variance 1/sigma^2 from the map `value` of kind `param`."""
  if param == "inv_var":
    return value
  if param == "inv_sigma":
    return tf.square(value)
  return 1.0 / tf.square(tf.maximum(value, SIGMA_MIN))


def initial_map(images, channels, init, init_value):
  """(B, H, W, channels) float32 start of the map: "l2" or "constant" (see module doc)."""
  shape = tf.shape(images)
  map_shape = tf.stack([shape[0], shape[1], shape[2], channels])
  if init == "constant":
    return tf.fill(map_shape, tf.constant(init_value, tf.float32))
  size = tf.cast(shape[1] * shape[2] * channels, tf.float32)
  return tf.fill(map_shape, init_value * tf.math.rsqrt(size))


def _sample_norms(value):
  return tf.sqrt(tf.reduce_sum(tf.square(value), axis=[1, 2, 3], keepdims=True))


def blur_attack(model, images, labels, eps=10.0, steps=1, kernel_size=9, channels=3,
                param="inv_var", init="l2", init_value=100.0, renormalize=True,
                training=False, loss_fn=None, num_classes=2, blur_method="rings",
                loss_reduction="class_mean"):
  """Gradient BAT, Eq. 6: adversarially blurred images and their inverse-variance map.

  Args:
    model: callable images -> (B, num_classes) logits.
    images: (B, H, W, C) float in [-1, 1].
    labels: (B,) int, 0 = real, 1 = fake.
    eps: step size (>= 0) on the map `param`; plain gradient, no sign.
    steps: gradient steps, Python int >= 1 (App. C: 3 was the paper's best).
    kernel_size: odd blur window k (paper: 9 in training, 5 in Sec. IV-C).
    channels: map channels, 1 (shared by the colour channels) or C (one per channel).
    param: the variable the step moves, one of PARAMS.
    init: "l2" (ones, L2-normalised per sample to init_value) or "constant" (every entry
      init_value), in units of `param`.
    init_value: see `init` (> 0 for param="sigma").
    renormalize: after each step rescale each sample's map to its starting L2 norm.
    training: passed to `model`.
    loss_fn: `loss_fn(labels, logits) -> (B,)` per-example losses; default
      cross-entropy.
    num_classes: logits expected from `model`; None accepts any K >= 2.
    blur_method: `pixel_gaussian_blur` implementation, "rings" or "patches".
    loss_reduction: "class_mean" (reference: each class half's mean), "sum" (each
      image's own loss) or "mean" (`common.reduce_losses`).
  Returns:
    (adv_images, inv_var): blurred images, shape and dtype of `images`, and the final
    map as the blur's inverse variance (B, H, W, channels) float32 >= 0; no gradient.
  """
  common.check_nonnegative(eps, "eps")
  steps = common.check_steps(steps)
  common.check_reduction(loss_reduction)
  images, labels = common.check_batch(images, labels)
  if param not in PARAMS:
    raise ValueError(f"param must be one of {PARAMS}, got {param!r}.")
  if init not in INITS:
    raise ValueError(f"init must be one of {INITS}, got {init!r}.")
  if channels not in (1, images.shape[-1]):
    raise ValueError(
        f"channels must be 1 or {images.shape[-1]} (those of images), got {channels!r}.")
  if not init_value > 0:
    raise ValueError(f"init_value must be > 0, got {init_value!r}.")

  def blurred(value):
    return pixel_gaussian_blur(images, param_to_inv_var(value, param), kernel_size,
                               method=blur_method)

  value = initial_map(images, channels, init, init_value)
  start_norms = _sample_norms(value)
  eps = tf.cast(eps, tf.float32)
  for _ in range(steps):
    with tf.GradientTape() as tape:
      tape.watch(value)
      loss = common.adversarial_loss(model, blurred(value), labels, loss_fn, training,
                                     num_classes, loss_reduction)
    value = value + eps * tape.gradient(loss, value)
    if renormalize:
      value = value * start_norms / tf.maximum(_sample_norms(value), 1e-12)
    value = tf.maximum(value, 0.0)
  inv_var = param_to_inv_var(value, param)
  return tf.stop_gradient(blurred(value)), tf.stop_gradient(inv_var)


@registry.register("bat", mode="grad_bat", paper_name="Grad-BAT", params=(
    registry.Param("eps", 10.0, "Gradient-BAT step on the map variable --bat_param (Eq. 6, "
                   "plain gradient, no sign), in that variable's units: 1/px^2 for "
                   "inv_var (reference: 10, on the mean cross-entropy of each class "
                   "half), px for sigma (Sec. IV-C: 0.1, on each image's own loss)"),
    registry.Param("steps", 1, "Gradient-BAT steps (App. C: 3 was the paper's best)"),
    registry.Param("kernel_size", 9, "Blur window k (odd; training 9, Sec. IV-C 5); "
                   "shared by every blur adversary", flag="kernel_size"),
    registry.Param("channels", 3, "Map channels: 1 (shared by R, G, B) or 3 (reference)"),
    registry.Param("param", "inv_var", "The map variable the step moves: inv_var = "
                   "1/sigma^2 (reference), inv_sigma (the paper's 1/sigma) or sigma "
                   "(Eq. 6 as written, Sec. IV-C)", choices=PARAMS),
    registry.Param("init", "l2", "Start of the map: l2 (ones at L2 norm --bat_init_value "
                   "per sample, reference) or constant (every entry --bat_init_value)",
                   choices=INITS),
    registry.Param("init_value", 100.0, "See --bat_init, in units of --bat_param "
                   "(reference: L2 norm 100; Sec. IV-C: sigma = 1)"),
    registry.Param("renormalize", True, "Rescale each sample's map to its starting L2 norm "
                   "after each step (reference)"),
))
def bat_adversary(model, images, labels, *, eps, steps, kernel_size, channels, param, init,
                  init_value, renormalize, seed=None, training=False, num_classes=2,
                  loss_reduction="class_mean"):
  """Gradient BAT, Eq. 6 (Grad-BAT); App. C multi-step."""
  del seed
  adv, inv_var = blur_attack(model, images, labels, eps=eps, steps=steps,
                             kernel_size=kernel_size, channels=channels, param=param,
                             init=init, init_value=init_value, renormalize=renormalize,
                             training=training, num_classes=num_classes,
                             loss_reduction=loss_reduction)
  return registry.Adversarial(adv, inv_var=inv_var)
