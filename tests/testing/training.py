"""Weight snapshots, a shared MirroredStrategy and fitting every mode, for the
training-mode tests."""

import functools

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.training import DetectorModel, GeneratorBATModel, GradientATModel

# A tiny BlurGenerator; min_inv_var 0.01 so that its map is not all on the clamp.
GENERATOR_KWARGS = {"width": 4, "n_blocks": 1, "min_inv_var": 0.01}


def snapshot(weights):
  return [np.array(w) for w in weights]


def changed(before, weights):
  """True when any of `weights` differs from the `snapshot` `before`."""
  return any(not np.array_equal(b, np.array(w)) for b, w in zip(before, weights))


@functools.lru_cache(maxsize=None)
def mirrored_strategy():
  """One MirroredStrategy over the 2 logical CPUs (tests/conftest.py) per process: the
  collective instance keys of separate strategies on the same devices collide."""
  return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def fit_every_mode(test_case, detector, dataset, steps=1):
  """Fits `steps` batches of `dataset` with DetectorModel, GradientATModel (FGSM) and
  GeneratorBATModel (two tiny generators, g_steps 1) around `detector`; checks that the
  detector's weights move and the loss is finite. Returns {mode: history}."""
  modes = {
      "baseline": DetectorModel(detector),
      "grad_aat": GradientATModel(detector, attack="fgsm", attack_kwargs={"eps_levels": 0.5}),
      "two_gen_bat": GeneratorBATModel(detector, generators=2, g_steps=1, kernel_size=3,
                                       generator_kwargs=GENERATOR_KWARGS),
  }
  histories = {}
  for name, model in modes.items():
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    before = snapshot(detector.trainable_weights)
    histories[name] = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0).history
    test_case.assertTrue(np.isfinite(histories[name]["loss"][0]), name)
    test_case.assertTrue(changed(before, detector.trainable_weights), name)
  return histories
