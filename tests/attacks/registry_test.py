"""Tests for dfadv_tf.attacks.registry: one name, signature and return shape per adversary."""

import numpy as np
import tensorflow as tf

from dfadv_tf import attacks
from dfadv_tf.attacks import registry
from tests.testing.attacks import toy_batch, untrained_detector


class RegistryTest(tf.test.TestCase):

  def test_every_adversary_has_one_signature_and_return_shape(self):
    self.assertEqual(sorted(attacks.ADVERSARIES), ["bat", "fgsm", "pgd", "sat"])
    model = untrained_detector(seed=1)
    images, labels = toy_batch(4)
    for name, adversary in attacks.ADVERSARIES.items():
      with self.subTest(adversary=name):
        out = adversary.attack(model, images, labels, seed=0, **adversary.defaults())
        self.assertIsInstance(out, registry.Adversarial)
        self.assertEqual(out.images.shape, images.shape)
        self.assertEqual(out.inv_var is not None, name == "bat")
        self.assertEqual(out.flow is not None, name == "sat")
        self.assertTrue(adversary.mode.startswith("grad_"))
        self.assertTrue(all(p.help for p in adversary.params))
        self.assertIs(registry.by_mode(adversary.mode), adversary)
    self.assertEqual(attacks.get("bat").flags["kernel_size"], "kernel_size")
    self.assertEqual(attacks.get("bat").flags["bat_eps"], "eps")

  def test_crafted_examples_do_not_depend_on_the_batch(self):
    model = untrained_detector(seed=1)
    images, labels = toy_batch(8, seed=5)
    crafts = registry.crafters(sorted(attacks.ADVERSARIES),
                               {"bat_eps": 1e3, "kernel_size": 3,
                                "sat_tau": 0.0})  # untrained: smoothness would win
    for name, _, craft in crafts:
      with self.subTest(adversary=name):
        together = craft(model, images, labels).numpy()
        alone = np.concatenate([craft(model, images[i:i + 1], labels[i:i + 1]).numpy()
                                for i in range(8)])
        self.assertGreater(np.abs(together - images).max(), 1e-4)
        self.assertAllClose(together, alone, atol=1e-5, rtol=0)

  def test_registry_is_read_only_and_refuses_clashes(self):
    with self.assertRaises(TypeError):
      attacks.ADVERSARIES["x"] = None  # pytype: disable=unsupported-operands
    with self.assertRaisesRegex(ValueError, "'fgsm' is registered twice"):
      registry.register("fgsm", mode="grad_x", paper_name="X")(lambda *a, **k: None)
    with self.assertRaisesRegex(ValueError, "mode 'grad_aat' already belongs"):
      registry.register("x", mode="grad_aat", paper_name="X")(lambda *a, **k: None)
    with self.assertRaisesRegex(ValueError, "flag 'kernel_size' is shared"):
      registry.register("y", mode="grad_y", paper_name="Y", params=(
          registry.Param("kernel_size", 3, "k", flag="kernel_size"),))(lambda *a, **k: None)
    self.assertNotIn("y", attacks.ADVERSARIES)
    with self.assertRaisesRegex(ValueError, r"unknown adversary 'cw'; expected one of"):
      attacks.get("cw")

  def test_params_from_a_config_or_flags(self):
    bat = attacks.get("bat")
    params = bat.params_from({"bat_eps": 0.5, "kernel_size": 5})
    self.assertEqual((params["eps"], params["kernel_size"], params["steps"]), (0.5, 5, 1))
    with self.assertRaisesRegex(ValueError, r"\['radius'\] are not parameters of adversary"):
      bat.check_params({"radius": 1})

  def test_crafters_sweep(self):
    crafts = registry.crafters(["fgsm", "pgd", "bat"], {"fgsm_eps_levels": 12.75},
                               ["pgd_steps", "bat_steps"], ["1", "2"])
    self.assertEqual([(n, v) for n, v, _ in crafts],
                     [("fgsm", ""), ("pgd", "1"), ("pgd", "2"), ("bat", "1"), ("bat", "2")])
    model = untrained_detector(seed=1)
    images, labels = toy_batch(4)
    adv = crafts[0][2](model, images, labels)
    self.assertAllClose(np.abs(adv - images).max(), 0.1, atol=1e-6)
    with self.assertRaisesRegex(ValueError, r"--sweep: \['bat_radius'\] are no parameters"):
      registry.crafters(["bat"], {}, ["bat_radius"], ["1"])
    with self.assertRaisesRegex(ValueError, "needs --sweep_values"):
      registry.crafters(["pgd"], {}, ["pgd_steps"], [])

  def test_every_eps_in_grey_levels_and_the_old_image_units_convert(self):
    pgd = attacks.get("pgd")
    self.assertEqual(pgd.defaults()["eps_levels"], 0.5)  # the reference's 1/255 in [-1, 1]
    with self.assertLogs(level="WARNING") as logs:  # attack_kwargs of an earlier release
      params = pgd.check_params({"eps": 4 / 255, "step_size": 1 / 255})
    self.assertAllClose([params["eps_levels"], params["step_levels"]], [2.0, 0.5])
    self.assertNotIn("eps", params)
    self.assertLen(logs.output, 2)
    with self.assertRaisesRegex(ValueError, "set the same thing: keep 'eps_levels'"):
      pgd.check_params({"eps": 0.1, "eps_levels": 1.0})
    model = untrained_detector(seed=1)
    images, labels = toy_batch(4)
    adv = pgd.attack(model, images, labels, **dict(pgd.defaults(), eps_levels=2.0,
                                                    step_levels=2.0, steps=1)).images
    self.assertAllClose(np.abs(adv - images).max(), 4 / 255, atol=1e-6)


if __name__ == "__main__":
  tf.test.main()
