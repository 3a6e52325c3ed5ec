"""Combined adversary of paper Fig. 3: a pixel-wise blur, then an FGSM step on top.

    x_adv1 = blur(x, inv_var)                         (Eq. 4-5; inv_var from G(x))
    x_adv2 = clip(x_adv1 + eps * sign(grad L(D(x_adv1), y)))   (Eq. 1 at x_adv1)
"""

import tensorflow as tf

from dfadv_tf.attacks import common
from dfadv_tf.attacks.additive import fgsm
from dfadv_tf.ops.blur import pixel_gaussian_blur


def combined_attack(model, images, labels, inv_var, eps, kernel_size=9, clip=(-1.0, 1.0),
                    loss_fn=None, training=False, num_classes=2,
                    loss_reduction="class_mean"):
  """Combined AT example (Fig. 3): FGSM on the images blurred with `inv_var`.

  Args:
    model: callable images -> (B, num_classes) logits.
    images: (B, H, W, C) float in [-1, 1].
    labels: (B,) int, 0 = real, 1 = fake.
    inv_var: (B, H, W, 1 or C) inverse variance 1/sigma^2 >= 0 of the blur, e.g. a
      generator's output; no gradient flows back to it.
    eps: FGSM step (>= 0), [-1, 1] units.
    kernel_size: odd blur window k.
    clip, loss_fn, training, num_classes, loss_reduction: as in `fgsm`.
  Returns:
    x_adv2, shape and dtype of `images`, without gradient.
  """
  common.check_nonnegative(eps, "eps")
  images, labels = common.check_batch(images, labels)
  blurred = pixel_gaussian_blur(images, tf.stop_gradient(inv_var), kernel_size)
  return fgsm(model, blurred, labels, eps, loss_fn=loss_fn, clip=clip, training=training,
              num_classes=num_classes, loss_reduction=loss_reduction)
