"""`run_layer_test`: the checks every dfadv_tf layer, model and training mode goes through.

In the manner of keras-hub's `TestCase`: for a layer class and its constructor arguments
it checks, by construction and without opt-outs,

- the config round trip (`get_config` / `from_config` and Keras serialisation);
- an eager and a symbolic call (output shape), the weight counts;
- under every dtype policy of `dtype_policies()` (`float32`, `mixed_bfloat16`, and
  `mixed_float16` where a GPU exists): the object built under that global policy, its
  output dtype (the policy's compute dtype, or the fixed `output_dtype` of objects whose
  output is float32 by design: logits, blur maps), finite outputs close to float32's
  (same seeded weights; tolerance `POLICY_TOLERANCE`), float32 variables, and one compiled
  `fit` step with a finite loss;
- a `.keras` save / load round trip of the fitted object: the same weights and the same
  outputs.

The fit step is the one the object is trained with: a training mode fits with its own
`train_step`; a detector (images -> (B, 2) logits) is fitted by `DetectorModel`'s
`train_step`; any other layer inside a tiny functional model with a Dense(2) head. The
saved object is the fitted training mode, the detector itself, or that functional model.
"""

import contextlib
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.training import DetectorModel, TrainingModel

# Under a mixed policy, with scale = max(1, max |out_float32|): mean |out - out_float32|
# <= tolerance * scale and max |out - out_float32| <= MAX_ERROR * scale. bfloat16 keeps 8
# significant bits (relative step 2^-8 = 0.4%), a few layers compound it; a quantising
# layer (JPEG) moves a few pixels by more.
POLICY_TOLERANCE = {"mixed_bfloat16": 0.02, "mixed_float16": 0.005}
MAX_ERROR = 0.25


def dtype_policies():
  """The policies every object is tested under: float32 and mixed_bfloat16 (CPU and
  TPU), and mixed_float16 where a GPU exists (on CPU float16 convolutions are emulated
  and slow, and no one trains so)."""
  policies = ["float32", "mixed_bfloat16"]
  if tf.config.list_physical_devices("GPU"):
    policies.append("mixed_float16")
  return tuple(policies)


@contextlib.contextmanager
def global_policy(policy):
  """Sets Keras' global dtype policy for the block; restores the previous one."""
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(policy)
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)


def _head(x):
  """Reduces any tensor to (B, 2) logits with a trainable Dense."""
  if len(x.shape) > 2:
    x = keras.layers.Flatten()(x)
  return keras.layers.Dense(2, dtype="float32")(x)


def _is_detector(layer_cls, output):
  return issubclass(layer_cls, keras.Model) and tuple(output.shape[1:]) == (2,)


def _fit(test_case, layer, layer_cls, inputs, call_kwargs, labels, what):
  """One compiled fit step of the kind the object is trained with; finite loss. Returns
  the object to save: the training mode, the detector, or the functional model."""
  if isinstance(layer, TrainingModel):  # a training mode: its own train_step
    model = saved = layer
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
  elif _is_detector(layer_cls, layer(*[tf.constant(x) for x in inputs], **call_kwargs)):
    model = DetectorModel(layer)  # a detector: the modes' train_step
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    saved = layer
  else:
    symbolic_inputs = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
    model = saved = keras.Model(symbolic_inputs, _head(layer(*symbolic_inputs,
                                                             **call_kwargs)))
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
  x = inputs[0] if len(inputs) == 1 else list(inputs)
  # shuffle=False: Two-Gen-BAT's rows must alternate real, fake (labels 0, 1, 0, 1).
  history = model.fit(x, labels, epochs=1, batch_size=len(labels), shuffle=False, verbose=0)
  test_case.assertTrue(np.isfinite(history.history["loss"][0]), what)
  return saved


def _outputs(obj, inputs, call_kwargs):
  """The saved object's inference outputs on `inputs`, as float32 numpy arrays."""
  tensors = [tf.constant(x) for x in inputs]
  if isinstance(obj, keras.Model) and not call_kwargs:
    out = obj(tensors[0] if len(tensors) == 1 else tensors, training=False)
  else:
    out = obj(*tensors, **call_kwargs)
  return [np.asarray(tf.cast(o, tf.float32)) for o in tf.nest.flatten(out)]


def check_saving(test_case, obj, inputs, call_kwargs=None, what=""):
  """`.keras` save / load round trip of `obj`: the loaded object has the same weights
  (names, shapes, values) and gives the same outputs on `inputs`."""
  call_kwargs = call_kwargs or {}
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "object.keras")
    obj.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
  test_case.assertIsInstance(loaded, type(obj), what)
  test_case.assertEqual([tuple(w.shape) for w in loaded.weights],
                        [tuple(w.shape) for w in obj.weights], what)
  for saved, revived in zip(obj.weights, loaded.weights):
    test_case.assertAllEqual(np.asarray(revived), np.asarray(saved), f"{what} {saved.path}")
  for got, want in zip(_outputs(loaded, inputs, call_kwargs),
                       _outputs(obj, inputs, call_kwargs)):
    test_case.assertAllClose(got, want, atol=1e-6, msg=what)
  return loaded


