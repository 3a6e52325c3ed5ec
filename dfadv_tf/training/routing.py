"""Which rows of a batch each Gen-BAT generator plays on (`GeneratorBATModel(routing=)`).

One generator owns every row. Two-Gen-BAT's G_r owns the real rows (label 0) and G_f
the fake rows (label 1), routed one of two ways:
- "halves": every batch (every replica's share of it) alternates real and fake rows,
  r, f, r, f, ... (`records.load_split(balance="halves")`). `split` cuts it into its
  real and its fake half (static strided slices: XLA- and MirroredStrategy-friendly) and
  each generator runs on its own half only, as the reference does. A batch that does not
  alternate is an error that names the fix.
- "masks": any batch (one class only, odd sizes, any order). Both generators run on
  every row, with BatchNorm statistics (`RowMaskedBatchNormalization`) and losses
  masked to their own rows, each row's map taken from its own generator: twice the
  generator arithmetic. A generator with no rows in the global batch keeps its weights.
"""

import tensorflow as tf

from dfadv_tf.training import base

ROUTINGS = ("halves", "masks")


def split(images, labels, halves):
  """The batch as the generators take it: [(real rows, labels), (fake rows, labels)] if
  `halves` (rows 0, 2, 4, ... and 1, 3, 5, ...; InvalidArgumentError unless they are
  real and fake rows of equal counts), else [(images, labels)]."""
  if not halves:
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


def merge(parts):
  """The inverse of `split`: the rows of each part back in the batch's order."""
  if len(parts) == 1:
    return parts[0]
  real, fake = parts
  stacked = tf.stack([real, fake], axis=1)  # (n, 2, ...): r0, f0, r1, f1, ...
  return tf.reshape(stacked, tf.concat([[-1], tf.shape(real)[1:]], axis=0))


class Rows:
  """The rows each of `num_generators` generators owns in `parts` (`split`'s output,
  possibly as frames): with two parts generator k owns part k; with one part a single
  generator owns it all, two own its real and its fake rows (row masks).

  images: the parts' images; labels: the parts' labels, concatenated.
  """

  def __init__(self, parts, num_generators):
    self.images = [x for x, _ in parts]
    self.labels = tf.concat([y for _, y in parts], axis=0)
    self.halves = len(parts) == 2
    if self.halves or num_generators == 1:
      self.inputs = [(k, None) for k in range(num_generators)]
    else:
      self.inputs = [(0, tf.equal(self.labels, 0)), (0, tf.equal(self.labels, 1))]
    # Rows of each generator in the global batch (summed over replicas).
    self.counts = [base.global_sum(tf.cast(
        tf.shape(self.images[k])[0] if mask is None else tf.math.count_nonzero(mask),
        tf.float32)) for k, mask in self.inputs]

  def maps(self, generators, training=True):
    """Each part's (n, H, W, 1) inverse variance, every row's from its own generator."""
    maps = [g(self.images[k], training=training, row_mask=mask)
            for g, (k, mask) in zip(generators, self.inputs)]
    if self.halves or len(maps) == 1:
      return maps
    return [tf.where(self.inputs[1][1][:, None, None, None], maps[1], maps[0])]

  def means(self, values):
    """Each generator's mean of `values` (N,) over its own rows of the global batch (its
    share on this replica; 0 without rows); `values` are the parts' rows concatenated."""
    if self.halves:
      owned = tf.split(values, [tf.shape(x)[0] for x in self.images])
    else:
      owned = [values if mask is None else tf.where(mask, values, 0.0)
               for _, mask in self.inputs]
    return [tf.math.divide_no_nan(tf.reduce_sum(own), count)
            for own, count in zip(owned, self.counts)]

  def present(self, k):
    """Whether generator k has rows in the global batch (bool tensor)."""
    return self.counts[k] > 0

  def apply(self, k, optimizer, grads, variables):
    """Generator k's optimizer step; under row masks kept only if it has rows (a zero
    gradient alone would still move the weights: momentum, weight decay)."""
    if self.inputs[k][1] is None:
      optimizer.apply(grads, variables)
    else:
      base.apply_where(self.present(k), optimizer, grads, variables)
