"""Tests for dfadv_tf.serving: preprocessing, SavedModel export, safe loading."""

import json
import os
import stat
import zipfile

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import files
from dfadv_tf import serving
from dfadv_tf.training import DetectorModel
from tests.testing import faults
from tests.testing import tools as utils


def rewrite_config(source, target, edit):
  """Copies the .keras archive `source` to `target` with `edit(config)` applied to its
  config.json (a crafted, untrusted file)."""
  with zipfile.ZipFile(source) as archive:
    members = {name: archive.read(name) for name in archive.namelist()}
  config = json.loads(members["config.json"])
  edit(config)
  members["config.json"] = json.dumps(config).encode()
  with zipfile.ZipFile(target, "w") as archive:
    for name, content in members.items():
      archive.writestr(name, content)


class ServingTest(tf.test.TestCase):

  def test_preprocess_matches_training_scaling(self):
    images = np.array([[[[0, 127, 255]] * 4] * 4], np.uint8)
    out = serving.preprocess(images, (4, 4))
    self.assertAllClose(out[0, 0, 0], [-1.0, 127 / 127.5 - 1, 1.0])
    self.assertEqual(serving.preprocess(np.zeros((2, 10, 7, 3), np.uint8), (5, 6)).shape,
                     (2, 5, 6, 3))
    with self.assertRaisesRegex(ValueError, "uint8"):
      serving.preprocess(np.zeros((1, 4, 4, 3), np.float32), (4, 4))
    with self.assertRaisesRegex(ValueError, r"\(B, H, W, 3\)"):
      serving.preprocess(np.zeros((1, 4, 4, 4), np.uint8), (4, 4))

  def test_export_reload_gives_the_same_scores(self):
    tmp = self.get_temp_dir()
    detector = utils.save_tiny_detector(os.path.join(tmp, "d.keras"))
    export_dir = os.path.join(tmp, "saved")
    keras_path = os.path.join(tmp, "exported.keras")
    serving.export_detector(detector, export_dir, keras_path)
    images = np.random.default_rng(0).integers(0, 256, (3, 48, 40, 3)).astype(np.uint8)
    expected = serving.fake_probability(detector, serving.preprocess(images, (32, 32)))
    served = tf.saved_model.load(export_dir).signatures["serving_default"]
    self.assertAllClose(served(images=tf.constant(images))["fake_probability"], expected,
                        atol=1e-5)
    reloaded = serving.load_detector(keras_path)
    self.assertAllClose(serving.fake_probability(
        reloaded, serving.preprocess(images, (32, 32))), expected, atol=1e-6)
    self.assertEqual([f for f in os.listdir(tmp) if f.startswith(".tmp")], [])
    with self.assertRaisesRegex(FileExistsError, "overwrite"):
      serving.export_detector(detector, export_dir)
    serving.export_detector(detector, export_dir, overwrite=True)

  def test_lambda_layer_is_refused_in_safe_mode(self):
    inputs = keras.Input((8, 8, 3))
    logits = keras.layers.Dense(2)(keras.layers.Flatten()(
        keras.layers.Lambda(lambda x: x * 2.0)(inputs)))
    path = os.path.join(self.get_temp_dir(), "lambda.keras")
    keras.Model(inputs, logits).save(path)
    with self.assertRaisesRegex(ValueError, "lambda.keras contains a Lambda layer"):
      serving.load_detector(path)
    self.assertIsNotNone(serving.load_detector(path, safe_mode=False))
    with self.assertRaisesRegex(FileNotFoundError, "missing.keras"):
      serving.load_detector(os.path.join(self.get_temp_dir(), "missing.keras"))

  def test_exported_signature_refuses_bad_images_by_name(self):
    tmp = self.get_temp_dir()
    export_dir = os.path.join(tmp, "served")
    serving.export_detector(utils.save_tiny_detector(os.path.join(tmp, "d.keras")),
                            export_dir)
    served = tf.saved_model.load(export_dir).signatures["serving_default"]
    expected = (r"serving_default: images must be uint8 RGB of shape \(B, H, W, 3\) with "
                r"B, H, W >= 1, got shape\] ")
    for shape, message in (((8, 8, 3), expected + r"\[8 8 3\]"),
                           ((1, 8, 8, 4), expected + r"\[1 8 8 4\]"),
                           ((0, 8, 8, 3), expected + r"\[0 8 8 3\]"),
                           ((1, 0, 5, 3), expected + r"\[1 0 5 3\]")):
      with self.subTest(shape=shape):
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
          served(images=tf.zeros(shape, tf.uint8))
    self.assertEqual(served(images=tf.zeros((2, 1, 1, 3), tf.uint8))[
        "fake_probability"].shape, (2,))

  def test_export_checks_every_destination_before_writing(self):
    tmp = self.get_temp_dir()
    detector = utils.save_tiny_detector(os.path.join(tmp, "d.keras"))
    export_dir = os.path.join(tmp, "export")
    bad = faults.uncreatable(tmp)
    with self.assertRaisesRegex(NotADirectoryError, f"keras_path {bad}/d.keras cannot be "
                                "created"):
      serving.export_detector(detector, export_dir, os.path.join(bad, "d.keras"))
    with self.assertRaisesRegex(ValueError, "keras_path .*model.h5 must end with .keras"):
      serving.export_detector(detector, export_dir, os.path.join(tmp, "model.h5"))
    self.assertFalse(os.path.exists(export_dir))  # nothing written, so a re-run works
    serving.export_detector(detector, export_dir, os.path.join(tmp, "e.keras"))
    self.assertEqual(stat.S_IMODE(os.stat(export_dir).st_mode), 0o777 & ~files.umask())
    self.assertEqual(stat.S_IMODE(os.stat(os.path.join(tmp, "e.keras")).st_mode),
                     0o666 & ~files.umask())

  def test_load_detector_names_the_file_for_every_bad_file(self):
    tmp = self.get_temp_dir()
    good = os.path.join(tmp, "good.keras")
    detector = utils.save_tiny_detector(good)
    with open(good, "rb") as f:
      content = f.read()
    truncated, empty = os.path.join(tmp, "truncated.keras"), os.path.join(tmp, "empty.keras")
    with open(truncated, "wb") as f:
      f.write(content[:len(content) // 2])
    open(empty, "wb").close()  # pylint: disable=consider-using-with
    for path in (truncated, empty):
      with self.assertRaisesRegex(ValueError, f"{path} is not a complete .keras file"):
        serving.load_detector(path)
    with self.assertRaisesRegex(ValueError, f"{tmp} is a folder"):
      serving.load_detector(tmp)
    # Crafted configurations: refused in one line naming the file, no code run.
    marker = os.path.join(tmp, "ran")
    for name, edit in (
        ("wrong_type.keras", lambda c: c["config"]["layers"][1]["config"].update(
            filters="many")),
        ("os_system.keras", lambda c: c.update(module="os", class_name="system",
                                               config=f"touch {marker}"))):
      with self.subTest(file=name):
        path = os.path.join(tmp, name)
        rewrite_config(good, path, edit)
        with self.assertRaises(ValueError) as raised:
          serving.load_detector(path)
        message = str(raised.exception)
        self.assertRegex(message, f"^{path} is not a Keras model that this project can load")
        self.assertLess(len(message), 400)
        self.assertNotIn("\n", message)
    self.assertFalse(os.path.exists(marker))
    saved_model = os.path.join(tmp, "saved_model")
    tf.saved_model.save(detector, saved_model)
    inputs = keras.Input((32, 32, 3))
    tfsm = os.path.join(tmp, "tfsm.keras")
    keras.Model(inputs, keras.layers.TFSMLayer(saved_model, call_endpoint="serving_default")(inputs)).save(tfsm)
    with self.assertRaisesRegex(ValueError, "tfsm.keras contains a TFSMLayer .* refused in "
                                "safe mode"):
      serving.load_detector(tfsm)

  def test_a_training_checkpoint_is_not_a_detector(self):
    path = os.path.join(self.get_temp_dir(), "epoch_001.keras")
    model = DetectorModel(utils.save_tiny_detector(os.path.join(self.get_temp_dir(),
                                                                "d.keras")))
    model.compile()
    model.save(path)
    with self.assertRaisesRegex(ValueError, "epoch_001.keras is a whole training model "
                                r"\(DetectorModel, a checkpoints/epoch_NNN.keras file\); "
                                "expected a detector"):
      serving.load_detector(path)

  def test_detector_without_static_size(self):
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    with self.assertRaisesRegex(ValueError, "no static input size"):
      serving.detector_image_size(model)


if __name__ == "__main__":
  tf.test.main()
