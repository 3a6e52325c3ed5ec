"""Tests for dfadv_tf/cli/app.py: every binary's --help lists its own flags, and a user
error ends as one line naming the input."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from dfadv_tf.cli import app
from tests.testing import tools as utils

# binary -> a flag of its own that --help must list
OWN_FLAGS = {"train": "--mode", "evaluate": "--detectors", "attack": "--bat_eps",
             "detect": "--face_detector", "export": "--export_dir",
             "make_demo_data": "--identities", "preprocess": "--layout",
             "robustness": "--corruptions"}


class AppTest(tf.test.TestCase):

  def test_one_line(self):
    self.assertEqual(app.one_line(ValueError("a\n  b\n")), "a b")
    self.assertEqual(app.one_line(KeyError("missing key")), "missing key")
    self.assertEqual(app.one_line(tf.errors.NotFoundError(None, None, "no file x")),
                     "no file x")

  def test_help_lists_the_binarys_flags(self):
    scripts = os.path.dirname(sys.executable)
    for name, flag in OWN_FLAGS.items():
      with self.subTest(binary=name):
        script = os.path.join(scripts, "dfadv-" + name.replace("_", "-"))
        if os.path.exists(script):  # the installed console script (pip install -e .)
          result = subprocess.run([script, "--help"], capture_output=True, text=True,
                                  check=False, timeout=300, cwd=utils.ROOT,
                                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        else:
          result = utils.run_binary(f"tools.{name}", ["--help"], check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(flag, result.stdout)
        self.assertIn("--[no]traceback", result.stdout)
        self.assertNotIn("Entry point", result.stdout.split("flags:")[0])  # the binary's doc

  def test_user_error_is_one_line_and_traceback_on_request(self):
    args = ["--flagfile=flags/demo/common.flags", "--data_root=/no/such/root",
            "--output_dir=" + os.path.join(self.get_temp_dir(), "out")]
    result = utils.run_binary("tools.train", args, check=False)
    self.assertEqual(result.returncode, 1)
    last = result.stderr.strip().splitlines()[-1]
    self.assertRegex(last, r"^train.py: error: .*/no/such/root/ffpp_demo")
    self.assertNotIn("Traceback", result.stderr)
    verbose = utils.run_binary("tools.train", args + ["--traceback"], check=False)
    self.assertNotEqual(verbose.returncode, 0)
    self.assertIn("Traceback", verbose.stderr)


if __name__ == "__main__":
  tf.test.main()
