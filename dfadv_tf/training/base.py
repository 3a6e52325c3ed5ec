"""What every training mode shares: the detector update, trackers, losses, optimizers.

A training mode is a `keras.Model` around a detector (B, H, W, 3) float in [-1, 1] ->
(B, 2) logits (fake = 1). `train_step` = the mode's adversary (`adversary_step`) + one
detector update on [clean, adversarial] rows (Eq. 2, 3); `GeneratorBATModel` writes its
own `train_step` (the game of Eq. 7) from the same pieces: `checked_batch`,
`detector_update` and the small helpers at the end of this module (`to_frames` /
`from_frames`, `scaled_sum`, `apply_where`, `repeat`). `test_step` / `predict_step` /
`call` use the detector alone on clean images.

Losses are per-example softmax cross-entropies in float32, divided by the row count of the
global batch (summed over replicas), so that the gradients the optimizer all-reduces under
`tf.distribute` are those of the mean over the global batch. Under `mixed_float16` every
optimizer is wrapped in `keras.optimizers.LossScaleOptimizer`.

The detector protocol: what a detector may define so that every mode trains it, without
the modes knowing its kind (a plain `keras.Model` defines none of it):

- `to_frames(images, labels) -> (frames (N, H, W, 3), frame_labels (N,))` and
  `from_frames(frames, images) -> rows shaped like images`: how adversaries see a batch
  (`TSNDetector` folds clips (B, K, H, W, 3) into frames, so every frame gets its own
  adversarial perturbation). Default: the images themselves.
- `training_inputs`: {dict-batch key: call keyword} of the extra features its training
  call takes (`AttentionXception`: {"mask": "masks"}, the manipulation masks its map loss
  is supervised with). The detector update calls `detector(rows, training=True,
  keyword=feature)`, each feature repeated for the adversarial rows, and collects what
  the detector adds with `add_loss`. A batch key that the detector does not take is an
  error naming it.
"""

from absl import logging
import keras
import tensorflow as tf

from dfadv_tf.attacks.common import cross_entropy  # per-example CE in float32, (B,)
from dfadv_tf.serialization import deserialize_nested
from dfadv_tf.training.optimizers import RAdam

# Paper Sec. IV: RAdam, lr 5e-4 (detector) and 2e-3 (generators), weight decay 5e-4,
# decoupled as the reference's RAdam decays (docs/reference.md).
DETECTOR_LEARNING_RATE = 5e-4
GENERATOR_LEARNING_RATE = 2e-3
WEIGHT_DECAY = 5e-4


def unpack(data):
  """(images, labels) from a batch `(images, labels)` or `{"image": ..., "label": ...}`.

  Returns images (B, H, W, C) float32 and labels (B,) int32.
  """
  if isinstance(data, dict):
    missing = {"image", "label"} - set(data)
    if missing:
      raise ValueError(
          f"a dict batch needs the keys 'image' and 'label', missing {sorted(missing)} "
          f"(got keys {sorted(data)}).")
    images, labels = data["image"], data["label"]
  elif isinstance(data, (tuple, list)) and len(data) in (2, 3):
    if len(data) == 3 and data[2] is not None:
      raise ValueError("sample weights are not supported: the modes weight the clean and "
                       "adversarial rows themselves (see adv_weight).")
    images, labels = data[0], data[1]
  else:
    raise ValueError(
        "a training batch must be (images, labels) or a dict with 'image' and 'label', "
        f"got {type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'}.")
  return tf.cast(images, tf.float32), tf.reshape(tf.cast(labels, tf.int32), [-1])


BATCH_KEYS = ("image", "label")


def extra_inputs(data, detector):
  """{call keyword: feature} of the features of a dict batch beyond image and label that
  `detector` takes in its training call (its `training_inputs`); ValueError naming a key
  it does not take. Features are cast to float32 ({} for a tuple batch)."""
  if not isinstance(data, dict):
    return {}
  takes = dict(getattr(detector, "training_inputs", None) or {})
  extra = sorted(set(data) - set(BATCH_KEYS))
  refused = [key for key in extra if key not in takes]
  if refused:
    raise ValueError(
        f"the batch has the features {refused}, which detector {detector.name!r} does not "
        f"take in training (it takes {sorted(takes) or 'none'}; e.g. 'mask' needs a "
        "detector with map supervision such as stehouwer_xception); drop them from the "
        "dataset or use such a detector.")
  return {takes[key]: tf.cast(data[key], tf.float32) for key in extra}


