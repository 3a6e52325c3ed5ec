"""Tests for dfadv_tf.models.backbones (detectors of Sec. IV and App. A)."""

import os
import urllib.error
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized
from keras.src.backend import config as keras_config
from keras.src.utils import file_utils

import h5py

from dfadv_tf.models.backbones import (BACKBONES, INPUT_SCALING, InputScaling,
                                       build_detector, get_backbone)
from tests.testing import tools
from tests.testing.layers import run_layer_test

SHARED_MOBILENET = os.path.join(tools.SHARED, "weights", "mobilenet_2_5_224_tf_no_top.h5")


def save_legacy_hdf5(model, path):
  """Writes `model`'s weights as Keras 2's `save_weights("x.h5")` did (the legacy HDF5
  layout of keras.applications' `*_no_top.h5` files: a group per layer, its weights
  listed in order by a `weight_names` attribute)."""
  with h5py.File(path, "w") as f:
    f.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
    f.attrs["backend"] = b"tensorflow"
    f.attrs["keras_version"] = b"2.15.0"
    for layer in model.layers:
      group = f.create_group(layer.name)
      names = [f"{layer.name}/{w.path.split('/')[-1]}:0" for w in layer.weights]
      group.attrs["weight_names"] = [n.encode("utf8") for n in names]
      for name, weight in zip(names, layer.weights):
        group.create_dataset(name, data=keras.ops.convert_to_numpy(weight))


def _images(size, batch=2, seed=0):
  return np.random.default_rng(seed).uniform(-1.0, 1.0, (batch, size, size, 3)).astype(
      np.float32)


def _features(detector):
  """The detector up to its global average pool."""
  return keras.Model(detector.input, detector.get_layer("pool").output)


