"""Tests of dfadv_tf.training.gradient_at.GradientATModel (Grad-AAT / BAT / SAT)."""

import os

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.attacks.additive import fgsm
from dfadv_tf.attacks.blur import blur_attack
from dfadv_tf.training.gradient_at import GradientATModel
from tests.testing.data import tiny_arrays
from tests.testing.data import tiny_dataset
from tests.testing.layers import run_layer_test
from tests.testing.models import tiny_detector
from tests.testing.training import changed
from tests.testing.training import mirrored_strategy
from tests.testing.training import snapshot

ATTACK_KWARGS = {
    "fgsm": {"eps_levels": 0.5},
    "pgd": {"eps_levels": 2.0, "step_levels": 0.5, "steps": 2, "random_start": True},
    "bat": {"eps": 10.0, "steps": 1, "kernel_size": 5},
    "sat": {"tau": 0.05, "steps": 1, "step_size": 0.1},
}


class GradientATModelTest(tf.test.TestCase):

  def tearDown(self):
    keras.config.set_dtype_policy("float32")
    super().tearDown()

  def test_layer(self):
    # Grad-AAT (fgsm), PGD, Grad-BAT and Grad-SAT.
    for attack, kwargs in ATTACK_KWARGS.items():
      with self.subTest(attack=attack):
        run_layer_test(self, GradientATModel,
                       lambda attack=attack, kwargs=kwargs: {
                           "detector": tiny_detector(), "attack": attack,
                           "attack_kwargs": kwargs},
                       tiny_arrays(2)[0], expected_output_shape=(2, 2),
                       output_dtype="float32")

  def test_every_attack_trains(self):
    for attack, kwargs in ATTACK_KWARGS.items():
      with self.subTest(attack=attack):
        model = GradientATModel(tiny_detector(), attack, kwargs, seed=1)
        model.compile()
        before = snapshot(model.detector.trainable_weights)
        history = model.fit(tiny_dataset(), epochs=1, verbose=0).history
        self.assertEqual(set(history),
                         {"loss", "clean_loss", "adv_loss", "accuracy", "auc"})
        self.assertTrue(all(np.isfinite(v[0]) for v in history.values()))
        self.assertTrue(changed(before, model.detector.trainable_weights))
        adv, inv_var = model.adversarial_examples(*tiny_arrays(4))
        self.assertEqual(adv.shape, (4, 32, 32, 3))
        if attack == "bat":
          self.assertEqual(inv_var.shape, (4, 32, 32, 3))
        else:
          self.assertIsNone(inv_var)

  def test_concat_objective_weights_adversarial_rows(self):
    model = GradientATModel(tiny_detector(), "fgsm", ATTACK_KWARGS["fgsm"], adv_weight=0.5)
    model.compile()
    logs = model.fit(tiny_dataset(), epochs=1, verbose=0).history
    self.assertAllClose(logs["loss"][0], (logs["clean_loss"][0] + 0.5 * logs["adv_loss"][0]) / 2)

  def test_adversarial_rows_are_the_attack(self):
    model = GradientATModel(tiny_detector(), "fgsm", ATTACK_KWARGS["fgsm"])
    images, labels = tiny_arrays(4)
    adv, _ = model.adversarial_examples(images, labels)
    self.assertAllClose(adv, fgsm(model.detector, images, labels, 1 / 255))

  def test_grad_bat_steps_on_each_class_half(self):
    # The reduction itself is held to the reference's per-half step in
    # tests/attacks/blur_test.py; here: training's Grad-BAT takes that step.
    detector = tiny_detector(batch_norm=False)
    kwargs = {"eps": 1e3, "kernel_size": 3, "renormalize": False}
    model = GradientATModel(detector, "bat", kwargs)
    images, labels = tiny_arrays(8)
    _, inv_var = model.adversarial_examples(images, labels)
    _, halves = blur_attack(detector, images, labels, loss_reduction="class_mean", **kwargs)
    _, batch_mean = blur_attack(detector, images, labels, loss_reduction="mean", **kwargs)
    self.assertAllClose(inv_var, halves)
    self.assertGreater(np.abs(inv_var - batch_mean).max(), 1e-3)
    self.assertEqual(model.get_config()["loss_reduction"], "class_mean")

  def test_replace_objective_and_dicts(self):
    model = GradientATModel(tiny_detector(), "fgsm", ATTACK_KWARGS["fgsm"],
                            objective="replace")
    model.compile()
    history = model.fit(tiny_dataset(dicts=True), epochs=1, verbose=0).history
    self.assertEqual(set(history), {"loss", "accuracy", "auc"})
    self.assertEqual(model.predict(tiny_dataset(dicts=True), verbose=0).shape, (8, 2))
    results = model.evaluate(tiny_dataset(), verbose=0, return_dict=True)
    self.assertEqual(set(results), {"loss", "accuracy", "auc"})

  def test_save_load_round_trip(self):
    model = GradientATModel(tiny_detector(), "pgd", ATTACK_KWARGS["pgd"], seed=3)
    model.compile()
    model.fit(tiny_dataset(), epochs=1, verbose=0)
    path = os.path.join(self.get_temp_dir(), "grad_at.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    self.assertEqual(loaded.get_config()["attack_kwargs"], ATTACK_KWARGS["pgd"])
    images = tiny_arrays()[0]
    self.assertAllClose(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    self.assertTrue(np.isfinite(loaded.fit(tiny_dataset(), verbose=0).history["loss"][0]))

  def test_mixed_bfloat16_fit_step(self):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = GradientATModel(tiny_detector(), "fgsm", ATTACK_KWARGS["fgsm"])
    model.compile()
    self.assertTrue(np.isfinite(model.fit(tiny_dataset(), verbose=0).history["loss"][0]))

  def test_mirrored_strategy_fit_step(self):
    strategy = mirrored_strategy()
    with strategy.scope():
      model = GradientATModel(tiny_detector(), "fgsm", ATTACK_KWARGS["fgsm"])
      model.compile()
    self.assertTrue(np.isfinite(model.fit(tiny_dataset(), verbose=0).history["loss"][0]))

  def test_invalid_arguments(self):
    with self.assertRaisesRegex(ValueError, "unknown adversary 'jpeg'; expected one of"):
      GradientATModel(tiny_detector(), "jpeg")
    with self.assertRaisesRegex(ValueError, "objective"):
      GradientATModel(tiny_detector(), "fgsm", objective="sum")
    with self.assertRaisesRegex(ValueError, r"\['epsilon'\] are not parameters of adversary "
                                "'fgsm'; expected some of \\['eps_levels'\\]"):
      GradientATModel(tiny_detector(), "fgsm", {"epsilon": 0.1})
    with self.assertRaisesRegex(ValueError, "bat param must be one of"):
      GradientATModel(tiny_detector(), "bat", {"param": "variance"})
    with self.assertRaisesRegex(ValueError, "loss_reduction must be one of"):
      GradientATModel(tiny_detector(), "bat", loss_reduction="max")


if __name__ == "__main__":
  tf.test.main()