def assert_finite(images, what, step=None):
  """An assertion (in graph) that `images` (B, ...) are finite; its message names `what`,
  the first row with a NaN or inf and the training `step` (1-based) if given. Non-finite
  inputs would turn every weight into NaN within one update. (XLA ignores assertions:
  under `jit_compile` the epoch-end check of `dfadv_tf.experiment` remains.)"""
  rows = tf.reduce_all(tf.math.is_finite(tf.reshape(images, [tf.shape(images)[0], -1])),
                       axis=1)
  where = [] if step is None else [" of training step ", tf.strings.as_string(step)]
  row = tf.strings.as_string(tf.argmin(tf.cast(rows, tf.int32)))
  return tf.debugging.Assert(tf.reduce_all(rows), [tf.strings.join([
      what, *where, ": row ", row, " has NaN or inf values; expected finite images"])])


def images_of(data):
  """The images of a predict batch: images, (images, ...) or a dict with 'image'."""
  if isinstance(data, dict):
    return data["image"]
  if isinstance(data, (tuple, list)):
    return data[0]
  return data


def global_sum(value):
  """Sum of `value` over the replicas (identity outside a multi-replica step)."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return value
  return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def multi_worker():
  """True under a strategy whose replicas span several workers: then Keras 3.15 averages
  the logs of `train_step` over an axis 0 (its `reduce_per_replica`, which asks the
  private `extended._in_multi_worker_mode()`); this asks the same through public API:
  more replicas in sync than this worker has devices. `tests/training/base_test.py`
  checks that both agree."""
  strategy = tf.distribute.get_strategy()
  return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
          and strategy.num_replicas_in_sync > len(strategy.extended.worker_devices))


def num_replicas():
  return tf.distribute.get_strategy().num_replicas_in_sync


def clone_optimizer(optimizer):
  """A fresh optimizer with the configuration of `optimizer` (no shared state)."""
  return keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))


_WARNED_XLA_ON_CPU = []


def warn_if_xla_on_cpu():
  """Logs once per process when a step is XLA-compiled on a machine with no GPU or TPU.

  XLA's CPU backend runs convolutions and their gradients (depthwise ones above all) as
  its own generated loops, not oneDNN's kernels: on an x86_64 CPU with AMX (TF 2.21, 1
  and 2 threads), a 3x3 depthwise convolution's forward + backward took 15-24x as long
  under XLA, EfficientNet-B0's at 128 px 5.5-6.7x (`benchmarks/xla_cpu.py`;
  docs/performance.md, "XLA on a CPU"). Keras' own `jit_compile="auto"` leaves XLA off on
  such machines; an explicit `jit_compile=True` gets this line. Returns whether it
  warned."""
  if _WARNED_XLA_ON_CPU or any(d.device_type != "CPU"
                               for d in tf.config.list_physical_devices()):
    return False
  _WARNED_XLA_ON_CPU.append(True)
  logging.warning("jit_compile=True on a machine without GPU or TPU: XLA's CPU "
                  "convolutions are several times slower than TensorFlow's own "
                  "(EfficientNet-B0's forward + backward 5.5-6.7x at 128 px); see "
                  "docs/performance.md, \"XLA on a CPU\".")
  return True


def no_autograph(step):
  """`step` traced as plain Python by Keras' `tf.function`: the steps have no
  tensor-dependent Python control flow (loops are `tf.while_loop` or static), and
  AutoGraph's source conversion of the ~50 functions a step calls is a third of a
  Two-Gen-BAT step's tracing time (docs/performance.md, "First step")."""
  return tf.autograph.experimental.do_not_convert(step)


STEPS = ("train_step", "test_step", "predict_step")


