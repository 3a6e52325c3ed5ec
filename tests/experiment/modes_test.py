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
      history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
      self.assertTrue(np.isfinite(history.history["loss"][0]), mode)


if __name__ == "__main__":
  tf.test.main()
