"""Tests for dfadv_tf/cli/flags.py and the flag files under flags/: every file parses
and names only defined flags."""

import glob
import os
import subprocess
import sys

from absl import flags
import tensorflow as tf

from tests.testing import tools as utils
from dfadv_tf.cli import flags as common

FLAG_FILES = sorted(glob.glob(os.path.join(utils.ROOT, "flags", "**", "*.flags"),
                              recursive=True))


def _is_attack_file(path):
  """A dfadv-attack flag file: it names --models or includes the Table VII file."""
  with open(path, encoding="utf-8") as f:
    return any(line.startswith("--models=") or "table7_attack.flags" in line for line in f)


class FlagFilesTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.cwd = os.getcwd()
    os.chdir(utils.ROOT)  # nested --flagfile paths are relative to the repo root

  def tearDown(self):
    os.chdir(self.cwd)
    super().tearDown()

  def parse(self, path):
    values = flags.FlagValues()
    common.define_config_flags(values)
    values(["train", f"--flagfile={path}"])
    return values

  def test_training_flag_files_parse_into_configs(self):
    train_files = [f for f in FLAG_FILES if not _is_attack_file(f)]
    self.assertGreater(len(train_files), 60)
    for path in train_files:
      config = common.config_from_flags(flag_values=self.parse(path))  # validates all
      self.assertTrue(config.output_dir, path)

  def test_deprecated_flags_parse_warn_and_convert(self):
    values = flags.FlagValues()
    common.define_config_flags(values)
    values(["train", "--generator_min_inv_var=0.01", "--generator_max_inv_var=1e6"])
    with self.assertLogs(level="WARNING") as logs:
      config = common.config_from_flags(flag_values=values)
    self.assertAlmostEqual(config.generator_max_sigma, 10.0)
    self.assertAlmostEqual(config.generator_min_sigma, 1e-3)
    self.assertLen(logs.output, 2)
    self.assertIn("--generator_min_inv_var is deprecated and goes in the next release: use "
                  "--generator_max_sigma=10.", logs.output[0])
    values = flags.FlagValues()
    common.define_config_flags(values)
    values(["train", "--generator_min_inv_var=0", "--generator_min_sigma=0.5"])
    self.assertEqual(common.config_from_flags(flag_values=values).generator_max_sigma,
                     float("inf"))  # no floor: no bound on sigma
    values = flags.FlagValues()
    common.define_config_flags(values)
    values(["train", "--generator_min_inv_var=0.01", "--generator_max_sigma=3"])
    with self.assertRaisesRegex(ValueError, "set the same thing: keep --generator_max_sigma"):
      common.config_from_flags(flag_values=values)
    values = flags.FlagValues()  # eps given in [-1, 1] units: now in grey levels
    common.define_config_flags(values)
    values(["train", "--fgsm_eps=0.12549019607843137", "--pgd_step_size=0.0078431372549"])
    with self.assertLogs(level="WARNING") as logs:
      config = common.config_from_flags(flag_values=values)
    self.assertAlmostEqual(config.fgsm_eps_levels, 16.0)
    self.assertAlmostEqual(config.pgd_step_levels, 1.0)
    self.assertIn("use --fgsm_eps_levels=16", logs.output[0])

  def test_a_typo_in_a_flag_file_is_refused(self):
    path = os.path.join(self.get_temp_dir(), "typo.flags")
    with open(path, "w", encoding="utf-8") as f:
      f.write("--flagfile=flags/demo/common.flags\n--learning_rat=1e-3\n")
    with self.assertRaisesRegex(flags.UnrecognizedFlagError, "learning_rat"):
      self.parse(path)

  def test_paper_values(self):
    values = self.parse(os.path.join("flags", "table1_two_gen_bat.flags"))
    self.assertEqual(values.mode, "two_gen_bat")
    self.assertEqual((values.learning_rate, values.generator_learning_rate,
                      values.weight_decay, values.g_steps, values.kernel_size),
                     (5e-4, 2e-3, 5e-4, 3, 9))
    self.assertEqual(values.fgsm_eps_levels, 0.5)
    self.assertEqual(values.extra_test_datasets, ["dfd", "celebdf"])

  def test_paper_rows_draw_training_data_as_the_reference(self):
    paper = [f for f in FLAG_FILES if os.path.dirname(f) == os.path.join(utils.ROOT, "flags")
             and not _is_attack_file(f)]
    self.assertGreater(len(paper), 60)
    for path in paper:
      values = self.parse(path)
      self.assertEqual((values.train_frames_per_video, values.steps_per_epoch,
                        values.base_augment), (1, 2160, "none"), path)

  def test_app_d_low_floor_files_differ_from_their_rows_by_the_floor_only(self):
    for k in (3, 5, 7, 9):
      low = self.parse(os.path.join("flags", f"appd_two_gen_bat_k{k}_lowfloor.flags"))
      base = self.parse(os.path.join("flags", f"appd_two_gen_bat_k{k}.flags" if k != 9
                                     else "table1_two_gen_bat.flags"))
      self.assertEqual((low.kernel_size, low.generator_max_sigma), (k, 10.0))
      self.assertEqual(base.generator_max_sigma, 1.0)
      differ = {name for name in low if name != "flagfile"
                and low[name].value != base[name].value}
      self.assertEqual(differ, {"generator_max_sigma", "output_dir"}, k)

  def test_attack_flag_files_parse(self):
    attack_files = [f for f in FLAG_FILES if _is_attack_file(f)]
    self.assertLen(attack_files, 4)
    script = ("import sys\nfrom dfadv_tf.cli import attack\n"
              "for path in sys.argv[1:]:\n"
              "  attack.FLAGS(['attack', '--flagfile=' + path])\n"
              "  attack.FLAGS.unparse_flags()\n")
    result = subprocess.run([sys.executable, "-c", script, *attack_files], cwd=utils.ROOT,
                            capture_output=True, text=True, check=False,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])


if __name__ == "__main__":
  tf.test.main()
