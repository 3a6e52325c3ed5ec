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
             ({"fgsm_eps_levels": -1.0}, "fgsm_eps_levels must be >= 0"),
             ({"bat_param": "variance"}, "bat_param must be one of"),
             ({"pgd_steps": 0}, "pgd_steps must be an integer >= 1"),
             ({"mixed_precision": "float16"}, "mixed_precision must be one of"),
             ({"balance": "random"}, "balance must be one of"),
             ({"generator_max_sigma": "low"}, "generator_max_sigma must be a number > 0 "
              r"\(px\) or 'auto'")]
    for overrides, message in cases:
      with self.assertRaisesRegex(ValueError, message):
        self.config(**overrides)

  def test_auto_clamp_floor_scales_with_the_image_size_and_says_so(self):
    for size, sigma in ((256, 1.0), (128, 0.5), (64, 0.25)):
      with self.assertLogs(level="WARNING") as logs:
        config = self.config(image_size=size, generator_max_sigma="auto")
      self.assertEqual(config.generator_max_sigma, sigma)
      self.assertLen(logs.output, 1)
      self.assertIn(f"generator_max_sigma=auto: {sigma:g} px = image_size {size} / 256",
                    logs.output[0])
    self.assertEqual(self.config(generator_max_sigma="10").generator_max_sigma, 10.0)
    self.assertEqual(self.config().generator_max_sigma, 1.0)  # the paper's default


if __name__ == "__main__":
  tf.test.main()
