"""Tests for dfadv_tf.experiment: one experiment end to end, in-process."""

import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import experiment
from tests import tool_test_utils as utils


class ExperimentTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.data_root = utils.make_tiny_benchmark(tempfile.mkdtemp(prefix="benchmark-"))

  def config(self, **overrides):
    values = dict(backbone="small_cnn", image_size=utils.IMAGE_SIZE, batch_size=8,
                  epochs=2, steps_per_epoch=2, val_steps=1, generator_width=4,
                  generator_blocks=1, g_steps=1, kernel_size=3, decay_epochs=0,
                  data_root=self.data_root, dataset=utils.DATASET,
                  train_methods=("FaceSwap",), train_qualities=("c23",),
                  test_methods=("FaceSwap", "Deepfakes"), test_qualities=("raw", "c40"),
                  output_dir=os.path.join(self.get_temp_dir(), "run"))
    values.update(overrides)
    return experiment.ExperimentConfig(**values)

  def tearDown(self):
    keras.mixed_precision.set_global_policy("float32")
    super().tearDown()

  def test_two_gen_bat_end_to_end(self):
    config = self.config(mode="two_gen_bat")
    result = experiment.run_experiment(config, verbose=0)
    out = config.output_dir
    for path in ["config.json", "best_detector.keras", "results.json",
                 "checkpoints/epoch_001.keras", "checkpoints/epoch_002.keras",
                 "tables/cross_method.md", "tables/cross_method.csv",
                 "tables/cross_quality.md"]:
      self.assertTrue(os.path.exists(os.path.join(out, path)), path)
    self.assertNotEmpty([f for f in os.listdir(os.path.join(out, "logs", "train"))
                         if f.startswith("events")])
    self.assertTrue(os.path.isdir(os.path.join(out, "logs", "adversarial")))
    results = result["results"]["+ Two-Gen-BAT"]
    self.assertEqual(sorted(results), ["cross_method", "cross_quality"])
    self.assertEqual(sorted(results["cross_method"]), ["DF c23", "FS c23"])
    self.assertEqual(sorted(results["cross_quality"]), ["FS c40", "FS raw"])
    for metrics in results["cross_method"].values():
      self.assertBetween(metrics["auc"], 0.0, 1.0)
    self.assertIn("| + Two-Gen-BAT |", result["tables"]["cross_method"])
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
      self.assertEqual(json.load(f), result["results"])
    self.assertIn(result["best_epoch"], (1, 2))
    self.assertContainsSubset({"g_real_loss", "g_fake_loss", "val_accuracy"},
                              set(result["history"]))

  def test_best_detector_is_the_best_validation_epoch(self):
    config = self.config(mode="baseline", epochs=3, learning_rate=1e-2)
    result = experiment.run_experiment(config, verbose=0)
    val = result["history"]["val_accuracy"]
    self.assertEqual(result["best_epoch"], int(np.argmax(val)) + 1)
    best = keras.saving.load_model(os.path.join(config.output_dir, "best_detector.keras"))
    chosen = keras.saving.load_model(os.path.join(
        config.output_dir, "checkpoints", f"epoch_{result['best_epoch']:03d}.keras"))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    self.assertAllClose(best(x), chosen.detector(x), atol=1e-5)

  def test_every_mode_builds_and_steps(self):
    x = tf.random.uniform((4, 32, 32, 3), -1, 1)
    y = tf.constant([0, 1, 0, 1])
    for mode in experiment.MODES:
      model = experiment.build_training_model(self.config(mode=mode), steps=2)
      history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
      self.assertTrue(np.isfinite(history.history["loss"][0]), mode)

  def test_config_errors(self):
    cases = [({"mode": "gan"}, "mode must be one of"),
             ({"backbone": "resnet"}, "backbone must be one of"),
             ({"augment": "mixup"}, "augment must be one of"),
             ({"train_methods": ("youtube",)}, "added automatically"),
             ({"batch_size": 0}, "batch_size must be >= 1"),
             ({"fgsm_eps": -1.0}, "fgsm_eps must be >= 0"),
             ({"mixed_precision": "float16"}, "mixed_precision must be one of")]
    for overrides, message in cases:
      with self.assertRaisesRegex(ValueError, message):
        self.config(**overrides)

  def test_unknown_method_names_the_index(self):
    with self.assertRaisesRegex(ValueError, "NeuralTexture"):
      experiment.steps_per_epoch(self.config(train_methods=("NeuralTexture",),
                                             steps_per_epoch=0))

  def test_each_epoch_of_train_dataset_is_a_function_of_seed_and_epoch(self):
    config = self.config(epochs=3, steps_per_epoch=2, deterministic=True)
    whole = [images.numpy() for images, _ in experiment.train_dataset(config)]
    resumed = [images.numpy() for images, _ in experiment.train_dataset(config, 1)]
    self.assertLen(whole, 6)
    self.assertAllEqual(np.stack(whole[2:]), np.stack(resumed))
    self.assertNotAllClose(whole[0], whole[2])

  def test_resumed_epoch_and_strategies(self):
    out = self.get_temp_dir()
    self.assertEqual(experiment.resumed_epoch(out), 0)
    os.makedirs(os.path.join(out, "backup"), exist_ok=True)
    with open(os.path.join(out, "backup", "training_metadata.json"), "w",
              encoding="utf-8") as f:
      json.dump({"epoch": 2, "batch": 0}, f)
    self.assertEqual(experiment.resumed_epoch(out), 2)
    self.assertEqual(experiment.make_strategy("default").num_replicas_in_sync, 1)
    self.assertEqual(experiment.make_strategy("mirrored").num_replicas_in_sync, 2)

  def test_grids(self):
    grids = experiment.test_grids(self.config(extra_test_datasets=("dfd",)))
    self.assertEqual(grids["cross_method"]["DF c23"],
                     (["youtube", "Deepfakes"], ["c23"], utils.DATASET))
    self.assertEqual(grids["dfd"], {"dfd": (None, None, "dfd")})


if __name__ == "__main__":
  tf.test.main()
