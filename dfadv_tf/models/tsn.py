"""Temporal Segment Network (Wang et al., ECCV 2016) around a frame detector.

The paper's multi-frame model (end of Sec. IV-A): a video is split into K segments, one
frame is sampled per segment (TSN Sec. 3.1; `records.load_clips` does the sampling: a
random frame per segment in training, the middle frame otherwise), a shared detector
scores every frame, and the segmental consensus is the average of the frame logits
(TSN Sec. 3.1, "average" consensus, applied before the softmax):

    clips (B, K, H, W, 3) in [-1, 1] -> fold (B*K, H, W, 3) -> detector -> (B*K, 2)
      -> unfold (B, K, 2) -> mean over K -> (B, 2) logits (fake = 1)

A 4-D batch (B, H, W, 3) is scored frame by frame (a clip of one segment): that is the
input the adversaries see: the model implements the training modes' detector protocol
(`to_frames` / `from_frames`, see `dfadv_tf.training.base`), so the modes fold clips into
frames before an attack or a blur generator runs and every frame gets its own
adversarial perturbation (per-frame adversaries). Evaluation on clips is at
video level: one clip per video (`load_clips(..., shuffle=False)`).
"""

import keras
import tensorflow as tf

from dfadv_tf import checks
from dfadv_tf.models import grad_cam
from dfadv_tf.serialization import deserialize_nested


@keras.saving.register_keras_serializable(package="dfadv_tf")
class TSNDetector(keras.Model):
  """Average consensus of a shared frame detector over K segments.

  Args:
    detector: a built `keras.Model`, (N, H, W, 3) float in [-1, 1] -> (N, 2) logits.
    segments: K >= 1, the number of segments (frames) per clip.
  Call: clips (B, K, H, W, 3) -> (B, 2) float32 logits, or frames (B, H, W, 3) ->
  (B, 2) per-frame logits. Auxiliary losses of the frame detector (`add_loss`) reach
  `losses` unchanged.
  """

  def __init__(self, detector, segments=3, **kwargs):
    super().__init__(**kwargs)
    if not isinstance(detector, keras.Model) or not detector.built:
      raise ValueError(f"detector must be a built keras.Model, got {detector!r}.")
    self.detector = detector
    self.segments = checks.integer(segments, "segments")
    self.frame_shape = tuple(detector.input_shape[1:])
    self.built = True

  def call(self, inputs, training=None):
    rank = inputs.shape.rank
    if rank == 4:
      return self.detector(inputs, training=training)
    if rank != 5 or tuple(inputs.shape[2:]) != self.frame_shape:
      raise ValueError(
          f"TSNDetector expects clips (B, K, {', '.join(map(str, self.frame_shape))}) or "
          f"frames (B, {', '.join(map(str, self.frame_shape))}), got shape {inputs.shape}.")
    frames = tf.reshape(inputs, [-1, *self.frame_shape])
    logits = tf.cast(self.detector(frames, training=training), tf.float32)
    logits = tf.reshape(logits, [tf.shape(inputs)[0], tf.shape(inputs)[1], 2])
    return tf.reduce_mean(logits, axis=1)

  def compute_output_shape(self, input_shape):
    return (input_shape[0], 2)

  # The training modes' detector protocol (dfadv_tf.training.base).

  def to_frames(self, images, labels):
    """Clips (B, K, H, W, 3) -> frames (B*K, H, W, 3) with their clip's label; frames
    (B, H, W, 3) are returned as they are."""
    if images.shape.rank != 5:
      return images, labels
    return (tf.reshape(images, [-1, *images.shape[2:]]),
            tf.repeat(labels, tf.shape(images)[1]))

  def from_frames(self, frames, images):
    """The inverse of `to_frames`: frames back into the shape of `images`."""
    return tf.reshape(frames, tf.shape(images))

  def explain_features(self, frames):
    """The frame detector's (feature map, logits) of frames (B, H, W, 3)
    (`models.grad_cam`; clips are folded into frames first)."""
    return grad_cam.feature_function(self.detector)(frames)

  def get_config(self):
    return {"name": self.name, "trainable": self.trainable, "segments": self.segments,
            "detector": keras.saving.serialize_keras_object(self.detector)}

  @classmethod
  def from_config(cls, config):
    return cls(**deserialize_nested(config, "detector"))
