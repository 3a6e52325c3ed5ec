"""Tests for tools/export.py: the SavedModel reloads with the same scores."""

import os

import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from tests.testing import tools as utils


class ExportToolTest(tf.test.TestCase):

  def test_export_and_reload(self):
    tmp = self.get_temp_dir()
    detector = utils.save_tiny_detector(os.path.join(tmp, "d.keras"))
    utils.run_binary("tools.export", [f"--detector={tmp}/d.keras",
                                      f"--export_dir={tmp}/saved",
                                      f"--keras_path={tmp}/copy.keras"])
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    served = tf.saved_model.load(f"{tmp}/saved").signatures["serving_default"]
    self.assertAllClose(served(images=tf.constant(images))["fake_probability"],
                        serving.fake_probability(detector, serving.preprocess(images, (32, 32))),
                        atol=1e-5)
    self.assertTrue(os.path.exists(f"{tmp}/copy.keras"))
    again = utils.run_binary("tools.export", [f"--detector={tmp}/d.keras",
                                              f"--export_dir={tmp}/saved"], check=False)
    self.assertNotEqual(again.returncode, 0)
    self.assertIn("--overwrite", again.stderr)


if __name__ == "__main__":
  tf.test.main()
