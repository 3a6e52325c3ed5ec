"""Tests for dfadv_tf.experiment.config: ExperimentConfig and its checks."""

import numpy as np
import tensorflow as tf

from tests.testing import tools as utils


class ConfigTest(utils.ExperimentTestCase):

  def test_config_errors(self):
    cases = [({"mode": "gan"}, "mode must be one of"),
             ({"backbone": "resnet"}, "backbone must be one of"),
             ({"augment": "mixup"}, "augment must be one of"),
             ({"batch_size": 0}, "batch_size must be an integer >= 1"),
             ({"kernel_size": 4}, "kernel_size must be an odd integer"),
             ({"fgsm_eps": -1.0}, "fgsm_eps must be >= 0"),
             ({"bat_param": "variance"}, "bat_param must be one of"),
             ({"pgd_steps": 0}, "pgd_steps must be an integer >= 1"),
             ({"mixed_precision": "float16"}, "mixed_precision must be one of")]
    for overrides, message in cases:
      with self.assertRaisesRegex(ValueError, message):
        self.config(**overrides)


if __name__ == "__main__":
  tf.test.main()
