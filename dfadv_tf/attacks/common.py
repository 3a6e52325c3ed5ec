"""What every input-gradient attack shares: argument checks and the adversarial loss.

Conventions (docs/design.md): images (B, H, W, C) float in [-1, 1]; labels (B,) int with
0 = real, 1 = fake; the model maps images to (B, num_classes) logits (2 for a detector).
Checks look only at static shapes and Python values, so they cost nothing inside
`tf.function`.

Every attack ascends `reduce_losses(per-example losses, labels, loss_reduction)`:
"class_mean" (the default: training's Grad-BAT as the reference takes it, each class
half's mean), "sum" (each image's own loss: `dfadv-attack`, where an image's adversarial
example must not depend on its batch) or "mean". The sign steps of FGSM, PGD and SAT give
the same example under all three; the unsigned Grad-BAT step does not.
"""

import numpy as np
import tensorflow as tf

from dfadv_tf import checks

# Every additive eps a user sets (flags, config fields, adversary parameters, robustness
# severities, tables) is in grey levels of 255: the paper's FGSM eps 16/255 of [0, 1] is
# 16 levels, the reference's 1/255 in [-1, 1] half a level. The tensor functions
# (`fgsm`, `pgd`, `combined_attack`) take the images' own [-1, 1] units, where images span
# 255 levels over a width of 2: one level is GREY_LEVEL.
GREY_LEVEL = 2.0 / 255.0


def from_grey_levels(levels):
  """`levels` grey levels of 255 in the [-1, 1] image units (x 2/255)."""
  return levels * GREY_LEVEL


def to_grey_levels(units):
  """[-1, 1] image units in grey levels of 255 (x 255/2)."""
  return units / GREY_LEVEL


def check_nonnegative(value, name):
  """Raises ValueError if `value` (a number or a tensor with a static value) is < 0."""
  static = tf.get_static_value(value) if tf.is_tensor(value) else value
  if static is not None and np.any(np.asarray(static) < 0):
    raise ValueError(f"{name} must be >= 0, got {static!r}.")


def check_steps(steps, name="steps"):
  """Returns `steps` as int; raises ValueError unless it is a Python integer >= 1."""
  return checks.integer(steps, name)


def check_clip(clip):
  """Returns `clip` as (low, high) floats or None; raises ValueError if low > high."""
  if clip is None:
    return None
  low, high = clip
  if low > high:
    raise ValueError(f"clip must be (low, high) with low <= high, got {clip!r}.")
  return float(low), float(high)


def check_batch(images, labels):
  """Validates images (B, H, W, C) float and labels (B,) int; returns both as tensors."""
  images = tf.convert_to_tensor(images)
  if not images.dtype.is_floating:
    raise ValueError(f"images must be a float tensor, got dtype {images.dtype.name}.")
  if images.shape.rank != 4:
    raise ValueError(f"images must have rank 4 (B, H, W, C), got shape {images.shape}.")
  labels = tf.convert_to_tensor(labels)
  if not labels.dtype.is_integer:
    raise ValueError(
        f"labels must be an integer tensor (0 = real, 1 = fake), got dtype "
        f"{labels.dtype.name}.")
  if labels.shape.rank != 1:
    raise ValueError(f"labels must have shape (B,), got shape {labels.shape}.")
  if (images.shape[0] is not None and labels.shape[0] is not None
      and images.shape[0] != labels.shape[0]):
    raise ValueError(
        f"labels must have one entry per image: labels shape {labels.shape}, images "
        f"shape {images.shape}.")
  return images, labels


def check_logits(logits, num_classes):
  """Raises ValueError unless the model output is (B, num_classes) (any K >= 2 if None)."""
  shape = logits.shape
  classes = shape[-1] if shape.rank == 2 else None
  if num_classes is None:
    ok = classes is not None and classes >= 2
    expected = "(B, K) logits with K >= 2"
  else:
    ok = classes == num_classes
    expected = f"(B, {num_classes}) logits"
  if not ok:
    raise ValueError(f"model output must be {expected}, got shape {shape}.")


LOSS_REDUCTIONS = ("class_mean", "sum", "mean")


def check_reduction(loss_reduction):
  """Returns `loss_reduction`; ValueError unless it is one of LOSS_REDUCTIONS."""
  return checks.one_of(loss_reduction, LOSS_REDUCTIONS, "loss_reduction")


def cross_entropy(labels, logits):
  """Per-example sparse softmax cross-entropy (B,) from logits, computed in float32."""
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32))


def _global_labels(labels):
  """The labels of the global batch: this replica's, gathered over the replicas of a
  `tf.distribute` step (this replica's alone outside one)."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return labels
  return context.all_gather(labels, axis=0)


def reduce_losses(losses, labels, loss_reduction="class_mean"):
  """Per-example losses (B,) -> the scalar whose input gradient the attacks follow.

  "sum": the sum of the examples' losses, so each image's gradient is that of its own
    loss (Eq. 1 and 6 per image): an image's adversarial example does not depend on the
    other images of its batch (`dfadv-attack`).
  "mean": the mean over the global batch (gradients 1/B of the per-image ones).
  "class_mean": the sum over the classes of each class's mean, i.e. every image's loss
    divided by the number of images of its class in the global batch: the reference's
    Grad-BAT step, taken on the real half and on the fake half of a batch separately,
    mean cross-entropy over B/2 each (docs/reference.md). A one-class batch is its mean.
  "Global batch": the batch of one `tf.distribute` step, summed over its replicas, so
  N replicas take the steps of one device.
  """
  check_reduction(loss_reduction)
  losses = tf.cast(losses, tf.float32)
  if losses.shape.rank != 1:
    raise ValueError(f"loss_fn must return per-example losses of shape (B,), got shape "
                     f"{losses.shape}.")
  if loss_reduction == "sum":
    return tf.reduce_sum(losses)
  everyone = _global_labels(labels)
  if loss_reduction == "mean":
    return tf.reduce_sum(losses) / tf.cast(tf.size(everyone), tf.float32)
  same = tf.equal(tf.reshape(labels, [-1, 1]), tf.reshape(everyone, [1, -1]))
  class_sizes = tf.reduce_sum(tf.cast(same, tf.float32), axis=1)
  return tf.reduce_sum(losses / class_sizes)


def example_losses(model, images, labels, loss_fn=None, training=False, num_classes=2):
  """loss_fn(labels, model(images)) per example, (B,) float32; default `cross_entropy`."""
  logits = model(images, training=training)
  check_logits(logits, num_classes)
  loss_fn = cross_entropy if loss_fn is None else loss_fn
  return tf.cast(loss_fn(labels, logits), tf.float32)


def adversarial_loss(model, images, labels, loss_fn=None, training=False,
                     num_classes=2, loss_reduction="class_mean"):
  """`example_losses` reduced by `reduce_losses(loss_reduction)`: a float32 scalar."""
  return reduce_losses(example_losses(model, images, labels, loss_fn, training,
                                      num_classes), labels, loss_reduction)


def input_gradient(model, images, labels, loss_fn=None, training=False, num_classes=2,
                   loss_reduction="class_mean"):
  """(loss, d loss / d images): the adversarial loss and its gradient, both float32."""
  x = tf.cast(images, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = adversarial_loss(model, tf.cast(x, images.dtype), labels, loss_fn, training,
                            num_classes, loss_reduction)
  return loss, tape.gradient(loss, x)


def clip_images(images, clip):
  """Clips to the (low, high) range, or returns images unchanged when clip is None."""
  return images if clip is None else tf.clip_by_value(images, clip[0], clip[1])
