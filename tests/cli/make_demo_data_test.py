"""Tests for tools/make_demo_data.py: writes the benchmark where the flags say."""

import os
import subprocess
import sys

import tensorflow as tf

from dfadv_tf.data import records
from dfadv_tf.data import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class MakeDemoDataToolTest(tf.test.TestCase):

  def test_writes_small_dataset(self):
    out = os.path.join(self.get_temp_dir(), "demo")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "make_demo_data.py"), f"--data_root={out}",
         "--dataset=tiny", "--identities=10", "--frames=1", "--image_size=32"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn("150 records in 45 shards", result.stdout)
    index = records.read_index(out, "tiny")
    self.assertEqual(sorted(index["counts"]["method"]), sorted(synthetic.METHODS))
    self.assertEqual(sorted(index["counts"]["quality"]), sorted(synthetic.QUALITIES))


if __name__ == "__main__":
  tf.test.main()
