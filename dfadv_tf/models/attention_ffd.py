"""Dang, Liu, Stehouwer, Liu and Jain, "On the detection of digital face manipulation"
(CVPR 2020): Xception with an attention-based layer (the paper's Table VI row
"Stehouwer et al.").

Architecture (their Sec. 3):
- Backbone: keras.applications' Xception (Sec. 4.1, "XceptionNet"), without its top.
- Attention-based layer (Sec. 3.2) inserted after one Xception block (default Block 4,
  the last of the entry flow, whose 19 x 19 map at 299 px the paper shows; any block
  2..12 of the entry or middle flow may be chosen): the direct-regression variant
  (Sec. 3.2, "Manipulation appearance model" with direct regression) - a 3 x 3 conv
  from the block's features to one channel and a sigmoid give the attention map
  M (B, h, w, 1) in [0, 1], and the features are multiplied by M (broadcast over the
  channels) before the rest of the network. The PCA-template variant is not built.
- Head: global average pooling, optional Dropout, Dense(2) float32 logits (fake = 1).
- Map supervision (Sec. 3.3): L_map = mean |M - M_gt|, M_gt the manipulation mask
  resized (bilinear) to M's size, zeros for real faces; total loss L_cls + map_weight *
  L_map (lambda = 1 in the paper). Rows whose mask is unknown (a fake without a mask:
  -1 from `records.load_split(with_mask=True)`) are left out of L_map.

How masks reach the model: `AttentionXception.training_inputs` is {"mask": "masks"} (the
training modes' detector protocol, `dfadv_tf.training.base`), so a training mode given
dict batches with a "mask" key calls `detector(rows, training=True, masks=...)`, and the
model adds L_map with `add_loss` (collected by every mode's detector update). Without masks (the default path, attacks, generators) it is a plain
images -> logits detector.
"""

import keras
import tensorflow as tf

from dfadv_tf.models import backbones
from dfadv_tf.models import grad_cam
from dfadv_tf.serialization import deserialize_nested

# Xception blocks after which the attention layer may sit: entry flow 2-4, middle 5-12.
ATTENTION_BLOCKS = tuple(range(2, 13))


@keras.saving.register_keras_serializable(package="dfadv_tf")
class ManipulationAttention(keras.layers.Layer):
  """Direct-regression attention map (Dang et al. Sec. 3.2): features (B, h, w, C) ->
  M = sigmoid(conv_k(features)) (B, h, w, 1) in [0, 1] (the model multiplies it in)."""

  def __init__(self, kernel_size=3, **kwargs):
    super().__init__(**kwargs)
    self.kernel_size = kernel_size
    self.conv = keras.layers.Conv2D(1, kernel_size, padding="same", dtype=self.dtype_policy,
                                    name="attention_conv")

  def build(self, input_shape):
    self.conv.build(input_shape)
    self.built = True

  def call(self, features):
    return keras.ops.sigmoid(self.conv(features))

  def compute_output_shape(self, input_shape):
    return (*input_shape[:-1], 1)

  def get_config(self):
    config = super().get_config()
    config.update(kernel_size=self.kernel_size)
    return config


def map_loss(attention, masks):
  """L1 map loss (Dang et al. Sec. 3.3): attention (B, h, w, 1), masks (B, H, W, 1) in
  [0, 1] or -1 (unknown, row skipped) -> mean over known rows of mean |M - M_gt|."""
  attention = tf.cast(attention, tf.float32)
  masks = tf.image.resize(tf.cast(masks, tf.float32), tf.shape(attention)[1:3])
  known = tf.cast(tf.reduce_min(masks, axis=[1, 2, 3]) >= 0.0, tf.float32)
  per_row = tf.reduce_mean(tf.abs(attention - masks), axis=[1, 2, 3])
  return tf.math.divide_no_nan(tf.reduce_sum(known * per_row), tf.reduce_sum(known))


