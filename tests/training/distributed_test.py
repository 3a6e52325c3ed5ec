"""Multi-worker training: 2 worker processes on 127.0.0.1 with MultiWorkerMirroredStrategy
on CPU train Two-Gen-BAT and end with the weights of a one-worker run of the same global
batch.

The one-worker run is `--strategy=mirrored` over 2 logical CPUs: the detector's and the
generators' BatchNorm layers normalise with per-replica statistics, so a run is compared
with one of the same replica count (2 replicas of 4 rows each for a global batch of 8);
a 1-replica run normalises over 8 rows and differs by more than round-off. The trainable
weights are equal on every worker; the BatchNorm moving statistics are kept per replica
(Keras), so each worker's file holds its own replica's and the chief's (replica 0's) are
those of the one-worker run. Every process is a subprocess: no strategy is created in the
pytest process.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf import serving  # pylint: disable=unused-import (registers the classes)
from tests.testing import tools as utils

TIMEOUT_S = 240
TRAIN_FLAGS = [*utils.TINY_FLAGS, f"--dataset={utils.DATASET}", "--mode=two_gen_bat",
               "--deterministic", "--seed=3", "--steps_per_epoch=3",
               "--train_methods=FaceSwap", "--test_methods=FaceSwap", "--test_qualities=c23"]


def free_ports(count):
  """`count` distinct free TCP ports on 127.0.0.1 (bound to port 0, then released)."""
  sockets = [socket.socket() for _ in range(count)]
  try:
    for s in sockets:
      s.bind(("127.0.0.1", 0))
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def start(args, env_extra):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=utils.ROOT, **env_extra)
  env.pop("TF_CONFIG", None)
  env.update(env_extra)
  return subprocess.Popen([sys.executable, "-m", *args], cwd=utils.ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process, name):
  try:
    output, _ = process.communicate(timeout=TIMEOUT_S)
  except subprocess.TimeoutExpired:
    process.kill()
    output, _ = process.communicate()
    raise AssertionError(f"{name} did not finish in {TIMEOUT_S} s:\n{output[-4000:]}")
  if process.returncode != 0:
    raise AssertionError(f"{name} exited {process.returncode}:\n{output[-6000:]}")


@pytest.mark.slow
@pytest.mark.ci
class MultiWorkerTest(tf.test.TestCase):

  def test_two_workers_match_one_worker_with_the_same_global_batch(self):
    tmp = tempfile.mkdtemp(prefix="distributed-")
    data_root = utils.make_tiny_benchmark(os.path.join(tmp, "data"))
    flags = [*TRAIN_FLAGS, f"--data_root={data_root}"]
    cluster = [f"127.0.0.1:{port}" for port in free_ports(2)]
    workers = [
        start(["tools.train", "--strategy=multi_worker",
               f"--output_dir={tmp}/multi", *flags],
              {"TF_CONFIG": json.dumps({"cluster": {"worker": cluster},
                                        "task": {"type": "worker", "index": index}})})
        for index in range(2)]
    single = start(["tests.testing.train_driver", "--strategy=mirrored",
                    f"--output_dir={tmp}/single", *flags], {"LOGICAL_CPUS": "2"})
    try:
      for index, process in enumerate(workers):
        finish(process, f"worker {index}")
      finish(single, "one-worker run")
    finally:
      for process in [*workers, single]:
        if process.poll() is None:
          process.kill()
          process.wait()
    checkpoint = os.path.join("checkpoints", "epoch_001.keras")
    chief = keras.saving.load_model(os.path.join(tmp, "multi", checkpoint))
    other = keras.saving.load_model(
        os.path.join(tmp, "multi", "workers", "worker_1", checkpoint))
    one = keras.saving.load_model(os.path.join(tmp, "single", checkpoint))
    self.assertLen(chief.trainable_weights, len(other.trainable_weights))
    for a, b in zip(chief.trainable_weights, other.trainable_weights):
      self.assertAllEqual(a, b, msg=a.path)
    self.assertLen(chief.weights, len(one.weights))
    for a, b in zip(chief.weights, one.weights):
      self.assertAllClose(a, b, rtol=1e-5, atol=1e-6, msg=a.path)
    self.assertTrue(os.path.exists(os.path.join(tmp, "multi", "best_detector.keras")))

if __name__ == "__main__":
  tf.test.main()
