"""Tests for dfadv_tf.data.labelled_images: a folder with labels, or TFRecords."""

import os

import tensorflow as tf

from dfadv_tf.data import labelled_images
from dfadv_tf.data import records
from tests.testing.attacks import AttackSetTestCase


class LabelledImagesTest(AttackSetTestCase):

  def test_tfrecords_read_like_the_folder(self):
    path = os.path.join(self.root, "val.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
      for i, (image, label) in enumerate(zip(self.pixels, self.labels)):
        writer.write(records.make_example(
            image, label=int(label), dataset="toy", method="toy", quality="raw",
            split="test", video_id=str(i), frame_index=0).SerializeToString())
    from_records = list(labelled_images.load_images(16, 48, tfrecords=path))
    from_folder = list(labelled_images.load_images(16, 48, self.images_dir,
                                                   self.labels_file))
    self.assertAllClose(from_records[0][0], from_folder[0][0], atol=1e-6)
    self.assertAllEqual(from_records[0][1], from_folder[0][1])
    self.assertAllEqual(from_folder[0][1], self.labels)
    self.assertLen(list(labelled_images.load_images(16, 8, tfrecords=path, num_images=20)), 3)

  def test_one_label_per_line_layout(self):
    labels_file = self.write_text("labels_1.txt",
                                  "".join(f"{label}\n" for label in self.labels))
    paths, labels = labelled_images.read_labels_file(self.images_dir, labels_file)
    self.assertEqual(os.path.basename(paths[3]), "val_00003.png")
    self.assertEqual(labels, list(self.labels))

  def test_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, "matches no file"):
      labelled_images.load_images(16, 8, tfrecords=os.path.join(self.root, "none-*.tfrecord"))
    with self.assertRaisesRegex(ValueError, "exactly one of --images_dir"):
      labelled_images.load_images(16, 8)
    short = self.write_text("labels_2.txt", "0\n1\n")
    with self.assertRaisesRegex(ValueError, "has 2 labels but --images_dir"):
      labelled_images.read_labels_file(self.images_dir, short)
    missing = self.write_text("labels_3.txt", "nope.png 3\n")
    with self.assertRaisesRegex(ValueError, "names 1 missing images"):
      labelled_images.read_labels_file(self.images_dir, missing)
    words = self.write_text("labels_4.txt", "val_00000.png cat\n")
    with self.assertRaisesRegex(ValueError, "class indices must be integers"):
      labelled_images.read_labels_file(self.images_dir, words)


if __name__ == "__main__":
  tf.test.main()
