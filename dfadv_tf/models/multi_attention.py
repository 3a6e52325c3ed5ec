"""Zhao, Zhou, Chen, Wei, Zhang and Yu, "Multi-attentional deepfake detection"
(CVPR 2021): the paper's Table VI row "Zhao et al.".

Architecture (their Sec. 3):
- Backbone (Sec. 4.1): keras.applications EfficientNet (B4 in their paper; any B0-B7
  here), without its top, fed [-1, 1] images through `InputScaling`. Three taps: the
  shallow feature f_s (end of stage `shallow_stage`, default 2), the mid-level feature
  f_m (end of stage `attention_stage`, default 5) and the deep feature f_d (top).
- Multi-attention module (Sec. 3.2): 1 x 1 conv + BN + ReLU on f_m -> M attention maps
  A (B, h, w, M) (M = 4 in their EfficientNet-B4 setting).
- Texture enhancement block (Sec. 3.3): on f_s, a 3 x 3 conv, then the residual of
  local average pooling D = x - upsample(avgpool_2x2(x)) (the high-frequency part), a
  densely connected block of 3 conv3x3-BN-ReLU layers and a 1 x 1 conv -> F
  (B, H_s, W_s, C_t).
- Bilinear attention pooling (Sec. 3.4): A resized (bilinear) to F's size; textural
  feature matrix P (B, M, C_t) with P_k = mean_xy(F * A_k), signed square root and L2
  normalisation per row; the global feature G = mean_xy(f_d * sum_k A_k) (A resized to
  f_d); logits = Dense(2)(Dropout([flatten(P), G])).
- Regional independence loss (Sec. 3.5, Eq. 7-8): with feature centres c (M, C_t),
  L_RIL = mean_b sum_k max(||P_bk - c_k||^2 - m_in, 0)
          + sum_{k != j} max(m_out - ||c_k - c_j||^2, 0),
  added with `add_loss` (weight `ril_weight`) on every training call; the centres are
  non-trainable and move in training calls as c <- c + beta (mean_b P_b - c) (beta
  0.05). One inner margin for both classes (the paper sets it per class; the
  detector does not see the labels).
- Attention-guided data augmentation (Sec. 3.6), optional (`agda_prob` > 0): in a
  training call each image, with probability `agda_prob`, has the region of one randomly
  chosen attention map (normalised by its maximum, > `agda_threshold`) replaced by a
  Gaussian-blurred copy (k = 7, sigma 2; "attention dropping" by blurring); the maps
  come from a first pass without gradient.
"""

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.models import backbones
from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.serialization import deserialize_nested


@keras.saving.register_keras_serializable(package="dfadv_tf")
class TextureEnhancement(keras.layers.Layer):
  """Zhao et al. Sec. 3.3: (B, H, W, C) shallow features -> (B, H, W, channels)."""

  def __init__(self, channels=64, num_layers=3, **kwargs):
    super().__init__(**kwargs)
    self.channels = channels
    self.num_layers = num_layers
    conv = lambda k, n: keras.layers.Conv2D(channels, k, padding="same", use_bias=False,
                                            dtype=self.dtype_policy, name=n)
    self.extract = conv(3, "extract")
    self.dense_convs = [conv(3, f"dense{i}_conv") for i in range(num_layers)]
    self.dense_bns = [keras.layers.BatchNormalization(dtype=self.dtype_policy,
                                                      name=f"dense{i}_bn")
                      for i in range(num_layers)]
    self.project = conv(1, "project")

  def build(self, input_shape):
    self.extract.build(input_shape)
    shape = (*input_shape[:-1], self.channels)
    for i, (conv, bn) in enumerate(zip(self.dense_convs, self.dense_bns)):
      conv.build((*input_shape[:-1], self.channels * (i + 1)))
      bn.build(shape)
    self.project.build((*input_shape[:-1], self.channels * (self.num_layers + 1)))
    self.built = True

  def call(self, features, training=None):
    x = self.extract(features)
    size = tf.shape(x)[1:3]
    pooled = tf.nn.avg_pool2d(x, 2, 2, "SAME")
    x = x - tf.cast(tf.image.resize(pooled, size, method="nearest"), x.dtype)
    outputs = [x]
    for conv, bn in zip(self.dense_convs, self.dense_bns):
      inputs = outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=-1)
      outputs.append(tf.nn.relu(bn(conv(inputs), training=training)))
    return self.project(tf.concat(outputs, axis=-1))

  def compute_output_shape(self, input_shape):
    return (*input_shape[:-1], self.channels)

  def get_config(self):
    config = super().get_config()
    config.update(channels=self.channels, num_layers=self.num_layers)
    return config


def bilinear_attention_pooling(features, attention):
  """Zhao et al. Sec. 3.4: features (B, H, W, C), attention (B, h, w, M) -> (B, M, C),
  signed square root, each row L2-normalised."""
  attention = tf.image.resize(tf.cast(attention, tf.float32), tf.shape(features)[1:3])
  features = tf.cast(features, tf.float32)
  area = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
  matrix = tf.einsum("bhwm,bhwc->bmc", attention, features) / area
  matrix = tf.sign(matrix) * tf.sqrt(tf.abs(matrix) + 1e-12)
  return tf.math.l2_normalize(matrix, axis=-1)


