"""Grad-CAM (Selvaraju et al., ICCV 2017): where a detector looks when it calls a face fake.

For a feature map A (B, h, w, C) of the detector and the score y of the explained class,

    alpha_k = mean_xy dy / dA_k          (global-average-pooled gradients)
    map     = ReLU(sum_k alpha_k A_k)    (B, h, w), resized (bilinear) to the image size

and each map is divided by its maximum, so it lies in [0, 1] (all zeros where the ReLU
left nothing). The score is the log-odds of the class, logits[:, 1] - logits[:, 0] for
"fake" (the negative for "real"): a 2-logit softmax depends on the logits' difference
only, so the difference is the class evidence.

Which feature map: the detector says (the explanation protocol below), or, for a
functional model (every `build_detector` backbone), the last feature map with spatial
extent before the global pooling: the nested backbone's output.

The explanation protocol: a detector that is not a functional model defines
`explain_features(images) -> (feature map (B, h, w, C), logits (B, 2))`, one forward pass
in inference mode in which the logits are computed from that feature map. The Table VI
detectors and `TSNDetector` define it (Xception's last block for `AttentionXception`, the
deep EfficientNet feature of `MultiAttentionDetector`'s global branch, the frame
detector's map for a TSN). Clips (B, K, H, W, 3) of a detector with `to_frames` (a TSN)
get one map per frame (B, K, H, W), each of that frame's own logits.
"""

import weakref

import keras
import tensorflow as tf

from dfadv_tf import checks

TARGETS = ("fake", "real")

_FEATURE_MODELS = weakref.WeakKeyDictionary()


def functional_features(model):
  """images -> [feature map, logits] of a functional `model` (cached per model).

  The feature map is the input of the last layer, in the model's layer order, that takes
  one 4-D tensor (B, h, w, C) other than the images: the map that the global pooling
  (or a Flatten) reduces; the logits are the model's first output (a model with an
  attention map as its second output, like `AttentionXception.network`, works too).
  ValueError if the model has no such layer.
  """
  if model not in _FEATURE_MODELS:
    if not getattr(model, "inputs", None):
      raise ValueError(f"model {model.name!r} is not a functional keras.Model; give it "
                       "`explain_features(images) -> (feature map, logits)` (see "
                       "dfadv_tf.models.grad_cam).")
    maps = [layer.input for layer in model.layers[1:]
            if isinstance(layer.input, keras.KerasTensor) and len(layer.input.shape) == 4
            and layer.input is not model.inputs[0]]
    if not maps:
      raise ValueError(f"model {model.name!r} has no 4-D feature map to explain.")
    outputs = model.outputs[0]
    _FEATURE_MODELS[model] = keras.Model(model.inputs, [maps[-1], outputs],
                                         name=f"{model.name}_features")
  return _FEATURE_MODELS[model]


def feature_function(detector):
  """`images -> (feature map (B, h, w, C), logits (B, 2))` of `detector`: its
  `explain_features`, or `functional_features` for a functional model."""
  if hasattr(detector, "explain_features"):
    return detector.explain_features
  model = functional_features(detector)
  return lambda images: tuple(model(images, training=False))


def grad_cam(detector, images, target="fake"):
  """Grad-CAM maps (B, H, W) float32 in [0, 1] of `detector` on `images`.

  images: (B, H, W, 3) float in [-1, 1] (the detector's input), or clips
    (B, K, H, W, 3) of a detector with `to_frames` (a TSN): maps (B, K, H, W), per frame.
  target: "fake" (what makes the detector call it fake) or "real".
  Runs eagerly or inside `tf.function`; the detector's weights are not changed.
  """
  checks.one_of(target, TARGETS, "target")
  images = tf.convert_to_tensor(images, tf.float32)
  if images.shape.rank == 5 and hasattr(detector, "to_frames"):
    frames, _ = detector.to_frames(images, tf.zeros(tf.shape(images)[:1], tf.int32))
    maps = grad_cam(detector, frames, target)
    return tf.reshape(maps, tf.shape(images)[:4])
  if images.shape.rank != 4 or images.shape[-1] != 3:
    raise ValueError(f"images must be (B, H, W, 3) (or clips (B, K, H, W, 3) for a TSN), "
                     f"got shape {images.shape}.")
  features_of = feature_function(detector)
  with tf.GradientTape() as tape:
    tape.watch(images)
    features, logits = features_of(images)
    features = tf.cast(features, tf.float32)
    logits = tf.cast(logits, tf.float32)
    score = logits[:, 1] - logits[:, 0]
    if target == "real":
      score = -score
  gradients = tape.gradient(score, features)
  weights = tf.reduce_mean(gradients, axis=[1, 2], keepdims=True)
  cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
  cam = tf.image.resize(cam, tf.shape(images)[1:3], method="bilinear")[..., 0]
  peak = tf.reduce_max(cam, axis=[1, 2], keepdims=True)
  return tf.math.divide_no_nan(cam, peak)
