"""`run_layer_test`: the checks every dfadv_tf layer and model goes through.

In the spirit of keras-hub's `run_layer_test`: for a layer class and its constructor
arguments it checks the config round trip (`get_config` / `from_config` and Keras
serialisation), an eager call, a symbolic call on `keras.Input`s, one compiled `fit`
step of a tiny model that contains the layer, and the layer under dtype policies.
"""

import keras
import numpy as np
import tensorflow as tf


def _head(x):
  """Reduces any tensor to (B, 2) logits with a trainable Dense."""
  if len(x.shape) > 2:
    x = keras.layers.Flatten()(x)
  return keras.layers.Dense(2, dtype="float32")(x)


def run_layer_test(test_case, layer_cls, init_kwargs, inputs, expected_output_shape=None,
                   run_fit=True, dtype_policies=("float32", "mixed_bfloat16"),
                   call_kwargs=None):
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
  if run_fit:
    model = keras.Model(symbolic_inputs, _head(symbolic))
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    labels = np.arange(inputs[0].shape[0]) % 2
    history = model.fit([x for x in inputs], labels, epochs=1, batch_size=len(labels),
                        verbose=0)
    test_case.assertTrue(np.isfinite(history.history["loss"][0]))

  # Dtype policies.
  for policy in dtype_policies:
    typed = layer_cls(**init_kwargs, dtype=policy)
    out = typed(*[tf.constant(x) for x in inputs], **call_kwargs)
    test_case.assertEqual(keras.backend.standardize_dtype(out.dtype),
                          keras.dtype_policies.get(policy).compute_dtype)
    test_case.assertTrue(bool(tf.reduce_all(tf.math.is_finite(tf.cast(out, tf.float32)))))
  return eager