def regional_independence_loss(matrix, centers, inner_margin, outer_margin):
  """Eq. 7-8: matrix (B, M, C), centers (M, C) -> scalar (intra-class pull to each
  centre beyond inner_margin + push between centres closer than outer_margin)."""
  intra = tf.reduce_sum(tf.nn.relu(
      tf.reduce_sum(tf.square(matrix - centers[None]), -1) - inner_margin), -1)
  gaps = tf.reduce_sum(tf.square(centers[:, None] - centers[None]), -1)
  off_diagonal = 1.0 - tf.eye(tf.shape(centers)[0])
  inter = tf.reduce_sum(off_diagonal * tf.nn.relu(outer_margin - gaps))
  return tf.reduce_mean(intra) + inter


def _stage_output(backbone, stage):
  """Name of the last layer of EfficientNet stage `stage` (blocks `block{stage}*`)."""
  names = [layer.name for layer in backbone.layers if layer.name.startswith(f"block{stage}")]
  if not names:
    raise ValueError(f"the backbone has no stage {stage} (layers 'block{stage}*').")
  return names[-1]


@keras.saving.register_keras_serializable(package="dfadv_tf")
class MultiAttentionDetector(keras.Model):
  """Images (B, H, W, 3) in [-1, 1] -> (B, 2) float32 logits; L_RIL via add_loss.

  Args:
    features: functional model images -> [f_s, f_m, f_d] (`build_multi_attention`).
    num_attentions: M >= 1 attention maps. texture_channels: C_t of F.
    dropout: rate before Dense(2). ril_weight: weight of L_RIL (>= 0).
    inner_margin, outer_margin: m_in and m_out of Eq. 7-8. center_momentum: beta.
    agda_prob: probability of attention-guided augmentation per training image (0 off).
    agda_threshold: in (0, 1), the normalised attention above which a region is blurred.
    seed: int or None, the SeedGenerator of AGDA.
  """

  def __init__(self, features, num_attentions=4, texture_channels=64, dropout=0.0,
               ril_weight=1.0, inner_margin=0.05, outer_margin=0.2, center_momentum=0.05,
               agda_prob=0.0, agda_threshold=0.5, seed=None, **kwargs):
    super().__init__(**kwargs)
    for arg, value in (("dropout", dropout), ("agda_threshold", agda_threshold)):
      checks.number(value, arg, minimum=0.0, below=1.0)
    for arg, value in (("agda_prob", agda_prob), ("center_momentum", center_momentum)):
      checks.probability(value, arg)
    checks.nonnegative(ril_weight, "ril_weight")
    self.features = features
    self.num_attentions = checks.integer(num_attentions, "num_attentions")
    self.texture_channels = texture_channels
    self.dropout_rate = float(dropout)
    self.ril_weight = float(ril_weight)
    self.inner_margin = float(inner_margin)
    self.outer_margin = float(outer_margin)
    self.center_momentum = float(center_momentum)
    self.agda_prob = float(agda_prob)
    self.agda_threshold = float(agda_threshold)
    self.seed = seed
    shallow, mid, deep = [tuple(s) for s in features.output_shape]
    self.attention_conv = keras.layers.Conv2D(num_attentions, 1, use_bias=False,
                                              name="attention_conv")
    self.attention_bn = keras.layers.BatchNormalization(name="attention_bn")
    self.texture = TextureEnhancement(texture_channels, name="texture_enhancement")
    self.head_dropout = keras.layers.Dropout(dropout, name="dropout")
    self.logits = keras.layers.Dense(2, dtype="float32", name="logits")
    self.attention_conv.build(mid)
    self.attention_bn.build((*mid[:-1], num_attentions))
    self.texture.build(shallow)
    self.logits.build((None, num_attentions * texture_channels + deep[-1]))
    self.centers = self.add_weight(shape=(num_attentions, texture_channels),
                                   initializer="zeros", trainable=False,
                                   aggregation="mean", name="feature_centers")
    self.seed_generator = keras.random.SeedGenerator(seed)
    self.built = True

  def attention_maps(self, mid, training=None):
    """A (B, h, w, M) >= 0 from the mid-level feature (Sec. 3.2)."""
    return tf.nn.relu(self.attention_bn(self.attention_conv(mid), training=training))

  def _agda(self, images):
    """Sec. 3.6: blur the region of one random attention map per chosen image."""
    _, mid, _ = self.features(images, training=False)
    attention = tf.stop_gradient(tf.cast(self.attention_maps(mid, training=False),
                                         tf.float32))
    batch = tf.shape(images)[0]
    pick = keras.random.randint((batch,), 0, self.num_attentions, seed=self.seed_generator)
    chosen = tf.gather(attention, pick, axis=3, batch_dims=1)[..., None]
    chosen = tf.math.divide_no_nan(chosen, tf.reduce_max(chosen, axis=[1, 2, 3],
                                                         keepdims=True))
    region = tf.cast(tf.image.resize(chosen, tf.shape(images)[1:3]) > self.agda_threshold,
                     images.dtype)
    apply = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < self.agda_prob
    region = region * tf.cast(apply, images.dtype)
    blurred = pixel_gaussian_blur(images, tf.fill(tf.shape(region), 0.25), 7)
    return images * (1.0 - region) + tf.cast(blurred, images.dtype) * region

  def call(self, images, training=None):
    if training and self.agda_prob > 0:
      images = self._agda(tf.cast(images, tf.float32))
    return self.classify(*self.features(images, training=training), training=training)

  def explain_features(self, images):
    """(f_d, logits) in inference mode: Grad-CAM (`models.grad_cam`) on the deep feature
    of the global branch G."""
    shallow, mid, deep = self.features(images, training=False)
    return deep, self.classify(shallow, mid, deep, training=False)

  def classify(self, shallow, mid, deep, training=None):
    """Logits (B, 2) from the three taps f_s, f_m, f_d (Sec. 3.2-3.4); L_RIL and the
    centre update in training calls."""
    attention = self.attention_maps(mid, training=training)
    matrix = bilinear_attention_pooling(self.texture(shallow, training=training), attention)
    total = tf.image.resize(tf.reduce_sum(tf.cast(attention, tf.float32), -1, keepdims=True),
                            tf.shape(deep)[1:3])
    global_feature = tf.reduce_mean(tf.cast(deep, tf.float32) * total, axis=[1, 2])
    pooled = tf.concat([tf.reshape(matrix, [-1, self.num_attentions *
                                            self.texture_channels]), global_feature], -1)
    logits = self.logits(self.head_dropout(pooled, training=training))
    if training:
      self.add_loss(self.ril_weight * regional_independence_loss(
          matrix, tf.cast(self.centers, tf.float32), self.inner_margin, self.outer_margin))
      batch_centers = tf.stop_gradient(tf.reduce_mean(matrix, axis=0))
      self.centers.assign_add(self.center_momentum * (batch_centers - self.centers))
    return logits

  def compute_output_shape(self, input_shape):
    return (input_shape[0], 2)

  def get_config(self):
    return {"name": self.name, "trainable": self.trainable,
            "features": keras.saving.serialize_keras_object(self.features),
            "num_attentions": self.num_attentions, "texture_channels": self.texture_channels,
            "dropout": self.dropout_rate, "ril_weight": self.ril_weight,
            "inner_margin": self.inner_margin, "outer_margin": self.outer_margin,
            "center_momentum": self.center_momentum, "agda_prob": self.agda_prob,
            "agda_threshold": self.agda_threshold, "seed": self.seed}

  @classmethod
  def from_config(cls, config):
    return cls(**deserialize_nested(config, "features"))


