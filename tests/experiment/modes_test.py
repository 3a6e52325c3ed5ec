"""Tests for dfadv_tf.experiment.modes: the mode factory."""

import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
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


if __name__ == "__main__":
  tf.test.main()
