"""Tests for dfadv_tf.experiment.data: the data selection."""

import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf.data import records
from dfadv_tf.experiment import data
from tests.testing import tools as utils


class DataTest(utils.ExperimentTestCase):

  def test_unknown_method_names_the_index(self):
    with self.assertRaisesRegex(ValueError, "NeuralTexture"):
      data.steps_per_epoch(self.config(train_methods=("NeuralTexture",), steps_per_epoch=0))

  def test_training_selection_reads_the_real_methods_from_the_index(self):
    selection = data.training_selection(self.config())
    self.assertEqual(selection.methods, ("youtube", "FaceSwap"))
    self.assertEqual(selection.qualities, ("c23",))
    with self.assertRaisesRegex(ValueError, r"lists \['youtube'\], the real videos.*added "
                                "automatically"):
      data.training_selection(self.config(train_methods=("youtube",)))

  def test_each_epoch_of_train_dataset_is_a_function_of_seed_and_epoch(self):
    config = self.config(epochs=3, steps_per_epoch=2, deterministic=True)
    whole = [images.numpy() for images, _ in data.train_dataset(config)]
    resumed = [images.numpy() for images, _ in data.train_dataset(config, 1)]
    self.assertLen(whole, 6)
    self.assertAllEqual(np.stack(whole[2:]), np.stack(resumed))
    self.assertNotAllClose(whole[0], whole[2])

  def test_validation_is_class_balanced(self):
    # Every fake method against the one real method: 4 fake records for each real one.
    config = self.config(train_methods=("Deepfakes", "Face2Face", "FaceSwap",
                                        "NeuralTextures"), batch_size=6, val_steps=0)
    real, fake = data.label_counts(config, "val")
    self.assertEqual(fake, 4 * real)
    labels = np.concatenate([y.numpy() for _, y in data.validation_dataset(config)])
    self.assertLen(labels, 2 * fake)
    self.assertEqual(labels.sum(), fake)
    self.assertAllEqual(labels[:4], [0, 1, 0, 1])
    self.assertEqual(data.validation_steps(config), -(-2 * fake // 6))

  def test_frames_per_video_epoch(self):
    config = self.config(steps_per_epoch=0, batch_size=4)
    records_ = data.label_counts(config, "train")
    videos = data.label_counts(config, "train", frames_per_video=1)
    self.assertEqual(records_, [2 * n for n in videos])  # the tiny benchmark: 2 frames
    per_video = self.config(steps_per_epoch=0, batch_size=4, train_frames_per_video=1)
    self.assertEqual(data.steps_per_epoch(per_video), 2 * max(videos) // 4)
    batches = data.train_dataset(self.config(train_frames_per_video=1, epochs=1))
    self.assertLen(list(batches), 2)

  def test_map_supervision_needs_masks(self):
    self.assertEqual(data.training_selection(self.config(map_supervision=True)).methods,
                     ("youtube", "FaceSwap"))  # the benchmark's fakes have masks
    writer = records.ShardedWriter(self.data_root, "unmasked")
    image = np.zeros((8, 8, 3), np.uint8)
    for method, label in (("youtube", 0), ("FaceSwap", 1)):
      writer.write("train", method, "c23", "00000", [records.make_example(
          image, label=label, dataset="unmasked", method=method, quality="c23",
          split="train", video_id="000", frame_index=0)])
    config = self.config(dataset="unmasked", map_supervision=True)
    with self.assertRaisesRegex(ValueError, "map_supervision needs the manipulation masks"
                                ".*dataset 'unmasked'.*train/FaceSwap/c23/00000.tfrecord"
                                ".*dfadv-preprocess"):
      data.training_selection(config)
    self.assertEqual(data.training_selection(self.config(dataset="unmasked")).methods,
                     ("youtube", "FaceSwap"))

  def test_two_generator_modes_train_on_alternating_halves(self):
    for mode, balance in (("two_gen_bat", "halves"), ("combined_at", "halves"),
                          ("gen_bat", "oversample"), ("baseline", "oversample")):
      self.assertEqual(data.train_balance(self.config(mode=mode)), balance, mode)
    config = self.config(mode="two_gen_bat", epochs=1, steps_per_epoch=3)
    for _, labels in data.train_dataset(config):
      self.assertAllEqual(labels, np.arange(config.batch_size) % 2)

  def test_one_balance_gives_every_mode_the_same_batches(self):
    # The paired tables compare modes of the same seed: with balance=halves the baseline,
    # a gradient mode and Two-Gen-BAT draw identical batch sequences.
    def batches(mode, seed=0, balance="halves"):
      config = self.config(mode=mode, seed=seed, balance=balance, epochs=2,
                           steps_per_epoch=2, deterministic=True)
      return [(x.numpy(), y.numpy()) for x, y in data.train_dataset(config)]
    baseline = batches("baseline")
    self.assertLen(baseline, 4)
    for mode in ("grad_bat", "two_gen_bat"):
      for (x, y), (x0, y0) in zip(batches(mode), baseline):
        self.assertAllEqual(x, x0, msg=mode)
        self.assertAllEqual(y, y0, msg=mode)
    other_seed = batches("baseline", seed=1)
    self.assertFalse(all(np.array_equal(x, x0) for (x, _), (x0, _) in zip(other_seed,
                                                                            baseline)))
    # auto: the baseline draws oversample batches, unlike Two-Gen-BAT's halves.
    auto = batches("baseline", balance="auto")
    self.assertFalse(all(np.array_equal(y, y0) for (_, y), (_, y0) in zip(auto, baseline)))
    with self.assertRaisesRegex(ValueError, "balance='oversample' does not fit mode "
                                "'two_gen_bat'"):
      data.train_balance(self.config(mode="two_gen_bat", balance="oversample"))

  def test_grids(self):
    grids = experiment.test_grids(self.config(extra_test_datasets=("dfd", "celebdf")))
    self.assertEqual(sorted(grids), ["cross_method", "cross_quality"])
    # Table I: the methods, then DFD (no ACC) and Celeb-DF in the same table.
    self.assertEqual(list(grids["cross_method"]), ["FS c23", "DF c23", "DFD", "Celeb-DF"])
    self.assertEqual(grids["cross_method"]["DF c23"],
                     data.Selection(self.data_root, utils.DATASET, ("youtube", "Deepfakes"),
                                    ("c23",)))
    self.assertEqual(grids["cross_method"]["DFD"],
                     data.Selection(self.data_root, "dfd", report_acc=False))
    self.assertTrue(grids["cross_method"]["Celeb-DF"].report_acc)
    self.assertEqual(list(grids["cross_quality"]), ["FS raw", "FS c40"])

  def test_grids_of_selections_with_several_methods_or_qualities(self):
    # Table III: NT of every quality -> one pooled column of those.
    grids = experiment.test_grids(self.config(train_qualities=("raw", "c23", "c40")))
    self.assertEqual(list(grids["cross_method"]), ["FS raw+c23+c40", "DF raw+c23+c40"])
    self.assertEqual(grids["pooled"], {"FS raw+c23+c40": data.Selection(
        self.data_root, utils.DATASET, ("youtube", "FaceSwap"), ("raw", "c23", "c40"))})
    # Table VI: every method and quality -> the dataset's name, then DFD and Celeb-DF.
    everything = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
    grids = experiment.test_grids(self.config(
        train_methods=everything, train_qualities=("raw", "c23", "c40"),
        extra_test_datasets=("dfd", "celebdf")))
    self.assertEqual(list(grids["pooled"]), [utils.DATASET, "DFD", "Celeb-DF"])
    self.assertEqual(grids["pooled"][utils.DATASET].methods, ("youtube", *everything))
    self.assertEqual(list(grids["cross_method"]), ["FS raw+c23+c40", "DF raw+c23+c40"])
    self.assertEqual(list(grids["cross_quality"]), ["DF+F2F+FS+NT raw", "DF+F2F+FS+NT c40"])


def write_dataset(root, name, layout):
  """layout: [(method, quality, label)] -> one tiny test shard each (and train)."""
  writer = records.ShardedWriter(root, name)
  for i, (method, quality, label) in enumerate(layout):
    for split in ("train", "test"):
      writer.write(split, method, quality, f"{i:05d}", [records.make_example(
          np.zeros((8, 8, 3), np.uint8), label=label, dataset=name, method=method,
          quality=quality, split=split, video_id=f"{method}/v", frame_index=0)])


class GridShapesTest(tf.test.TestCase):
  """The test grids are shaped by what the dataset has, with no FF++ names."""

  def config(self, **overrides):
    values = dict(data_root=self.get_temp_dir(), dataset="mine", train_methods=("fake",),
                  train_qualities=("original",))
    values.update(overrides)
    return experiment.ExperimentConfig(**values)

  def test_one_method_one_quality_is_one_table_named_after_the_dataset(self):
    write_dataset(self.get_temp_dir(), "mine", [("real", "original", 0),
                                                ("fake", "original", 1)])
    with self.assertLogs(level="WARNING") as logs:  # the default test_methods are FF++'s
      grids = experiment.test_grids(self.config())
    self.assertIn("none of test_methods ['NeuralTextures'", "\n".join(logs.output))
    self.assertEqual(grids, {"mine": {"fake original": data.Selection(
        self.get_temp_dir(), "mine", ("real", "fake"), ("original",))}})

  def test_methods_and_qualities_the_dataset_lacks_are_left_out(self):
    root = self.get_temp_dir()
    write_dataset(root, "mine", [
        ("real", "end_to_end", 0), ("real", "level_5", 0), ("DF-VAE", "end_to_end", 1),
        ("DF-VAE", "level_5", 1)])
    records.ShardedWriter(root, "mine").write("train", "Deepfakes", "end_to_end", "00009", [
        records.make_example(np.zeros((8, 8, 3), np.uint8), label=1, dataset="mine",
                             method="Deepfakes", quality="end_to_end", split="train",
                             video_id="d/v", frame_index=0)])  # no test records
    config = lambda methods: self.config(  # pylint: disable=unnecessary-lambda-assignment
        train_methods=("DF-VAE",), train_qualities=("end_to_end",),
        test_methods=methods, test_qualities=("end_to_end", "level_5"))
    with self.assertLogs(level="WARNING") as logs:
      grids = experiment.test_grids(config(("DF-VAE", "Deepfakes")))
    self.assertIn("test_methods ['Deepfakes'] are not in the test split", logs.output[0])
    self.assertEqual(list(grids), ["cross_quality"])  # one method: no cross-method table
    self.assertEqual(list(grids["cross_quality"]), ["DF-VAE end_to_end", "DF-VAE level_5"])
    with self.assertRaisesRegex(ValueError, r"test_methods: method \['Deepfake'\] not in "
                                r"dataset 'mine' .* its index has methods \['DF-VAE', "
                                r"'Deepfakes', 'real'\]"):  # a typo, not a gap
      experiment.test_grids(config(("DF-VAE", "Deepfake")))

if __name__ == "__main__":
  tf.test.main()
