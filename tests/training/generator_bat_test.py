"""Tests of dfadv_tf.training.generator_bat.GeneratorBATModel: Gen-BAT, Two-Gen-BAT and
Combined AT (Eq. 7, Sec. III-C, Fig. 3)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf.attacks.additive import fgsm
from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.training.generator_bat import GeneratorBATModel
from dfadv_tf.training.optimizers import RAdam
from tests.testing.data import tiny_arrays
from tests.testing.data import tiny_dataset
from tests.testing.layers import run_layer_test
from tests.testing.models import tiny_detector
from tests.testing.training import GENERATOR_KWARGS
from tests.testing.training import changed
from tests.testing.training import mirrored_strategy
from tests.testing.training import snapshot


def _model(generators=2, g_steps=1, detector=None, **kwargs):
  model = GeneratorBATModel(detector or tiny_detector(), generators=generators,
                            g_steps=g_steps, kernel_size=5,
                            generator_kwargs=GENERATOR_KWARGS, **kwargs)
  model.compile()
  return model


class GeneratorBATModelTest(tf.test.TestCase):

  def tearDown(self):
    keras.config.set_dtype_policy("float32")
    super().tearDown()

  def test_layer(self):
    # Gen-BAT, Two-Gen-BAT and Combined AT, g_steps 2 (the while loop). The "masks"
    # routing makes the same step as "halves" (test_halves_and_masks_routing_...).
    for kwargs in ({"generators": 1}, {"generators": 2}, {"combined_eps_levels": 0.5}):
      with self.subTest(**kwargs):
        run_layer_test(self, GeneratorBATModel,
                       lambda kwargs=kwargs: {"detector": tiny_detector(), "g_steps": 2,
                                              "kernel_size": 5,
                                              "generator_kwargs": GENERATOR_KWARGS,
                                              **kwargs},
                       tiny_arrays(4)[0], expected_output_shape=(4, 2),
                       output_dtype="float32")

  def test_two_gen_bat_fit_evaluate_predict(self):
    model = _model(g_steps=2)
    g_real, g_fake = model.generators
    before = [snapshot(m.trainable_weights) for m in (model.detector, g_real, g_fake)]
    history = model.fit(tiny_dataset(16), epochs=1, verbose=0).history
    self.assertEqual(set(history), {"loss", "clean_loss", "adv_loss", "g_real_loss",
                                    "g_fake_loss", "g_real_clamped", "g_fake_clamped",
                                    "accuracy", "auc"})
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
    for weights, m in zip(before, (model.detector, g_real, g_fake)):
      self.assertTrue(changed(weights, m.trainable_weights), m.name)
    # 2 batches x g_steps updates per generator, 2 detector updates.
    self.assertEqual([int(o.iterations) for o in model.generator_optimizers], [4, 4])
    self.assertEqual(int(model.optimizer.iterations), 2)
    self.assertLess(history["g_real_loss"][0], 0.0)  # -CE
    results = model.evaluate(tiny_dataset(16), verbose=0, return_dict=True)
    self.assertEqual(set(results), {"loss", "accuracy", "auc"})
    self.assertEqual(model.predict(tiny_dataset(16), verbose=0).shape, (16, 2))

  def test_generator_phase_leaves_detector_untouched(self):
    model = _model()
    images, labels = tiny_arrays()
    detector_before = snapshot(model.detector.weights)
    generators_before = [snapshot(g.trainable_weights) for g in model.generators]
    tf.function(model.generator_step)(tf.constant(images), tf.constant(labels))
    self.assertFalse(changed(detector_before, model.detector.weights))
    for before, g in zip(generators_before, model.generators):
      self.assertTrue(changed(before, g.trainable_weights), g.name)

  def test_halves_and_masks_routing_make_the_same_step(self):
    # On an alternating batch the fast path (each generator on its half) and the fallback
    # (both generators on every row, masked) are the same game: same weights after a step.
    detector = tiny_detector()
    halves = _model(g_steps=2, detector=detector)
    masks = _model(g_steps=2, detector=keras.models.clone_model(detector), routing="masks")
    masks.detector.set_weights(detector.get_weights())
    for source, target in zip(halves.generators, masks.generators):
      target.set_weights(source.get_weights())
    images, labels = tiny_arrays()
    before = snapshot(halves.weights)
    for model in (halves, masks):
      logs = tf.function(model.train_step)((tf.constant(images), tf.constant(labels)))
      self.assertTrue(changed(before, model.weights))
    for a, b in zip(halves.weights, masks.weights):
      self.assertAllClose(a, b, rtol=1e-4, atol=1e-5, msg=a.path)
    self.assertIn("g_fake_clamped", logs)

  def test_halves_routing_refuses_a_batch_that_does_not_alternate(self):
    model = _model()
    images, labels = tiny_arrays()
    for bad in (np.sort(labels), labels[:-1], 1 - labels):
      with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "routing='masks'"):
        model.split(tf.constant(images[:len(bad)]), tf.constant(bad))
    (real, real_labels), (fake, fake_labels) = model.split(images, labels)
    self.assertAllEqual(real, images[0::2])
    self.assertAllEqual(fake_labels, labels[1::2])
    self.assertAllEqual(model.merge([real, fake]), images)

  def test_detector_rows_come_from_the_last_generator_update(self):
    model = _model(g_steps=2, combined_eps_levels=1.0)
    images, labels = tf.constant(tiny_arrays()[0]), tf.constant(tiny_arrays()[1])
    tf.function(model.generator_step)(images, labels)
    g_real, g_fake = model.generators
    # The second (last) update's forward pass, before its optimizer step.
    real = pixel_gaussian_blur(images[0::2], g_real(images[0::2], training=True), 5)
    fake = pixel_gaussian_blur(images[1::2], g_fake(images[1::2], training=True), 5)
    expected = fgsm(model.detector, model.merge([real, fake]), labels, 2 / 255)
    rows = tf.function(model.generator_step)(images, labels)
    # Equal up to the sign of input-gradient entries within round-off of 0.
    self.assertAllClose(rows, expected, atol=2 * 2 / 255 + 1e-5)
    self.assertLess(np.mean(np.abs(rows - expected) > 1e-5), 1e-3)

  def test_clamped_fraction_tracker(self):
    model = _model(generators=1)
    images, labels = tiny_arrays()
    inv_var = model.generators[0](images, training=True)
    kwargs = model.generator_kwargs
    expected = np.mean((inv_var <= kwargs["min_inv_var"]) | (inv_var >= 1e12))
    logs = tf.function(model.train_step)((tf.constant(images), tf.constant(labels)))
    self.assertAllClose(logs["g_clamped"], expected, atol=1e-6)
    self.assertGreater(float(logs["g_clamped"]), 0.0)

  def test_real_only_batch_leaves_fake_generator_unchanged(self):
    model = _model(routing="masks")
    g_real, g_fake = model.generators
    real_before, fake_before = snapshot(g_real.weights), snapshot(g_fake.weights)
    history = model.fit(tiny_dataset(labels=0), epochs=1, verbose=0).history
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
    self.assertFalse(changed(fake_before, g_fake.weights))
    self.assertTrue(changed(real_before, g_real.weights))

  def test_gen_bat_one_generator_on_dicts(self):
    model = _model(generators=1)
    history = model.fit(tiny_dataset(dicts=True), epochs=1, verbose=0).history
    self.assertIn("g_loss", history)
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
    adv, inv_var = model.adversarial_examples(*tiny_arrays(4))
    self.assertEqual((adv.shape, inv_var.shape), ((4, 32, 32, 3), (4, 32, 32, 1)))

  def test_combined_at_differs_from_two_gen_bat_by_the_fgsm_step(self):
    detector = tiny_detector()
    combined = _model(detector=detector, combined_eps_levels=1.0)
    two_gen = _model(detector=detector)
    for source, target in zip(combined.generators, two_gen.generators):
      target.set_weights(source.get_weights())
    images, labels = tiny_arrays()
    adv_combined, inv_var_combined = combined.adversarial_examples(images, labels)
    adv_blur, inv_var_blur = two_gen.adversarial_examples(images, labels)
    self.assertAllClose(inv_var_combined, inv_var_blur)
    self.assertAllClose(adv_combined, fgsm(detector, adv_blur, labels, 2 / 255))  # 1 level
    self.assertGreater(float(tf.reduce_max(tf.abs(adv_combined - adv_blur))), 0.0)
    history = combined.fit(tiny_dataset(), epochs=1, verbose=0).history
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))

  def test_separate_generator_optimizers(self):
    model = GeneratorBATModel(tiny_detector(), generator_kwargs=GENERATOR_KWARGS)
    template = RAdam(1e-3, weight_decay=1e-4)
    model.compile(optimizer=RAdam(5e-4), generator_optimizer=template)
    first, second = model.generator_optimizers
    self.assertIsNot(first, second)
    self.assertIsNot(first, template)
    self.assertEqual(first.get_config()["weight_decay"], 1e-4)

  def test_mixed_float16_wraps_every_optimizer(self):
    keras.config.set_dtype_policy("mixed_float16")
    model = GeneratorBATModel(tiny_detector(), generator_kwargs=GENERATOR_KWARGS)
    model.compile()
    for optimizer in [model.optimizer] + model.generator_optimizers:
      self.assertIsInstance(optimizer, keras.optimizers.LossScaleOptimizer)

  @pytest.mark.slow
  @pytest.mark.ci
  def test_save_load_round_trip(self):
    model = _model()
    model.fit(tiny_dataset(), epochs=1, verbose=0)
    path = os.path.join(self.get_temp_dir(), "gen_bat.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    without_detector = lambda c: {k: v for k, v in c.items() if k != "detector"}
    self.assertEqual(without_detector(loaded.get_config()), without_detector(model.get_config()))
    images, labels = tiny_arrays()
    self.assertAllClose(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    for a, b in zip(loaded.generators, model.generators):
      self.assertAllClose(a.get_weights(), b.get_weights())
    self.assertEqual([int(o.iterations) for o in loaded.generator_optimizers],
                     [int(o.iterations) for o in model.generator_optimizers])
    self.assertAllClose(loaded.adversarial_examples(images, labels)[0],
                        model.adversarial_examples(images, labels)[0])
    self.assertTrue(np.isfinite(loaded.fit(tiny_dataset(), verbose=0).history["loss"][0]))

  @pytest.mark.slow
  @pytest.mark.ci
  def test_mixed_bfloat16_fit_step(self):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = _model()
    history = model.fit(tiny_dataset(), epochs=1, verbose=0).history
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))

  @pytest.mark.slow
  @pytest.mark.ci
  def test_mixed_float16_fit_step_without_fake_rows(self):
    keras.config.set_dtype_policy("mixed_float16")
    model = _model(combined_eps_levels=0.5, routing="masks")
    g_fake_before = snapshot(model.generators[1].weights)
    history = model.fit(tiny_dataset(labels=0), epochs=1, verbose=0).history
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
    self.assertFalse(changed(g_fake_before, model.generators[1].weights))
    # G_f's gradient stayed finite (no skipped step halving its loss scale).
    self.assertEqual(float(model.generator_optimizers[1].dynamic_scale),
                     float(model.generator_optimizers[0].dynamic_scale))

  @pytest.mark.slow
  @pytest.mark.ci
  def test_mirrored_strategy_fit_step(self):
    strategy = mirrored_strategy()
    with strategy.scope():
      masks = _model(routing="masks")
      halves = _model()
    g_fake_before = snapshot(masks.generators[1].weights)
    history = masks.fit(tiny_dataset(labels=0), epochs=1, verbose=0).history
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
    self.assertFalse(changed(g_fake_before, masks.generators[1].weights))
    # Each replica's 4 rows of an alternating batch of 8 alternate: 2 real, 2 fake.
    before = [snapshot(g.trainable_weights) for g in halves.generators]
    history = halves.fit(tiny_dataset(16), epochs=1, verbose=0).history
    self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
    for weights, g in zip(before, halves.generators):
      self.assertTrue(changed(weights, g.trainable_weights), g.name)

  @pytest.mark.slow
  def test_xla_fit_step(self):
    # What compile(jit_compile="auto") picks on a GPU: the whole train_step under XLA.
    for routing, dataset in (("masks", tiny_dataset(labels=0)), ("halves", tiny_dataset())):
      model = GeneratorBATModel(tiny_detector(), g_steps=1, kernel_size=5,
                                combined_eps_levels=0.5, generator_kwargs=GENERATOR_KWARGS,
                                routing=routing)
      model.compile(jit_compile=True)
      g_fake_before = snapshot(model.generators[1].weights)
      history = model.fit(dataset, epochs=1, verbose=0).history
      self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
      self.assertEqual(changed(g_fake_before, model.generators[1].weights),
                       routing == "halves")

  def test_invalid_arguments(self):
    with self.assertRaisesRegex(ValueError, "computes its own loss"):
      GeneratorBATModel(tiny_detector(), generator_kwargs=GENERATOR_KWARGS).compile(
          loss="mse")
    with self.assertRaisesRegex(ValueError, r"generators must be one of \(1, 2\)"):
      GeneratorBATModel(tiny_detector(), generators=3)
    with self.assertRaisesRegex(ValueError, "g_steps"):
      GeneratorBATModel(tiny_detector(), g_steps=0)
    with self.assertRaisesRegex(ValueError, "combined_eps_levels must be >= 0"):
      GeneratorBATModel(tiny_detector(), combined_eps_levels=-1.0)
    with self.assertRaisesRegex(ValueError, "set the same thing: keep combined_eps_levels"):
      GeneratorBATModel(tiny_detector(), combined_eps_levels=1.0, combined_fgsm_eps=0.1)

  def test_the_old_combined_eps_in_image_units_still_loads(self):
    # A .keras file of the earlier release stores combined_fgsm_eps in [-1, 1] units.
    config = _model(combined_eps_levels=0.5).get_config()
    config["combined_fgsm_eps"] = 2 / 255
    del config["combined_eps_levels"]
    with self.assertLogs(level="WARNING") as logs:
      model = GeneratorBATModel.from_config(config)
    self.assertAlmostEqual(model.combined_eps_levels, 1.0)
    self.assertIn("combined_fgsm_eps is deprecated", logs.output[0])
    with self.assertRaisesRegex(ValueError, "routing must be one of"):
      GeneratorBATModel(tiny_detector(), routing="gather")


if __name__ == "__main__":
  tf.test.main()