def build_multi_attention(image_size, backbone="efficientnetb4", weights=None, dropout=0.0,
                          drop_connect=0.2, shallow_stage=2, attention_stage=5,
                          name=None, **kwargs):
  """`MultiAttentionDetector` on an EfficientNet `backbone` ("efficientnetb0".."b7").

  image_size: int or (height, width), >= 32; weights / drop_connect as `build_detector`;
  other keyword arguments go to `MultiAttentionDetector` (num_attentions, agda_prob, ...).
  """
  entry = backbones.BACKBONES.get(backbone)
  family = entry.family if entry is not None and entry.application is not None else None
  if family != "efficientnet":
    raise ValueError(f"backbone must be an EfficientNet 'efficientnetb0'..'efficientnetb7', "
                     f"got {backbone!r}.")
  checks.number(drop_connect, "drop_connect", minimum=0.0, below=1.0)
  input_shape = backbones.image_shape(image_size)
  network = backbones.application(backbone, input_shape, weights)
  backbones.set_drop_connect(network, drop_connect)
  taps = [network.get_layer(_stage_output(network, shallow_stage)).output,
          network.get_layer(_stage_output(network, attention_stage)).output, network.output]
  tapped = keras.Model(network.input, taps, name=backbone)
  scale, offset = backbones.INPUT_SCALING[family]
  images = keras.Input(input_shape, name="images")
  outputs = tapped(backbones.InputScaling(scale, offset, name="input_scaling")(images))
  features = keras.Model(images, outputs, name=f"{backbone}_taps")
  return MultiAttentionDetector(features, dropout=dropout,
                                name=name or f"multi_attention_{backbone}_detector", **kwargs)


def _builder(backbone):
  """`build_detector`'s entry for "multi_attention_<backbone>"."""
  def build(image_size, weights=None, dropout=0.0, drop_connect=0.2):
    return build_multi_attention(image_size, backbone=backbone, weights=weights,
                                 dropout=dropout, drop_connect=drop_connect)
  return build


for _i in range(8):
  backbones.register_backbone(f"multi_attention_efficientnetb{_i}", "efficientnet",
                              build=_builder(f"efficientnetb{_i}"))