@keras.saving.register_keras_serializable(package="dfadv_tf")
class TrainingModel(keras.Model):
  """Base of the training modes. Subclasses define `adversary_step` (and may add
  trackers with `add_tracker`, optimizers in `compile`).

  Args:
    detector: a built `keras.Model`, (B, H, W, 3) float in [-1, 1] -> (B, 2) logits.
  Attributes a mode may set: `objective`, "concat" (Eq. 3: the detector update runs on
  [clean, adversarial], mean CE over the 2B rows, adversarial rows weighted `adv_weight`,
  lambda of Eq. 3) or "replace" (Eq. 2: the adversarial rows only).
  Trackers: `loss` (the detector's objective), `accuracy` and `auc` (AUC of the fake
  probability), both from the logits of the detector update on its clean rows (the
  adversarial rows under "replace"), and for "concat" with an adversary `clean_loss` /
  `adv_loss` (mean CE of each half).
  """

  objective = "concat"
  adv_weight = 1.0

  def __init_subclass__(cls, **kwargs):
    """A mode's own `train_step` / `test_step` / `predict_step` trace without AutoGraph
    too (see `no_autograph`)."""
    super().__init_subclass__(**kwargs)
    for name in STEPS:
      if name in cls.__dict__:
        setattr(cls, name, no_autograph(cls.__dict__[name]))

  def __init__(self, detector, **kwargs):
    super().__init__(**kwargs)
    if not isinstance(detector, keras.Model):
      raise ValueError(
          f"detector must be a keras.Model, got {type(detector).__name__}.")
    if not detector.built:
      raise ValueError(
          "detector must be built, e.g. a functional model or one on which "
          "`detector.build((None, H, W, 3))` was called.")
    self.detector = detector
    self._trackers = {}
    self.add_tracker("loss")
    self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    self.auc_tracker = keras.metrics.AUC(name="auc")
    self.built = True

  def add_adversarial_trackers(self):
    """`clean_loss` and `adv_loss`, for a mode with an adversary and objective concat."""
    if self.objective == "concat":
      self.add_tracker("clean_loss")
      self.add_tracker("adv_loss")

  def add_tracker(self, name):
    self._trackers[name] = keras.metrics.Mean(name=name)

  @property
  def metrics(self):
    return list(self._trackers.values()) + [self.accuracy_tracker, self.auc_tracker]

  def results(self, names=None):
    """{tracker name: value} of the trackers `names` (default all) + accuracy and auc."""
    out = {n: self._trackers[n].result() for n in (names or self._trackers)}
    out.update(accuracy=self.accuracy_tracker.result(), auc=self.auc_tracker.result())
    if multi_worker():  # Keras averages multi-worker logs over an axis 0
      out = {name: tf.reshape(value, [1]) for name, value in out.items()}
    return out

  def track(self, name, share, present=True):
    """Adds this replica's `share` of a global mean to tracker `name` (ignored when
    `present` is False, e.g. a generator with no rows in the batch)."""
    self._trackers[name].update_state(share * num_replicas(),
                                      sample_weight=tf.cast(present, tf.float32))

  # ---- optimizers ----------------------------------------------------------------------

  def prepare_optimizer(self, optimizer, variables):
    """Resolves, loss-scales under mixed_float16, and builds an optimizer on `variables`."""
    optimizer = keras.optimizers.get(optimizer)
    if (self.dtype_policy.name == "mixed_float16"
        and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
      optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(variables)
    return optimizer

  def compile(self, optimizer=None, jit_compile="auto", **kwargs):
    """`optimizer`: the detector's (default: RAdam lr 5e-4, weight decay 5e-4 decoupled,
    paper Sec. IV and the reference). Other arguments go to `keras.Model.compile` (no loss
    or metrics: the modes compute their own)."""
    for name in ("loss", "metrics", "loss_weights", "weighted_metrics"):
      if kwargs.get(name) is not None:
        raise ValueError(
            f"{type(self).__name__}.compile computes its own loss and trackers; got "
            f"{name}={kwargs[name]!r}, expected None.")
    if optimizer is None:
      optimizer = RAdam(DETECTOR_LEARNING_RATE, weight_decay=WEIGHT_DECAY,
                        decoupled_weight_decay=True)
    kwargs.pop("auto_scale_loss", None)
    optimizer = self.prepare_optimizer(optimizer, self.detector.trainable_variables)
    super().compile(optimizer=optimizer, jit_compile=jit_compile, auto_scale_loss=False,
                    **kwargs)
    if self.jit_compile is True:
      warn_if_xla_on_cpu()

  def compile_from_config(self, config):
    self.compile(**keras.saving.deserialize_keras_object(config))

  def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    """Nothing to build: a mode is built at construction, its optimizers in `compile`.

    Overrides a private hook of Keras 3.15's TensorFlow trainer (called by `fit`,
    `evaluate`, `train_on_batch`): Keras' version averages the first distributed batch
    with `strategy.reduce("MEAN")`, which MultiWorkerMirroredStrategy refuses for an
    (images, labels) batch of integers. No public API replaces it (a model built and
    compiled beforehand still goes through it). `tests/training/base_test.py` fails when
    Keras renames it or changes its arguments."""
    del iterator, data_batch

  # ---- steps ---------------------------------------------------------------------------

  def call(self, images, training=False):
    return self.detector(images, training=training)

  def adversary_step(self, images, labels):
    """The mode's adversarial rows (B, H, W, 3) for this batch, without gradient, or
    None for plain training. May update the mode's generators first."""
    del labels
    return None

  def adversarial_examples(self, images, labels):
    """The adversary applied to (images, labels) outside training: (adv_images, inv_var
    or None). The plain detector has no adversary: the clean images come back."""
    del labels
    return tf.convert_to_tensor(images), None

  @property
  def has_adversary(self):
    """Whether the mode trains against an adversary: its class has its own
    `adversarial_examples` (TensorBoard shows adversarial images only then)."""
    return type(self).adversarial_examples is not TrainingModel.adversarial_examples

  def training_step_number(self):
    """The 1-based number of the current training step (the detector's updates + 1)."""
    return self.optimizer.iterations + 1

  def graph_checks(self):
    """Whether steps carry their in-graph assertions (finite batch, finite loss): not
    under XLA (`jit_compile`), which ignores assertions and cannot compile the string ops
    of their messages (AsString); there the epoch-end check of `dfadv_tf.experiment`
    remains."""
    return not self.jit_compile

  @no_autograph
  def train_step(self, data):
    images, labels, extra = self.checked_batch(data)
    adversarial = self.frame_adversary_step(images, labels)
    self.detector_update(images, labels, adversarial, extra)
    return self.results()

  def checked_batch(self, data):
    """(images, labels, extra) of a training batch (`unpack`, `extra_inputs`), the
    images asserted finite (`graph_checks`)."""
    images, labels = unpack(data)
    checks = ([assert_finite(images, "the batch", self.training_step_number())]
              if self.graph_checks() else [])
    with tf.control_dependencies(checks):
      images = tf.identity(images)
    return images, labels, extra_inputs(data, self.detector)

  def frame_adversary_step(self, images, labels):
    """`adversary_step` on what the detector's adversaries see (`to_frames`: a TSN's
    clips become frames carrying their clip's label); plain images go through
    unchanged."""
    adversarial = self.adversary_step(*to_frames(self.detector, images, labels))
    return None if adversarial is None else from_frames(self.detector, adversarial, images)

  def detector_update(self, images, labels, adversarial, extra=None):
    """One detector step (Eq. 2/3/7) on the clean rows and/or `adversarial` rows.

    `extra`: {call keyword: feature (B, ...)} of the detector protocol's
    `training_inputs` (e.g. masks), passed to the detector's training call; the
    adversarial rows keep their clean row's features. What the detector adds with
    `add_loss` (e.g. `AttentionXception`'s map loss) joins the objective.
    """
    batch = global_sum(tf.cast(tf.shape(labels)[0], tf.float32))
    if adversarial is None or self.objective == "replace":
      rows = images if adversarial is None else adversarial
      row_labels, weights, count = labels, None, batch
    else:
      rows = tf.concat([images, adversarial], axis=0)
      row_labels = tf.concat([labels, labels], axis=0)
      weights = tf.concat([tf.ones_like(labels, tf.float32),
                           tf.fill(tf.shape(labels), self.adv_weight)], axis=0)
      count = 2.0 * batch
    call_kwargs = {key: value if weights is None else tf.concat([value, value], 0)
                   for key, value in (extra or {}).items()}
    variables = self.detector.trainable_variables
    with tf.GradientTape() as tape:
      logits = tf.cast(self.detector(rows, training=True, **call_kwargs), tf.float32)
      ce = cross_entropy(row_labels, logits)
      loss = tf.reduce_sum(ce if weights is None else weights * ce) / count
      if self.detector.losses:
        loss += tf.add_n(self.detector.losses) / num_replicas()
      scaled = self.optimizer.scale_loss(loss)
    finite = [tf.debugging.Assert(tf.math.is_finite(loss), [tf.strings.join([
        "training diverged: the detector loss is ", tf.strings.as_string(loss),
        " at training step ", tf.strings.as_string(self.training_step_number()),
        "; the weights were not updated (lower the learning rate, check the inputs)"])])
              ] if self.graph_checks() else []
    with tf.control_dependencies(finite):
      gradients = [None if g is None else tf.identity(g)
                   for g in tape.gradient(scaled, variables)]
    self.optimizer.apply(gradients, variables)
    self.track("loss", loss)
    clean_logits = logits[:tf.shape(labels)[0]]
    if weights is not None:
      self.track("clean_loss", tf.reduce_sum(ce[:tf.shape(labels)[0]]) / batch)
      self.track("adv_loss", tf.reduce_sum(ce[tf.shape(labels)[0]:]) / batch)
    self.update_accuracy(labels, clean_logits)

  def update_accuracy(self, labels, logits):
    self.accuracy_tracker.update_state(labels, logits)
    self.auc_tracker.update_state(labels, tf.nn.softmax(logits)[:, 1])

  @no_autograph
  def test_step(self, data):
    images, labels = unpack(data)
    checks = [assert_finite(images, "an evaluation batch")] if self.graph_checks() else []
    with tf.control_dependencies(checks):
      images = tf.identity(images)
    logits = tf.cast(self.detector(images, training=False), tf.float32)
    batch = global_sum(tf.cast(tf.shape(labels)[0], tf.float32))
    self.track("loss", tf.reduce_sum(cross_entropy(labels, logits)) / batch)
    self.update_accuracy(labels, logits)
    return self.results(["loss"])

  @no_autograph
  def predict_step(self, data):
    return tf.cast(self.detector(images_of(data), training=False), tf.float32)

  # ---- config --------------------------------------------------------------------------

  def get_config(self):
    return {"name": self.name, "trainable": self.trainable,
            "detector": keras.saving.serialize_keras_object(self.detector)}

  @classmethod
  def from_config(cls, config):
    return cls(**deserialize_nested(config, "detector"))


# ---- small pieces of the steps --------------------------------------------------------


def to_frames(detector, images, labels):
  """(frames, frame labels) that the adversaries of `detector` see: the detector
  protocol's `to_frames` (a TSN's clips (B, K, ...) -> frames (B*K, ...), each with its
  clip's label), else (images, labels)."""
  fold = getattr(detector, "to_frames", None)
  return (images, labels) if fold is None else fold(images, labels)


def from_frames(detector, frames, images):
  """The inverse of `to_frames`: rows shaped like `images`."""
  unfold = getattr(detector, "from_frames", None)
  return frames if unfold is None else unfold(frames, images)


def scaled_sum(optimizers, losses):
  """The sum of each loss scaled by its optimizer (`LossScaleOptimizer` under
  mixed_float16, else as it is): one backward pass gives every optimizer's gradients
  when each loss depends on its own variables only."""
  return tf.add_n([opt.scale_loss(loss) for opt, loss in zip(optimizers, losses)])


def apply_where(present, optimizer, grads, variables):
  """Applies `grads`, then puts the old weights back unless `present` (bool tensor). A
  tf.where, not a tf.cond: the optimizer's cross-replica merge_call cannot sit in a cond
  branch under MirroredStrategy. The optimizer's own state (iterations, moments) still
  takes the step."""
  olds = [tf.identity(v) for v in variables]
  optimizer.apply(grads, variables)
  for var, old in zip(variables, olds):
    var.assign(tf.where(present, var, old))


def repeat(count, update, like):
  """The result of the last of `count` calls of `update()` (a list of tensors shaped
  like `like`). Outside `tf.distribute` the calls are a `tf.while_loop`, so that a step
  traces and compiles one of them (its first call is that much quicker); under a
  strategy they are unrolled, since an optimizer's cross-replica merge_call cannot sit
  in a loop body."""
  if count == 1 or tf.distribute.has_strategy():
    for _ in range(count):
      out = update()
    return out
  _, *out = tf.while_loop(
      lambda step, *_: step < count,
      lambda step, *_: (step + 1, *update()),
      (tf.constant(0), *[tf.zeros_like(x) for x in like]),
      maximum_iterations=count)
  return out
