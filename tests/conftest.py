"""pytest set-up shared by every test file.

Splits the CPU into two logical devices before TensorFlow initialises, so that
`tf.distribute.MirroredStrategy` tests can run on a CPU-only machine, and keeps the
logs quiet. Marks: `slow` (skipped by default, see pytest.ini) and `ci` (slow, but run by
`make test`).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # pylint: disable=g-import-not-at-top

_cpus = tf.config.list_physical_devices("CPU")
if _cpus:
  try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
  except RuntimeError:  # devices already initialised by an earlier import
    pass
