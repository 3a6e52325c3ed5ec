"""Tests for dfadv_tf/cli/launch.py: --help without TensorFlow, each binary's own flags,
the stored help current, TensorFlow's start-up log lines dropped."""

import os
import sys

import pytest
import tensorflow as tf

from dfadv_tf.cli import launch
from tests.testing import tools as utils

# Flags only training uses: dfadv-evaluate accepts them (a training flag file) but its
# --help does not list them.
TRAINING_ONLY = ("--mode", "--epochs", "--learning_rate", "--g_steps", "--generator_width",
                 "--augment", "--bat_eps", "--fgsm_eps", "--strategy")


def _help(name, *args):
  return utils.run_python(["-c", "import sys; from dfadv_tf.cli import launch; "
                           f"sys.argv = ['{launch.program(name)}', *sys.argv[1:]]\n"
                           f"try:\n  launch.{name}()\nfinally:\n"
                           "  print('tensorflow' in sys.modules, 'keras' in sys.modules, "
                           "file=sys.stderr)", *args], check=False)


class LaunchTest(tf.test.TestCase):

  def test_help_exits_0_without_tensorflow(self):
    for name in launch.BINARIES:
      for flag in ("--help", "--helpfull"):
        with self.subTest(binary=name, flag=flag):
          result = _help(name, flag)
          self.assertEqual(result.returncode, 0, result.stderr)
          self.assertEqual(result.stderr.strip(), "False False")  # nothing imported
          self.assertIn("--[no]traceback", result.stdout)
          self.assertNotRegex(result.stdout, r"(?m)^[IWEF]\d{4} ")  # no log lines

  def test_evaluate_lists_only_its_own_flags(self):
    short = _help("evaluate", "--help").stdout
    full = _help("evaluate", "--helpfull").stdout
    for flag in ("--detectors", "--data_root", "--test_methods", "--image_size"):
      self.assertIn(flag + ":", short)
    for flag in TRAINING_ONLY:
      self.assertNotIn(flag + ":", short)
      self.assertIn(flag + ":", full)  # accepted, listed by --helpfull
    robustness = _help("robustness", "--help").stdout
    self.assertIn("--bat_eps:", robustness)  # the white-box corruptions' parameters
    self.assertNotIn("--epochs:", robustness)

  def test_make_demo_data_help_names_defined_flags(self):
    text = _help("make_demo_data", "--help").stdout
    self.assertNotIn("--root", text)
    self.assertIn("--data_root", text)

  def test_help_request(self):
    self.assertEqual(launch.help_request(["--x=1", "--help"]), "short")
    self.assertEqual(launch.help_request(["--helpfull"]), "full")
    self.assertIsNone(launch.help_request(["--x", "--", "--help"]))
    self.assertIsNone(launch.help_request(["--helpxml"]))

  def test_quiet_import_drops_start_up_log_lines_only(self):
    folder = self.get_temp_dir()
    with open(os.path.join(folder, "noisy_module.py"), "w", encoding="utf-8") as f:
      f.write("import os\n"
              "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is "
              "called are written to STDERR\\n')\n"
              "os.write(2, b'I0000 00:00:1796510752.678914   14866 cudart_stub.cc:31] no "
              "cuda\\n')\n"
              "os.write(2, b'W0000 00:00:1796510752.67 1 port.cc:153] onednn\\n')\n"
              "os.write(2, b'E0000 00:00:1796510752.67 1 x.cc:1] a real error\\n')\n"
              "os.write(2, b'a line of the module\\n')\n")
    command = ["-c", "from dfadv_tf import startup\nwith startup.start_up_log_dropped():\n"
               "  import noisy_module"]
    path = os.pathsep.join([utils.ROOT, folder])
    result = utils.run_python(command, pythonpath=path)  # TF_CPP_MIN_LOG_LEVEL=2
    self.assertEqual(result.stderr.splitlines(), [
        "E0000 00:00:1796510752.67 1 x.cc:1] a real error", "a line of the module"])
    loud = utils.run_python(["-c", "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'\n"
                             + command[1]], pythonpath=path)
    self.assertLen(loud.stderr.splitlines(), 5)  # --tf_log: everything

  @pytest.mark.slow
  @pytest.mark.ci
  def test_stored_help_is_current(self):
    result = utils.run_python([os.path.join("tools", "update_help.py"), "--check"],
                              check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    # The binary run directly (TensorFlow imported) renders the same help, exit 0.
    direct = utils.run_binary("dfadv_tf.cli.export", ["--help"], check=False)
    self.assertEqual(direct.returncode, 0, direct.stderr[-2000:])
    with open(launch.help_path("export"), encoding="utf-8") as f:
      self.assertEqual(direct.stdout.replace("\nexport.py:\n", "\ndfadv-export:\n"),
                       f.read())


if __name__ == "__main__":
  tf.test.main()