@keras.saving.register_keras_serializable(package="dfadv_tf")
class AttentionXception(keras.Model):
  """Images (B, H, W, 3) in [-1, 1] -> (B, 2) logits, adding L_map when given masks.

  Args:
    network: functional model images -> [logits (B, 2), attention map (B, h, w, 1)]
      (`build_attention_xception` makes it).
    map_weight: weight of L_map (lambda, paper 1.0), >= 0.
  Call: `model(images, training=None, masks=None)`; `attention_map(images)` gives M.
  """

  training_inputs = {"mask": "masks"}  # the training modes' detector protocol

  def __init__(self, network, map_weight=1.0, **kwargs):
    super().__init__(**kwargs)
    if map_weight < 0:
      raise ValueError(f"map_weight must be >= 0, got {map_weight!r}.")
    self.network = network
    self.map_weight = float(map_weight)
    self.built = True

  def call(self, images, training=None, masks=None):
    logits, attention = self.network(images, training=training)
    if masks is not None:
      self.add_loss(self.map_weight * map_loss(attention, masks))
    return logits

  def attention_map(self, images):
    """M (B, h, w, 1) in [0, 1] in inference mode."""
    return self.network(images, training=False)[1]

  def explain_features(self, images):
    """(Xception's last feature map, logits) in inference mode (`models.grad_cam`)."""
    features, logits = grad_cam.functional_features(self.network)(images, training=False)
    return features, logits

  def compute_output_shape(self, input_shape):
    return (input_shape[0], 2)

  def get_config(self):
    return {"name": self.name, "trainable": self.trainable, "map_weight": self.map_weight,
            "network": keras.saving.serialize_keras_object(self.network)}

  @classmethod
  def from_config(cls, config):
    return cls(**deserialize_nested(config, "network"))


def _block_output(backbone, block):
  """Name of the Add layer that ends Xception block `block` (its residual sum)."""
  names = [layer.name for layer in backbone.layers]
  last = max(i for i, n in enumerate(names) if n.startswith(f"block{block}_"))
  return next(backbone.layers[i].name for i in range(last, len(names))
              if isinstance(backbone.layers[i], keras.layers.Add))


def build_attention_xception(image_size, weights=None, dropout=0.0, attention_block=4,
                             map_weight=1.0, name="stehouwer_xception_detector"):
  """`AttentionXception` with the attention layer after Xception block `attention_block`.

  image_size: int or (height, width), >= 71; weights: None, "imagenet" or a local file
  for the Xception backbone (as `build_detector`); dropout: rate before Dense(2).
  """
  if attention_block not in ATTENTION_BLOCKS:
    raise ValueError(
        f"attention_block must be one of {ATTENTION_BLOCKS}, got {attention_block!r}.")
  if not 0.0 <= dropout < 1.0:
    raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
  input_shape = backbones.image_shape(image_size)
  backbone = backbones.application("xception", input_shape, weights)
  cut = _block_output(backbone, attention_block)
  attention_layer = ManipulationAttention(name="attention")
  maps = []

  def call_function(layer, *args, **kwargs):
    out = layer(*args, **kwargs)
    if layer.name == cut:
      attention = attention_layer(out)
      maps.append(attention)
      out = keras.layers.Multiply(name="attention_multiply")([out, attention])
    return out

  images = keras.Input(input_shape, name="images")
  features = keras.models.clone_model(backbone, input_tensors=images,
                                      clone_function=lambda layer: layer,
                                      call_function=call_function)
  x = keras.layers.GlobalAveragePooling2D(name="pool")(features.output)
  if dropout > 0:
    x = keras.layers.Dropout(dropout, name="dropout")(x)
  logits = keras.layers.Dense(2, dtype="float32", name="logits")(x)
  network = keras.Model(images, [logits, maps[0]], name="attention_xception")
  return AttentionXception(network, map_weight=map_weight, name=name)


def _build(image_size, weights=None, dropout=0.0, drop_connect=0.2):
  """`build_detector`'s entry for "stehouwer_xception" (Xception has no drop_connect)."""
  del drop_connect
  return build_attention_xception(image_size, weights=weights, dropout=dropout)


backbones.register_backbone("stehouwer_xception", "xception", build=_build)
