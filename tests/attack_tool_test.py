"""Tests for tools/attack.py: blur as an attack (Sec. IV-C, Tables VII, XII-XIV)."""

import csv
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from dfadv_tf.data import records
from tests.attack_test_utils import toy_batch, trained_detector
from tools import attack as attack_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARAMS = {"fgsm_eps": 8.0, "pgd_steps": 3, "pgd_step_size": None, "bat_eps": 0.1,
          "bat_kernel_size": 5, "bat_init_value": 1.0, "bat_init": "constant",
          "bat_param": "sigma", "bat_channels": 3, "bat_renormalize": False, "bat_steps": 3}


def _to_uint8(images):
  return np.round((images + 1.0) * 127.5).astype(np.uint8)


class AttackToolTest(tf.test.TestCase):

  NAMES = ("checkerboard", "tint")

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir()
    cls.model_paths = []
    for seed, cue in enumerate(cls.NAMES):  # two detectors that see different artifacts
      path = os.path.join(cls.root, f"{cue}.keras")
      trained_detector(seed=seed, cue=cue).save(path)
      cls.model_paths.append(path)
    images, cls.labels = toy_batch(48, seed=21, cue="both")
    cls.pixels = _to_uint8(images)
    cls.images_dir = os.path.join(cls.root, "val")
    os.makedirs(cls.images_dir, exist_ok=True)
    lines = []
    for i, (image, label) in enumerate(zip(cls.pixels, cls.labels)):
      name = f"val_{i:05d}.png"
      tf.io.write_file(os.path.join(cls.images_dir, name), tf.io.encode_png(image))
      lines.append(f"{name} {label}\n")
    cls.labels_file = os.path.join(cls.root, "val.txt")
    with open(cls.labels_file, "w", encoding="utf-8") as f:
      f.writelines(lines)

  def _models(self):
    return [attack_tool.load_model(path) for path in self.model_paths]

  def test_binary_writes_the_matrix_and_white_box_is_strongest(self):
    out = os.path.join(self.root, "out")
    result = subprocess.run(
        [sys.executable, "-m", "tools.attack", f"--models={','.join(self.model_paths)}",
         f"--images_dir={self.images_dir}", f"--labels_file={self.labels_file}",
         "--image_size=16", "--batch_size=24", "--attacks=fgsm,pgd,bat,bat_multi",
         "--bat_eps=1000", f"--output_dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(out, "attack_matrix.csv"), encoding="utf-8") as f:
      rows = list(csv.DictReader(f))
    names = self.NAMES
    accuracy = {(r["attack"], r["source"], r["target"]): float(r["accuracy"]) for r in rows}
    self.assertLen(rows, 2 + 4 * 2 * 2)  # clean per target + attack x source x target
    for target in names:
      self.assertGreater(accuracy[("clean", "-", target)], 0.8)
    for attack in ("fgsm", "pgd", "bat", "bat_multi"):  # Table VII: diagonal is lowest
      for target in names:
        other = names[1 - names.index(target)]
        white_box = accuracy[(attack, target, target)]
        self.assertLessEqual(white_box, accuracy[(attack, other, target)], (attack, target))
    for attack in ("fgsm", "pgd"):
      for target in names:
        self.assertLess(accuracy[(attack, target, target)],
                        accuracy[("clean", "-", target)] - 0.3, (attack, target))
    self.assertLess(accuracy[("bat", "checkerboard", "checkerboard")], 0.6)
    with open(os.path.join(out, "attack_matrix.md"), encoding="utf-8") as f:
      markdown = f.read()
    self.assertIn("| Source \\ Target | checkerboard FGSM | checkerboard PGD |", markdown)
    self.assertLen(markdown.strip().splitlines(), 2 + 1 + 2)  # header, clean, sources
    self.assertEqual([n for n in os.listdir(out) if n.startswith(".tmp")], [])

  def test_kernel_size_sweep(self):
    models = self._models()
    batches = attack_tool.load_images(16, 48, self.images_dir, self.labels_file)
    attacks = attack_tool.make_attacks(["fgsm", "bat"], PARAMS, "kernel_size", ["3", "7"])
    self.assertEqual([(n, v) for n, v, _ in attacks], [("fgsm", ""), ("bat", 3), ("bat", 7)])
    rows = attack_tool.attack_matrix(models, batches, attacks)
    accuracy = {(r["attack"], r["sweep_value"], r["source"], r["target"]): r["accuracy"]
                for r in rows}
    for source in self.NAMES:  # a larger window blurs more
      self.assertLessEqual(accuracy[("bat", 7, source, source)],
                           accuracy[("bat", 3, source, source)])
    markdown = attack_tool.to_markdown(rows, "kernel_size").splitlines()
    self.assertTrue(markdown[0].startswith("| kernel_size | Source \\ Target |"))
    self.assertLen(markdown, 2 + 1 + 2 * 2)
    self.assertTrue(markdown[3].startswith("| 3 | checkerboard |"))

  def test_tfrecords_read_like_the_folder(self):
    path = os.path.join(self.root, "val.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
      for i, (image, label) in enumerate(zip(self.pixels, self.labels)):
        writer.write(records.make_example(
            image, label=int(label), dataset="toy", method="toy", quality="raw",
            split="test", video_id=str(i), frame_index=0).SerializeToString())
    from_records = list(attack_tool.load_images(16, 48, tfrecords=path))
    from_folder = list(attack_tool.load_images(16, 48, self.images_dir, self.labels_file))
    self.assertAllClose(from_records[0][0], from_folder[0][0], atol=1e-6)
    self.assertAllEqual(from_records[0][1], from_folder[0][1])
    self.assertAllEqual(from_folder[0][1], self.labels)

  def test_one_label_per_line_layout(self):
    labels_file = os.path.join(self.root, "labels_only.txt")
    with open(labels_file, "w", encoding="utf-8") as f:
      f.writelines(f"{label}\n" for label in self.labels)
    paths, labels = attack_tool.read_labels_file(self.images_dir, labels_file)
    self.assertEqual(os.path.basename(paths[3]), "val_00003.png")
    self.assertEqual(labels, list(self.labels))

  def test_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, "unknown model 'InceptionV4'.*Inception-v4"):
      attack_tool.load_model("InceptionV4")
    with self.assertRaisesRegex(ValueError, "weights file '/no/such.h5' for InceptionV3"):
      attack_tool.load_model("InceptionV3=/no/such.h5")
    with self.assertRaisesRegex(ValueError, "saved model '/no/such.keras' does not exist"):
      attack_tool.load_model("/no/such.keras")
    with self.assertRaisesRegex(ValueError, r"--attacks: unknown \['cw'\]"):
      attack_tool.make_attacks(["fgsm", "cw"], PARAMS)
    with self.assertRaisesRegex(ValueError, "--sweep=steps needs --sweep_values"):
      attack_tool.make_attacks(["pgd"], PARAMS, "steps", [])
    with self.assertRaisesRegex(ValueError, "matches no file"):
      attack_tool.load_images(16, 8, tfrecords=os.path.join(self.root, "none-*.tfrecord"))
    with self.assertRaisesRegex(ValueError, "exactly one of --images_dir"):
      attack_tool.load_images(16, 8)
    short = os.path.join(self.root, "short.txt")
    with open(short, "w", encoding="utf-8") as f:
      f.write("0\n1\n")
    with self.assertRaisesRegex(ValueError, "has 2 labels but --images_dir"):
      attack_tool.read_labels_file(self.images_dir, short)
    wide = os.path.join(self.root, "wide.txt")
    with open(wide, "w", encoding="utf-8") as f:
      f.write("val_00000.png 7\n")
    batches = attack_tool.load_images(16, 8, self.images_dir, wide)
    with self.assertRaisesRegex(ValueError, "labels go up to 7 but model checkerboard has 2"):
      attack_tool.attack_matrix(self._models(), batches,
                                attack_tool.make_attacks(["fgsm"], PARAMS))


if __name__ == "__main__":
  tf.test.main()
