"""Tests for dfadv_tf.files: atomic writes leave nothing half-written."""

import os

import tensorflow as tf

from dfadv_tf import files


class AtomicWriteTest(tf.test.TestCase):

  def test_text_lands_whole_and_replaces(self):
    path = os.path.join(self.get_temp_dir(), "sub", "table.md")
    files.atomic_write_text(path, "first")
    files.atomic_write_text(path, "second")
    with open(path, encoding="utf-8") as f:
      self.assertEqual(f.read(), "second")
    self.assertEqual(os.listdir(os.path.dirname(path)), ["table.md"])

  def test_failed_write_leaves_the_old_file_and_no_temp(self):
    folder = self.get_temp_dir()
    path = os.path.join(folder, "index.json")
    files.atomic_write_text(path, "old")

    def broken(temp):
      self.assertTrue(temp.endswith("index.json"))  # extension-checking writers work
      with open(temp, "w", encoding="utf-8") as f:
        f.write("half")
      raise RuntimeError("disk full")

    with self.assertRaisesRegex(RuntimeError, "disk full"):
      files.atomic_write(path, broken)
    with open(path, encoding="utf-8") as f:
      self.assertEqual(f.read(), "old")
    self.assertEqual([n for n in os.listdir(folder) if n.startswith(".tmp-")], [])


if __name__ == "__main__":
  tf.test.main()
