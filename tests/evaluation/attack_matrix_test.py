"""Tests for dfadv_tf.evaluation.attack_matrix: the (source, target) accuracy matrix."""

import tensorflow as tf

from dfadv_tf.attacks import registry
from dfadv_tf.data import labelled_images
from dfadv_tf.evaluation import attack_matrix
from tests.testing.attacks import AttackSetTestCase

SEC_IV_C = {"kernel_size": 5, "bat_eps": 0.1, "bat_param": "sigma", "bat_init": "constant",
            "bat_init_value": 1.0, "bat_renormalize": False, "fgsm_eps_levels": 8.0}


class AttackMatrixTest(AttackSetTestCase):

  def test_kernel_size_sweep_and_table(self):
    batches = labelled_images.load_images(16, 48, self.images_dir, self.labels_file)
    attacks = registry.crafters(["fgsm", "bat"], SEC_IV_C, ["kernel_size"], ["3", "7"])
    self.assertEqual([(n, v) for n, v, _ in attacks],
                     [("fgsm", ""), ("bat", "3"), ("bat", "7")])
    rows = attack_matrix.attack_matrix(self.classifiers(), batches, attacks)
    accuracy = {(r["attack"], r["sweep_value"], r["source"], r["target"]): r["accuracy"]
                for r in rows}
    for source in self.NAMES:  # a larger window blurs more
      self.assertLessEqual(accuracy[("bat", "7", source, source)],
                           accuracy[("bat", "3", source, source)])
    markdown = attack_matrix.to_markdown(rows, "kernel_size").splitlines()
    self.assertTrue(markdown[0].startswith("| kernel_size | Source \\ Target |"))
    self.assertLen(markdown, 2 + 1 + 2 * 2)
    self.assertTrue(markdown[3].startswith("| 3 | checkerboard |"))
    csv_lines = attack_matrix.to_csv(rows).splitlines()
    self.assertEqual(csv_lines[0], "sweep_value,attack,source,target,accuracy,num_images")
    self.assertLen(csv_lines, 1 + len(rows))

  def test_labels_beyond_the_classes(self):
    wide = self.write_text("labels_1.txt", "val_00000.png 7\n")
    batches = labelled_images.load_images(16, 8, self.images_dir, wide)
    with self.assertRaisesRegex(ValueError, "labels go up to 7 but model checkerboard has 2"):
      attack_matrix.attack_matrix(self.classifiers(), batches,
                                  registry.crafters(["fgsm"], SEC_IV_C))


if __name__ == "__main__":
  tf.test.main()