class BackbonesTest(tf.test.TestCase, parameterized.TestCase):

  def test_input_scaling_layer(self):
    out = run_layer_test(self, InputScaling, {"scale": 127.5, "offset": 127.5},
                         np.array([[-1.0, 0.0, 1.0]], np.float32),
                         expected_output_shape=(1, 3))
    self.assertAllClose(out, [[0.0, 127.5, 255.0]])

  @parameterized.parameters(
      ("efficientnetb0", keras.applications.EfficientNetB0, 32,
       keras.applications.efficientnet.preprocess_input),
      ("xception", keras.applications.Xception, 71,
       keras.applications.xception.preprocess_input),
      ("efficientnetv2b0", keras.applications.EfficientNetV2B0, 32,
       keras.applications.efficientnet_v2.preprocess_input),
      ("mobilenet025", lambda **kw: keras.applications.MobileNet(alpha=0.25, **kw), 32,
       keras.applications.mobilenet.preprocess_input),
      ("mobilenetv2", keras.applications.MobileNetV2, 32,
       keras.applications.mobilenet_v2.preprocess_input),
      ("mobilenetv3small", keras.applications.MobileNetV3Small, 32,
       keras.applications.mobilenet_v3.preprocess_input),
      ("resnet50", keras.applications.ResNet50, 32,
       keras.applications.resnet50.preprocess_input),
  )
  def test_features_match_keras_applications(self, name, constructor, size, preprocess):
    detector = build_detector(name, size)
    reference = constructor(include_top=False, weights=None, pooling="avg",
                            input_shape=(size, size, 3))
    reference.set_weights(get_backbone(detector).get_weights())
    pixels = np.random.default_rng(1).integers(0, 256, (2, size, size, 3)).astype(np.float32)
    ours = _features(detector)(pixels / 127.5 - 1.0)
    theirs = reference(preprocess(pixels.copy()))
    self.assertAllClose(ours, theirs, atol=1e-4, rtol=1e-4)

  @parameterized.parameters(("small_cnn", 64), ("efficientnetb0", 32), ("xception", 71))
  def test_logits_and_keras_round_trip(self, name, size):
    detector = build_detector(name, size, dropout=0.2)
    images = _images(size)
    logits = detector(images)
    self.assertEqual(tuple(logits.shape), (2, 2))
    self.assertEqual(logits.dtype, tf.float32)
    path = os.path.join(self.get_temp_dir(), f"{name}.keras")
    detector.save(path)
    revived = keras.saving.load_model(path, safe_mode=True)
    self.assertAllClose(revived(images), logits, atol=1e-5)
    self.assertFalse(any(isinstance(layer, keras.layers.Lambda)
                         for layer in get_backbone(revived).layers))

  @parameterized.parameters(("small_cnn", 64), ("efficientnetb0", 32))
  def test_local_weights_file(self, name, size):
    first = build_detector(name, size)
    path = os.path.join(self.get_temp_dir(), f"{name}.weights.h5")
    get_backbone(first).save_weights(path)
    second = build_detector(name, size, weights=path)
    images = _images(size)
    self.assertAllClose(_features(second)(images), _features(first)(images), atol=1e-6)
    fresh = build_detector(name, size)
    self.assertNotAllClose(_features(fresh)(images), _features(first)(images))

  def test_imagenet_offline_fails_with_the_local_file_option(self):
    offline = urllib.error.URLError(OSError(101, "Network is unreachable"))
    with mock.patch.object(keras_config, "_KERAS_DIR", self.get_temp_dir()), \
        mock.patch.object(file_utils, "urlretrieve", side_effect=offline) as fetch:
      with self.assertRaisesRegex(OSError, r"efficientnetb0.*Network is unreachable"
                                           r".*weights='/path/to/backbone\.weights\.h5'"):
        build_detector("efficientnetb0", 32, weights="imagenet")
      self.assertEqual(fetch.call_count, 1)

  def test_no_download_unless_asked(self):
    with mock.patch.object(file_utils, "urlretrieve",
                           side_effect=AssertionError("download attempted")):
      build_detector("xception", 71)
      build_detector("small_cnn", 32, weights=None)

  def test_mixed_precision_logits_are_float32(self):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
      for name, size in (("small_cnn", 32), ("efficientnetb0", 32)):
        detector = build_detector(name, size)
        self.assertEqual(get_backbone(detector).compute_dtype, "bfloat16")
        self.assertEqual(detector(_images(size)).dtype, tf.float32)
    finally:
      keras.config.set_dtype_policy("float32")

  def test_small_cnn_width_and_fit(self):
    narrow = build_detector("small_cnn", 32, width=8)
    self.assertLess(narrow.count_params(), build_detector("small_cnn", 32).count_params())
    self.assertEqual(get_backbone(narrow).output.shape[-1], 64)
    narrow.compile(optimizer="adam", jit_compile=False,
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = narrow.fit(_images(32, batch=4), np.array([0, 1, 0, 1]), verbose=0)
    self.assertTrue(np.isfinite(history.history["loss"][0]))

  def test_drop_connect(self):
    def rates(detector):
      return [layer.rate for layer in get_backbone(detector).layers
              if isinstance(layer, keras.layers.Dropout)]
    default = rates(build_detector("efficientnetb0", 32))
    self.assertBetween(max(default), 0.15, 0.2)  # keras: 0.2 * b / blocks, b < blocks
    self.assertAllClose(rates(build_detector("efficientnetb0", 32, drop_connect=0.4)),
                        [2 * r for r in default])
    self.assertAllEqual(rates(build_detector("efficientnetb0", 32, drop_connect=0.0)),
                        [0.0] * len(default))

  def test_scaling_per_family(self):
    for name, size in (("efficientnetb0", 32), ("xception", 71), ("small_cnn", 32)):
      layer = build_detector(name, size).get_layer("input_scaling")
      family = "efficientnet" if name.startswith("efficientnet") else name
      self.assertEqual((layer.scale, layer.offset), INPUT_SCALING[family])

  def test_registered_families(self):
    for name in ("mobilenet025", "mobilenet050", "mobilenet075", "mobilenet100",
                 "mobilenetv2", "mobilenetv3small", "mobilenetv3large", "resnet50"):
      self.assertIn(name, BACKBONES)
    self.assertEqual(get_backbone(build_detector("mobilenet050", 32)).name,
                     "mobilenet_0.50_32")

  def test_legacy_hdf5_weights_at_another_size(self):
    # Keras' own application files (*_no_top.h5) are legacy HDF5: a tiny MobileNet's
    # weights written in that layout at 32 px load into a 48 px detector.
    source = keras.applications.MobileNet(alpha=0.25, include_top=False, weights=None,
                                          input_shape=(32, 32, 3))
    path = os.path.join(self.get_temp_dir(), "mobilenet_2_5_32_tf_no_top.h5")
    save_legacy_hdf5(source, path)
    detector = build_detector("mobilenet025", 48, weights=path)
    for ours, theirs in zip(get_backbone(detector).weights, source.weights):
      self.assertAllClose(ours, theirs, msg=ours.path)
    with self.assertRaisesRegex(ValueError, "does not fit backbone 'mobilenetv2'.*_no_top"):
      build_detector("mobilenetv2", 32, weights=path)

  def test_random_weights_warn_once(self):
    from dfadv_tf.models import backbones  # pylint: disable=g-import-not-at-top
    backbones._WARNED_RANDOM.discard("mobilenet025")
    with self.assertLogs(level="WARNING") as logs:
      build_detector("mobilenet025", 32)
      build_detector("mobilenet025", 32)
    warned = [r for r in logs.output if "random weights" in r]
    self.assertLen(warned, 1)
    self.assertIn("need pretrained weights", warned[0])
    self.assertNotIn("\n", warned[0].split(":", 2)[-1])

  @pytest.mark.skipif(not os.path.exists(SHARED_MOBILENET),
                      reason=f"{SHARED_MOBILENET} is absent (the shared weights live beside "
                      "the checkout, ../shared; a fresh clone has none)")
  def test_shared_keras_mobilenet_file(self):
    detector = build_detector("mobilenet025", 64, weights=SHARED_MOBILENET)
    kernel = get_backbone(detector).get_layer("conv1").kernel
    with h5py.File(SHARED_MOBILENET, "r") as f:
      expected = np.asarray(f["conv1"]["conv1/kernel:0"])
    self.assertAllClose(kernel, expected)
    self.assertGreater(float(np.std(expected)), 0.01)  # trained, not a fresh init

  def test_invalid_arguments(self):
    with self.assertRaisesRegex(ValueError, r"'resnet18'.*efficientnetb0.*xception"):
      build_detector("resnet18", 32)
    with self.assertRaisesRegex(ValueError, "width applies to 'small_cnn' only"):
      build_detector("xception", 71, width=8)
    with self.assertRaisesRegex(ValueError, "no such file"):
      build_detector("small_cnn", 32, weights="/nonexistent/b.weights.h5")
    with self.assertRaisesRegex(ValueError, "no ImageNet weights"):
      build_detector("small_cnn", 32, weights="imagenet")
    with self.assertRaisesRegex(ValueError, r"dropout must be >= 0.0 and < 1.0"):
      build_detector("small_cnn", 32, dropout=1.0)
    with self.assertRaisesRegex(ValueError, "image_size must be"):
      build_detector("small_cnn", (32,))

  @pytest.mark.slow
  def test_every_backbone_builds(self):
    for name in BACKBONES:
      size = 71 if "xception" in name else 32
      self.assertEqual(tuple(build_detector(name, size)(_images(size, batch=1)).shape),
                       (1, 2), name)


if __name__ == "__main__":
  tf.test.main()