def run_layer_test(test_case, layer_cls, init_kwargs, inputs, expected_output_shape=None,
                   run_fit=True, run_saving=True, policies=None, output_dtype=None,
                   compare_policies=True, call_kwargs=None,
                   expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, expected_num_params=None):
  """Runs the shared checks (module doc).

  Args:
    test_case: the `tf.test.TestCase` running the checks.
    layer_cls: a registered-serialisable Keras layer or model class.
    init_kwargs: constructor arguments: a dict, or a function returning one, called
      under each dtype policy (so that sub-models such as a detector are built under it;
      the global seed is reset to 0 before each call).
    inputs: a numpy array or a list of arrays, the positional call arguments.
    expected_output_shape: the full output shape of the eager call, or None to skip.
    run_fit: fit one step: a training mode under every policy (the modes are what
      trains under a mixed policy), any other object under float32 (its mixed-policy
      training is that of the modes' tests).
    run_saving: `.keras` round trip of the object fitted under float32 (needs run_fit).
    policies: the dtype policies (default `dtype_policies()`); a test that narrows them
      must say why.
    output_dtype: the output dtype under every policy (e.g. "float32" for logits and
      maps), or None: the policy's compute dtype.
    compare_policies: outputs under a mixed policy close to float32's (False for an
      object whose outputs are random per call).
    call_kwargs: keyword arguments for every call.
    expected_num_trainable_weights, expected_num_non_trainable_weights: variable counts
      of the built layer (None: not checked).
    expected_num_params: total trainable parameters (None: not checked).
  Returns:
    The eager output under float32.
  """
  inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
  call_kwargs = call_kwargs or {}
  policies = dtype_policies() if policies is None else tuple(policies)
  make_kwargs = init_kwargs if callable(init_kwargs) else lambda: dict(init_kwargs)

  def make():
    keras.utils.set_random_seed(0)
    return layer_cls(**make_kwargs())

  # Config round trip.
  layer = make()
  config = layer.get_config()
  clone = layer_cls.from_config(config)
  test_case.assertEqual(clone.get_config(), config)
  revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
  test_case.assertIsInstance(revived, layer_cls)
  test_case.assertEqual(revived.get_config(), config)

  # Eager call.
  eager = layer(*[tf.constant(x) for x in inputs], **call_kwargs)
  if expected_output_shape is not None:
    test_case.assertEqual(tuple(eager.shape), tuple(expected_output_shape))

  # Symbolic call.
  symbolic_inputs = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
  symbolic = make()(*symbolic_inputs, **call_kwargs)
  if expected_output_shape is not None:
    test_case.assertEqual(tuple(symbolic.shape[1:]), tuple(expected_output_shape[1:]))

  # Weight counts.
  if expected_num_trainable_weights is not None:
    test_case.assertLen(layer.trainable_weights, expected_num_trainable_weights)
  if expected_num_non_trainable_weights is not None:
    test_case.assertLen(layer.non_trainable_weights, expected_num_non_trainable_weights)
  if expected_num_params is not None:
    test_case.assertEqual(sum(int(np.prod(w.shape)) for w in layer.trainable_weights),
                          expected_num_params)

  # Every dtype policy: dtypes, outputs close to float32's, one fit step; then saving.
  labels = np.arange(inputs[0].shape[0]) % 2
  reference = [np.asarray(tf.cast(o, tf.float32)) for o in tf.nest.flatten(eager)]
  for policy in policies:
    what = f"{layer_cls.__name__} under {policy}"
    with global_policy(policy):
      typed = make()
      out = typed(*[tf.constant(x) for x in inputs], **call_kwargs)
      want = output_dtype or keras.dtype_policies.get(policy).compute_dtype
      for o, ref in zip(tf.nest.flatten(out), reference):
        test_case.assertEqual(keras.backend.standardize_dtype(o.dtype), want, what)
        o = np.asarray(tf.cast(o, tf.float32))
        test_case.assertTrue(np.all(np.isfinite(o)), what)
        if compare_policies and policy in POLICY_TOLERANCE:
          scale = max(1.0, float(np.max(np.abs(ref))))
          error = np.abs(o - ref)
          test_case.assertLessEqual(float(np.mean(error)), POLICY_TOLERANCE[policy] * scale,
                                    f"{what}: mean error")
          test_case.assertLessEqual(float(np.max(error)), MAX_ERROR * scale,
                                    f"{what}: max error")
      for variable in typed.weights:  # variables stay float32 under mixed policies
        dtype = keras.backend.standardize_dtype(variable.dtype)
        if "float" in dtype:
          test_case.assertEqual(dtype, "float32", f"{what}: {variable.path}")
      if run_fit and (policy == "float32" or issubclass(layer_cls, TrainingModel)):
        fitted = _fit(test_case, typed, layer_cls, inputs, call_kwargs, labels, what)
        if run_saving and policy == "float32":
          check_saving(test_case, fitted, inputs, call_kwargs, what)
  return eager
