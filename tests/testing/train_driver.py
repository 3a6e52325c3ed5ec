"""Runs `tools/train.py` in a subprocess with the CPU split into logical devices.

  LOGICAL_CPUS=2 python -m tests.testing.train_driver --strategy=mirrored <train flags>

With LOGICAL_CPUS=N the process sees N CPU devices, so `--strategy=mirrored` has N
replicas on a CPU-only machine: a one-worker run with the per-replica batches of an
N-worker run (tests/distributed_test.py compares the two).
"""

import os

import tensorflow as tf

from dfadv_tf.cli import train


def main():
  count = int(os.environ.get("LOGICAL_CPUS", "1"))
  if count < 1:
    raise ValueError(f"LOGICAL_CPUS must be >= 1, got {count}")
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * count)
  train.run()


if __name__ == "__main__":
  main()
