"""Tests for dfadv_tf.experiment.modes: the mode factory."""

import dataclasses

import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf.experiment import checkpoints
from dfadv_tf.experiment import modes
from dfadv_tf.training import GeneratorBATModel
from tests.testing import tools as utils


class ModesTest(utils.ExperimentTestCase):

  def test_every_mode_builds_and_steps(self):
    x = tf.random.uniform((4, 32, 32, 3), -1, 1)
    y = tf.constant([0, 1, 0, 1])
    for mode in experiment.MODES:
      model = experiment.build_training_model(self.config(mode=mode), steps=2)
      history = model.fit(x, y, batch_size=4, epochs=1, verbose=0,
                          shuffle=False)  # rows alternate, as the halves routing needs
      self.assertTrue(np.isfinite(history.history["loss"][0]), mode)

  def test_optimizers_decay_as_the_reference_and_generators_clamp(self):
    model = experiment.build_training_model(self.config(mode="two_gen_bat"), steps=2)
    for optimizer in [model.optimizer, *model.generator_optimizers]:
      config = optimizer.get_config()
      self.assertTrue(config["decoupled_weight_decay"], optimizer.name)
      self.assertEqual(config["weight_decay"], 5e-4)
    self.assertEqual([(g.min_inv_var, g.max_inv_var) for g in model.generators],
                     [(1.0, 1e12)] * 2)
    model = experiment.build_training_model(
        self.config(mode="gen_bat", decoupled_weight_decay=False,
                    generator_max_sigma=10.0, generator_min_sigma=1e-3), steps=2)
    self.assertFalse(model.optimizer.get_config()["decoupled_weight_decay"])
    self.assertFalse(model.generator_optimizers[0].get_config()["decoupled_weight_decay"])
    self.assertEqual((model.generators[0].min_inv_var, model.generators[0].max_inv_var),
                     (0.01, 1e6))
    with self.assertRaisesRegex(ValueError, "generator_min_sigma and generator_max_sigma "
                                "must satisfy 0 < min < max"):
      self.config(generator_min_sigma=2.0, generator_max_sigma=1.0)


class ModeRegistryTest(tf.test.TestCase):

  def test_every_mode_is_registered_once_with_what_the_experiment_needs(self):
    self.assertEqual(modes.names()[0], modes.BASELINE)
    self.assertEqual(tuple(experiment.MODES), modes.names())
    for mode in modes.MODES.values():
      self.assertIn(mode.balance, modes.BALANCES, mode.name)
      self.assertEqual(mode.table_name.startswith("+ "), mode.adversarial, mode.name)
      self.assertEqual(experiment.PAPER_NAMES[mode.name], mode.table_name)
      fields = {f.name for f in dataclasses.fields(experiment.ExperimentConfig)}
      self.assertLessEqual(set(mode.flags), fields, mode.name)
    self.assertEqual(modes.get("two_gen_bat").display_name, "Two-Gen-BAT")
    self.assertEqual(modes.get("two_gen_bat").balance, "halves")
    self.assertEqual(sum(m.in_paper for m in modes.MODES.values()), 7)

  def test_the_old_name_of_the_baseline_still_works_with_a_warning(self):
    with self.assertLogs(level="WARNING") as logs:
      config = experiment.ExperimentConfig(mode="plain")
    self.assertEqual(config.mode, "baseline")
    self.assertLen(logs.output, 1)
    self.assertIn("'plain' is now called 'baseline'", logs.output[0])
    self.assertNotIn("plain", modes.names())
    with self.assertLogs(level="WARNING"):
      self.assertEqual(experiment.ExperimentConfig(mode="combined").mode, "combined_at")
    with self.assertLogs(level="WARNING"):  # a run folder of the old name resumes
      self.assertEqual(checkpoints.config_differences(
          {"mode": "combined"}, experiment.ExperimentConfig(mode="combined_at")), {})
    # A run folder whose config.json has eps in [-1, 1] units resumes; another eps not.
    config = experiment.ExperimentConfig(mode="grad_aat", fgsm_eps_levels=16.0)
    self.assertEqual(checkpoints.config_differences(
        {"mode": "grad_aat", "fgsm_eps": 32 / 255}, config), {})
    self.assertEqual(list(checkpoints.config_differences(
        {"mode": "grad_aat", "fgsm_eps": 1 / 255}, config)), ["fgsm_eps_levels"])

  def test_a_mode_registers_once_and_unknown_names_list_the_choices(self):
    with self.assertRaisesRegex(ValueError, "training mode 'gen_bat' is registered twice"):
      modes.register(modes.Mode("gen_bat", "X", GeneratorBATModel))
    with self.assertRaisesRegex(ValueError, "balance must be one of"):
      modes.register(modes.Mode("x", "X", GeneratorBATModel, balance="thirds"))
    with self.assertRaisesRegex(ValueError, r"unknown training mode 'two_gen'; expected "
                                "one of .*'two_gen_bat'"):
      modes.get("two_gen")
    self.assertNotIn("x", modes.MODES)


if __name__ == "__main__":
  tf.test.main()
