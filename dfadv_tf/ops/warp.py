"""Flow-field warping and its smoothness cost: the spatial adversary of Xiao et al. 2018.

A flow `f = (du, dv)` of shape (B, H, W, 2), in pixels, moves every output pixel (i, j)
to read the input at (i + du, j + dv) (du along rows/height, dv along columns/width),
bilinearly interpolated. Sample points outside the image are clamped to the edge
(replicate border), so the warp never brings in zeros.
"""

import tensorflow as tf


def _check_flow(flow, images=None):
  flow = tf.convert_to_tensor(flow)
  if not flow.dtype.is_floating:
    raise ValueError(f"flow must be a float tensor, got dtype {flow.dtype.name}.")
  if flow.shape.rank != 4 or flow.shape[-1] != 2:
    raise ValueError(f"flow must have shape (B, H, W, 2), got shape {flow.shape}.")
  if images is not None:
    if images.shape.rank != 4:
      raise ValueError(f"images must have rank 4 (B, H, W, C), got shape {images.shape}.")
    if not images.shape[:3].is_compatible_with(flow.shape[:3]):
      raise ValueError(
          f"flow must match images in (B, H, W): flow shape {flow.shape}, images shape "
          f"{images.shape}.")
  return flow


def flow_warp(images, flow):
  """Bilinear resampling of images at (i + du, j + dv), clamped to the image edge.

  Args:
    images: (B, H, W, C) float.
    flow: (B, H, W, 2) float, (du, dv) displacements in pixels.
  Returns:
    Warped images, shape and dtype of `images`; differentiable w.r.t. both inputs
    (the flow gradient is zero where a sample point lies outside the image).
  """
  images = tf.convert_to_tensor(images)
  flow = _check_flow(flow, images)
  dtype = images.dtype
  x = tf.cast(images, tf.float32)
  flow = tf.cast(flow, tf.float32)
  shape = tf.shape(x)
  batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
  rows, cols = tf.meshgrid(tf.range(height, dtype=tf.float32),
                           tf.range(width, dtype=tf.float32), indexing="ij")
  max_row = tf.cast(height - 1, tf.float32)
  max_col = tf.cast(width - 1, tf.float32)
  u = tf.clip_by_value(rows[None] + flow[..., 0], 0.0, max_row)  # (B, H, W)
  v = tf.clip_by_value(cols[None] + flow[..., 1], 0.0, max_col)
  u0 = tf.floor(u)
  v0 = tf.floor(v)
  wu = (u - u0)[..., None]
  wv = (v - v0)[..., None]
  u0i = tf.cast(u0, tf.int32)
  v0i = tf.cast(v0, tf.int32)
  u1i = tf.minimum(u0i + 1, height - 1)
  v1i = tf.minimum(v0i + 1, width - 1)
  flat = tf.reshape(x, tf.stack([batch, height * width, channels]))

  def gather(ui, vi):
    index = tf.reshape(ui * width + vi, tf.stack([batch, height * width]))
    return tf.reshape(tf.gather(flat, index, batch_dims=1), shape)

  top = (1.0 - wv) * gather(u0i, v0i) + wv * gather(u0i, v1i)
  bottom = (1.0 - wv) * gather(u1i, v0i) + wv * gather(u1i, v1i)
  out = tf.ensure_shape((1.0 - wu) * top + wu * bottom, images.shape)
  return tf.cast(out, dtype)


def flow_smoothness(flow, eps=1e-8):
  """Flow smoothness cost of Xiao et al. 2018, their Eq. 4, per sample.

  L_flow(f) = sum_p sum_{q in N(p)} sqrt(||du_p - du_q||^2 + ||dv_p - dv_q||^2 + eps),
  N(p) the 4-neighbours of p inside the image (each adjacent pair counts twice, once
  from each side). A constant flow costs the minimum, 2 * n_pairs * sqrt(eps) with
  n_pairs = (H-1) W + H (W-1); eps keeps the gradient finite there.

  Args:
    flow: (B, H, W, 2) float, pixels.
    eps: > 0.
  Returns:
    (B,) float32.
  """
  flow = tf.cast(_check_flow(flow), tf.float32)
  if not eps > 0:
    raise ValueError(f"eps must be > 0, got {eps!r}.")
  down = flow[:, 1:] - flow[:, :-1]
  right = flow[:, :, 1:] - flow[:, :, :-1]

  def cost(diff):
    return tf.reduce_sum(tf.sqrt(tf.reduce_sum(tf.square(diff), axis=-1) + eps),
                         axis=[1, 2])

  return 2.0 * (cost(down) + cost(right))
