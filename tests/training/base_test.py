"""Tests of dfadv_tf.training.base: batch unpacking, losses, global-batch averaging."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.models.tsn import TSNDetector
from dfadv_tf.training import base
from dfadv_tf.training import GeneratorBATModel, GradientATModel
from dfadv_tf.training.detector import DetectorModel
from dfadv_tf.training.optimizers import RAdam
from tests.testing.data import tiny_arrays
from tests.testing.data import tiny_dataset
from tests.testing.models import tiny_detector
from tests.testing.training import GENERATOR_KWARGS
from tests.testing.training import mirrored_strategy


def _linear_detector():
  """No BatchNorm, so one replica and two replicas compute the same step."""
  keras.utils.set_random_seed(0)
  inputs = keras.Input((32, 32, 3))
  x = keras.layers.AveragePooling2D(8)(inputs)
  return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))


class UnpackTest(tf.test.TestCase):

  def test_tuple_and_dict(self):
    images, labels = tiny_arrays(2)
    for batch in ((images, labels), (images, labels, None),
                  {"image": images, "label": labels[:, None]}):
      out_images, out_labels = base.unpack(batch)
      self.assertEqual(out_images.dtype, tf.float32)
      self.assertEqual(out_labels.dtype, tf.int32)
      self.assertAllEqual(out_labels, labels)

  def test_bad_batches(self):
    with self.assertRaisesRegex(ValueError, "missing \\['label'\\]"):
      base.unpack({"image": np.zeros((1, 4, 4, 3))})
    with self.assertRaisesRegex(ValueError, "must be \\(images, labels\\)"):
      base.unpack((np.zeros((1, 4, 4, 3)),))
    with self.assertRaisesRegex(ValueError, "sample weights are not supported"):
      base.unpack((np.zeros((1, 4, 4, 3)), [0], [1.0]))

  def test_train_on_batch(self):
    images, labels = tiny_arrays(4)
    model = DetectorModel(_linear_detector())
    model.compile()
    logs = model.train_on_batch(images, labels, return_dict=True)
    self.assertTrue(np.isfinite(logs["loss"]))

  def test_images_of(self):
    images = np.zeros((1, 4, 4, 3))
    for batch in (images, (images,), (images, [0]), {"image": images}):
      self.assertIs(base.images_of(batch), images)

  def test_cross_entropy(self):
    logits = np.array([[0.0, 0.0], [2.0, -1.0]], np.float32)
    expected = [np.log(2.0), np.log(1.0 + np.exp(-3.0))]
    self.assertAllClose(base.cross_entropy(tf.constant([1, 0]), logits), expected)

  def test_clone_optimizer(self):
    optimizer = RAdam(1e-3, weight_decay=5e-4)
    clone = base.clone_optimizer(optimizer)
    self.assertIsNot(clone, optimizer)
    self.assertEqual(clone.get_config(), optimizer.get_config())

  def test_default_optimizer_decays_as_the_reference(self):
    model = DetectorModel(_linear_detector())
    model.compile()
    config = model.optimizer.get_config()
    self.assertAllClose((config["learning_rate"], config["weight_decay"]), (5e-4, 5e-4))
    self.assertTrue(config["decoupled_weight_decay"])


class GlobalBatchTest(tf.test.TestCase):

  def _one_step(self, strategy):
    with strategy.scope():
      model = DetectorModel(_linear_detector())
      model.compile(optimizer=keras.optimizers.SGD(0.5))
    loss = model.fit(tiny_dataset(8), verbose=0).history["loss"][0]
    return loss, model.detector.get_weights()

  def test_mirrored_step_equals_single_device_step(self):
    loss, weights = self._one_step(tf.distribute.get_strategy())
    mirrored_loss, mirrored_weights = self._one_step(
        mirrored_strategy())
    self.assertAllClose(mirrored_loss, loss, rtol=1e-5)
    for a, b in zip(mirrored_weights, weights):
      self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)


class TrainingModelTest(tf.test.TestCase):

  def test_rejects_non_models(self):
    with self.assertRaisesRegex(ValueError, "detector must be a keras.Model"):
      DetectorModel(keras.layers.Dense(2))

  def test_plain_model_has_no_adversary(self):
    model = DetectorModel(_linear_detector())
    images, labels = tiny_arrays(2)
    adv, inv_var = model.adversarial_examples(images, labels)
    self.assertAllEqual(adv, images)
    self.assertIsNone(inv_var)



class NonFiniteTest(tf.test.TestCase):
  """A non-finite input or loss stops `fit` naming the step, before any weight moves."""

  def test_a_nan_pixel_is_refused_naming_the_step_and_row(self):
    images, labels = tiny_arrays(8)
    images[5, 3, 3, 1] = np.nan  # in the second batch of 4
    for mode in ("baseline", "grad_aat", "two_gen_bat"):
      with self.subTest(mode=mode):
        detector = tiny_detector()
        model = {"baseline": DetectorModel,
                 "grad_aat": lambda d: GradientATModel(d, attack="fgsm"),
                 "two_gen_bat": lambda d: GeneratorBATModel(
                     d, generators=2, g_steps=1, kernel_size=3,
                     generator_kwargs=GENERATOR_KWARGS)}[mode](detector)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                    "the batch of training step 2: row 1 has NaN"):
          model.fit(images, labels, batch_size=4, epochs=1, verbose=0, shuffle=False)
        self.assertTrue(all(np.all(np.isfinite(w)) for w in detector.weights))

  def test_a_diverged_loss_stops_before_the_update(self):
    images, labels = tiny_arrays(8)
    detector = tiny_detector(batch_norm=False)
    model = DetectorModel(detector)
    model.compile(optimizer=keras.optimizers.SGD(1e30))  # --learning_rate=1e30
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "training diverged: the "
                                "detector loss is .*nan at training step [0-9]+; the "
                                "weights were not updated"):
      model.fit(images, labels, batch_size=2, epochs=5, verbose=0)
    self.assertTrue(all(np.all(np.isfinite(w)) for w in detector.weights))
    model = DetectorModel(tiny_detector())
    model.compile()
    images[0, 0, 0, 0] = np.inf
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                "an evaluation batch: row 0 has NaN or inf"):
      model.evaluate(images, labels, verbose=0)


  def test_xla_steps_compile_without_the_assertions(self):
    # XLA cannot compile the assertions' messages (AsString) and ignores assertions: under
    # jit_compile the steps leave them out (the epoch-end check remains).
    images, labels = tiny_arrays(4)
    model = DetectorModel(tiny_detector())
    model.compile(jit_compile=True)
    self.assertFalse(model.graph_checks())
    history = model.fit(images, labels, batch_size=4, epochs=1, verbose=0).history
    self.assertTrue(np.isfinite(history["loss"][0]))
    self.assertTrue(np.isfinite(model.evaluate(images, labels, verbose=0,
                                               return_dict=True)["loss"]))

  def test_xla_on_a_cpu_warns_once(self):
    if any(d.device_type != "CPU" for d in tf.config.list_physical_devices()):
      self.skipTest("an accelerator is present: no warning expected")
    base._WARNED_XLA_ON_CPU.clear()  # pylint: disable=protected-access
    with self.assertLogs(level="WARNING") as logs:
      DetectorModel(tiny_detector()).compile(jit_compile=True)
    self.assertLen(logs.output, 1)
    self.assertIn("jit_compile=True on a machine without GPU or TPU", logs.output[0])
    self.assertFalse(base.warn_if_xla_on_cpu())  # once per process
    with self.assertNoLogs(level="WARNING"):
      DetectorModel(tiny_detector()).compile()  # "auto": XLA stays off on a CPU


class PrivateKerasHooksTest(tf.test.TestCase):
  """The private Keras / TF hooks TrainingModel relies on (Keras 3.15): these fail loudly
  when an upgrade renames or changes them."""

  def test_maybe_symbolic_build_is_still_keras_hook(self):
    import inspect  # pylint: disable=g-import-not-at-top
    parent = next(c for c in base.TrainingModel.__mro__[1:]
                  if "_maybe_symbolic_build" in vars(c))
    self.assertEqual(list(inspect.signature(parent._maybe_symbolic_build).parameters),
                     ["self", "iterator", "data_batch"])
    calls = []

    class Spy(DetectorModel):
      def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        calls.append(1)

    with mirrored_strategy().scope():
      model = Spy(tiny_detector())
      model.compile(jit_compile=False)
    model.fit(tiny_dataset(), verbose=0)
    self.assertNotEmpty(calls, "Keras' fit no longer calls _maybe_symbolic_build")

  def test_multi_worker_agrees_with_keras(self):
    from keras.src.backend.tensorflow import trainer  # pylint: disable=g-import-not-at-top
    for strategy in (tf.distribute.get_strategy(), mirrored_strategy()):
      with strategy.scope():
        self.assertEqual(base.multi_worker(),
                         trainer._collective_all_reduce_multi_worker(strategy))


class MasksAndClipsTest(tf.test.TestCase):
  """The two issue-8 hooks: mask batches reach the detector, clips fold for adversaries."""

  def test_extra_inputs(self):
    detector = tiny_detector()
    self.assertEqual(base.extra_inputs((np.zeros((1, 4, 4, 3)), [0]), detector), {})
    self.assertEqual(base.extra_inputs({"image": 0, "label": 0}, detector), {})
    detector.training_inputs = {"mask": "masks"}
    extra = base.extra_inputs({"image": 0, "label": 0, "mask": np.ones((1, 4, 4, 1), "uint8")},
                              detector)
    self.assertEqual(list(extra), ["masks"])
    self.assertEqual(extra["masks"].dtype, tf.float32)

  def test_mask_batch_needs_a_mask_supervised_detector(self):
    images, labels = tiny_arrays(4)
    model = DetectorModel(tiny_detector())
    model.compile(jit_compile=False)
    data = tf.data.Dataset.from_tensors(
        {"image": images, "label": labels, "mask": np.zeros((4, 32, 32, 1), "float32")})
    with self.assertRaisesRegex(ValueError, r"features \['mask'\], which detector"):
      model.fit(data, verbose=0)

  def test_frame_adversary_step_folds_clips_and_passes_images(self):
    seen = []

    class Recorder(DetectorModel):
      def adversary_step(self, images, labels):
        seen.append((images.shape, labels.numpy().tolist()))
        return images + 1.0

    model = Recorder(TSNDetector(tiny_detector(), segments=3))
    clips = tf.zeros((2, 3, 32, 32, 3))
    out = model.frame_adversary_step(clips, tf.constant([0, 1]))
    self.assertEqual(seen[0], ((6, 32, 32, 3), [0, 0, 0, 1, 1, 1]))
    self.assertAllClose(out, tf.ones((2, 3, 32, 32, 3)))
    images = tf.zeros((2, 32, 32, 3))
    self.assertAllClose(model.frame_adversary_step(images, tf.constant([0, 1])), images + 1)
    self.assertIsNone(DetectorModel(TSNDetector(tiny_detector(), segments=3))
                      .frame_adversary_step(clips, tf.constant([0, 1])))
    plain = Recorder(tiny_detector())  # no detector protocol: the batch as it is
    self.assertAllClose(plain.frame_adversary_step(images, tf.constant([0, 1])), images + 1)


if __name__ == "__main__":
  tf.test.main()
