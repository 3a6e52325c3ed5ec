"""`run_layer_test`: the checks every dfadv_tf layer and model goes through.

In the spirit of keras-hub's `run_layer_test`: for a layer class and its constructor
arguments it checks the config round trip (`get_config` / `from_config` and Keras
serialisation), an eager call, a symbolic call on `keras.Input`s, the weight counts, one
compiled `fit` step, and the layer under dtype policies. The fit step is the one the
object is trained with: a training mode fits with its own `train_step`; a detector
(images -> (B, 2) logits) is fitted by `DetectorModel`'s `train_step`; any other layer
inside a tiny functional model with a Dense(2) head.
"""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.training import DetectorModel, TrainingModel


def _head(x):
  """Reduces any tensor to (B, 2) logits with a trainable Dense."""
  if len(x.shape) > 2:
    x = keras.layers.Flatten()(x)
  return keras.layers.Dense(2, dtype="float32")(x)


def _fit(test_case, layer_cls, init_kwargs, inputs, symbolic_inputs, symbolic, labels):
  """One compiled fit step of the kind the object is trained with; finite loss."""
  if issubclass(layer_cls, TrainingModel):  # a training mode: its own train_step
    model = layer_cls(**init_kwargs)
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
  elif tuple(symbolic.shape[1:]) == (2,) and issubclass(layer_cls, keras.Model):
    model = DetectorModel(layer_cls(**init_kwargs))  # a detector: the modes' train_step
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
  else:
    model = keras.Model(symbolic_inputs, _head(symbolic))
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
  x = inputs[0] if len(inputs) == 1 else list(inputs)
  history = model.fit(x, labels, epochs=1, batch_size=len(labels), verbose=0)
  test_case.assertTrue(np.isfinite(history.history["loss"][0]), layer_cls.__name__)


def run_layer_test(test_case, layer_cls, init_kwargs, inputs, expected_output_shape=None,
                   run_fit=True, dtype_policies=("float32", "mixed_bfloat16"),
                   call_kwargs=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, expected_num_params=None):
  """Runs the shared layer checks.

  Args:
    test_case: the `tf.test.TestCase` running the checks.
    layer_cls: a registered-serialisable Keras layer class.
    init_kwargs: constructor arguments.
    inputs: a numpy array or a list of arrays, the positional call arguments.
    expected_output_shape: the full output shape of the eager call, or None to skip.
    run_fit: build a functional model (inputs -> layer -> Dense(2)) and fit one step.
    dtype_policies: policies under which the layer is called; under a mixed policy the
      output must carry the policy's compute dtype.
    call_kwargs: keyword arguments for every call.
    expected_num_trainable_weights, expected_num_non_trainable_weights: variable counts
      of the built layer (None: not checked).
    expected_num_params: total trainable parameters (None: not checked).
  Returns:
    The eager output under float32.
  """
  inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
  call_kwargs = call_kwargs or {}

  # Config round trip.
  layer = layer_cls(**init_kwargs)
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

  # Symbolic call, then one compiled fit step.
  symbolic_inputs = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
  symbolic = layer_cls(**init_kwargs)(*symbolic_inputs, **call_kwargs)
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

  if run_fit:
    _fit(test_case, layer_cls, init_kwargs, inputs, symbolic_inputs, symbolic,
         np.arange(inputs[0].shape[0]) % 2)

  # Dtype policies.
  for policy in dtype_policies:
    typed = layer_cls(**init_kwargs, dtype=policy)
    out = typed(*[tf.constant(x) for x in inputs], **call_kwargs)
    test_case.assertEqual(keras.backend.standardize_dtype(out.dtype),
                          keras.dtype_policies.get(policy).compute_dtype)
    test_case.assertTrue(bool(tf.reduce_all(tf.math.is_finite(tf.cast(out, tf.float32)))))
  return eager
