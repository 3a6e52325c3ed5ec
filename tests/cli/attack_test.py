"""Tests for dfadv_tf/cli/attack.py (dfadv-attack): blur as an attack (Sec. IV-C)."""

import csv
import os

import tensorflow as tf

from tests.testing import tools as utils
from tests.testing.attacks import AttackSetTestCase


class AttackBinaryTest(AttackSetTestCase):

  def run_attack(self, out, *args, check=True):
    return utils.run_binary("tools.attack", [
        "--flagfile=flags/table7_attack.flags", f"--models={','.join(self.model_paths)}",
        f"--images_dir={self.images_dir}", f"--labels_file={self.labels_file}",
        "--image_size=16", "--batch_size=24", f"--output_dir={out}", *args], check=check)

  def test_writes_the_matrix_and_white_box_is_strongest(self):
    out = os.path.join(self.root, "out")
    self.run_attack(out, "--attacks=fgsm,pgd,bat", "--bat_eps=40", "--sweep=bat_steps",
                    "--sweep_values=1,3", "--pgd_steps=3",
                    "--pgd_step_levels=5.33")
    with open(os.path.join(out, "attack_matrix.csv"), encoding="utf-8") as f:
      rows = list(csv.DictReader(f))
    names = self.NAMES
    accuracy = {(r["attack"], r["sweep_value"], r["source"], r["target"]):
                float(r["accuracy"]) for r in rows}
    self.assertLen(rows, 2 + 2 * 2 * 2 + 2 * 2 * 2)  # clean, fgsm + pgd, bat at 2 steps
    for target in names:
      self.assertGreater(accuracy[("clean", "", "-", target)], 0.8)
    for attack, value in (("fgsm", ""), ("pgd", ""), ("bat", "1"), ("bat", "3")):
      for target in names:  # Table VII: the white-box diagonal is the lowest
        other = names[1 - names.index(target)]
        self.assertLessEqual(accuracy[(attack, value, target, target)],
                             accuracy[(attack, value, other, target)], (attack, target))
    for attack in ("fgsm", "pgd"):
      for target in names:
        self.assertLess(accuracy[(attack, "", target, target)],
                        accuracy[("clean", "", "-", target)] - 0.3, (attack, target))
    self.assertLess(accuracy[("bat", "1", "checkerboard", "checkerboard")], 0.6)
    with open(os.path.join(out, "attack_matrix.md"), encoding="utf-8") as f:
      markdown = f.read()
    self.assertIn("| bat_steps | Source \\ Target | checkerboard FGSM |", markdown)
    self.assertEqual([n for n in os.listdir(out) if n.startswith(".tmp")], [])

  def test_user_errors_are_one_line(self):
    out = os.path.join(self.root, "bad")
    for args, message in (
        (["--attacks=fgsm,cw"], r"--attacks: unknown \['cw'\]"),
        (["--sweep=bat_radius", "--sweep_values=1"], r"--sweep: \['bat_radius'\] are no "
         "parameters"),
        (["--models=/no/such.keras"], "detector file /no/such.keras does not exist"),
        (["--models=InceptionV4"], "unknown model 'InceptionV4'.*Inception-v4")):
      result = self.run_attack(out, *args, check=False)
      self.assertEqual(result.returncode, 1, result.stderr[-2000:])
      self.assertRegex(result.stderr.strip().splitlines()[-1], "error: .*" + message)
    self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
  tf.test.main()
