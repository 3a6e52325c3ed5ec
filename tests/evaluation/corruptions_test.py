"""Tests for dfadv_tf.evaluation.corruptions: every entry, its units, its determinism."""

import numpy as np
import tensorflow as tf

from dfadv_tf.evaluation import corruptions
from dfadv_tf.ops.blur import pixel_gaussian_blur
from tests.testing.data import random_images
from tests.testing.models import tiny_detector

SEED = tf.constant([0, 1], tf.int32)


def smooth_images():
  """Four 32 px images with structure at several scales (so every corruption shows)."""
  y, x = np.mgrid[0:32, 0:32] / 32.0
  base = np.stack([np.sin(6 * x + 3 * y), np.cos(9 * y), np.sin(14 * x * y)], -1)
  noise = random_images((4, 32, 32, 3), seed=3, low=-0.3, high=0.3)
  return np.clip(0.6 * base[None] + noise, -1, 1).astype(np.float32)


class CorruptionsTest(tf.test.TestCase):

  def apply(self, name, severity, images=None, **kwargs):
    images = smooth_images() if images is None else images
    return corruptions.get(name).apply(tf.constant(images), severity, seed=SEED,
                                       **kwargs).numpy()

  def test_image_corruptions_keep_shape_and_range_and_grow_with_severity(self):
    images = smooth_images()
    for name in ("jpeg", "blur", "noise", "resize"):
      entry = corruptions.get(name)
      self.assertFalse(entry.white_box)
      changes = []
      for severity in entry.severities:
        out = self.apply(name, severity, images)
        self.assertEqual(out.shape, images.shape, name)
        self.assertEqual(out.dtype, np.float32, name)
        self.assertBetween(out.min(), -1.0, 1.0)
        self.assertBetween(out.max(), -1.0, 1.0)
        self.assertAllEqual(out, self.apply(name, severity, images), msg=name)  # same seed
        changes.append(float(np.mean(np.abs(out - images))))
      self.assertEqual(changes, sorted(changes), f"{name}: {changes}")
      self.assertGreater(changes[-1], changes[0], name)

  def test_h264_grows_with_crf_and_codes_every_image_alone(self):
    images = smooth_images()
    entry = corruptions.get("h264")
    self.assertEqual(entry.severities, (23, 28, 33, 38, 43))
    self.assertFalse(entry.white_box)
    changes = []
    for crf in entry.severities:
      out = self.apply("h264", crf, images)
      self.assertEqual(out.shape, images.shape)
      self.assertEqual(out.dtype, np.float32)
      self.assertBetween(out.min(), -1.0, 1.0)
      self.assertBetween(out.max(), -1.0, 1.0)
      self.assertAllEqual(out, self.apply("h264", crf, images))  # deterministic
      changes.append(float(np.mean(np.abs(out - images))))
    self.assertEqual(changes, sorted(changes), changes)
    self.assertGreater(changes[-1], changes[0])
    # Image i alone is image i of the batch, whatever the other images are.
    batch = self.apply("h264", 33, images)
    for i in range(len(images)):
      self.assertAllEqual(self.apply("h264", 33, images[i:i + 1])[0], batch[i])
    self.assertAllEqual(self.apply("h264", 33, images[::-1])[::-1], batch)
    # Odd sides (4:2:0 padding), inside a tf.function, of a batch with unknown size.
    odd = smooth_images()[:2, :31, :29]
    fn = tf.function(lambda x: entry.apply(x, 28, seed=SEED),
                     input_signature=[tf.TensorSpec((None, 31, 29, 3), tf.float32)])
    self.assertEqual(fn(tf.constant(odd)).shape, odd.shape)
    # CRF 0 is near-lossless on a grey image (no 4:2:0 chroma loss): within ~1 grey level.
    grey = np.repeat(images[:1, :, :, :1], 3, axis=-1)
    self.assertLess(np.mean(np.abs(self.apply("h264", 0, grey) - grey)), 2 * 1.5 / 255)

  def test_blur_sigma_is_in_pixels(self):
    impulse = np.full((1, 33, 33, 3), 0.0, np.float32)
    impulse[0, 16, 16] = 1.0
    out = self.apply("blur", 1.5, impulse)[0, :, :, 0]
    u = np.arange(33) - 16
    variance = np.sum(out * u[None, :] ** 2) / np.sum(out)
    self.assertAllClose(variance, 1.5**2, rtol=0.05)
    flat = np.full((1, 16, 16, 3), 0.25, np.float32)
    self.assertAllClose(self.apply("blur", 2.0, flat), flat, atol=1e-6)
    # The pixel-wise blur of Eq. 4-5 with a constant map is the same filter.
    images = smooth_images()
    reference = pixel_gaussian_blur(images, tf.fill((4, 32, 32, 1), 1.0), 7, method="patches")
    self.assertAllClose(self.apply("blur", 1.0, images), reference, atol=1e-5)

  def test_noise_std_is_in_grey_levels_and_follows_the_seed(self):
    grey = np.zeros((2, 64, 64, 3), np.float32)
    out = self.apply("noise", 8.0, grey)
    self.assertAllClose(np.std(out), 8.0 * 2 / 255, rtol=0.05)
    other = corruptions.get("noise").apply(tf.constant(grey), 8.0,
                                           seed=tf.constant([0, 2])).numpy()
    self.assertGreater(np.mean(np.abs(out - other)), 0.01)
    # The severities scale one pattern.
    self.assertAllClose(self.apply("noise", 4.0, grey), out / 2, atol=1e-6)

  def test_resize_scale_one_is_the_identity(self):
    images = smooth_images()
    self.assertAllClose(self.apply("resize", 1.0, images), images, atol=1e-5)

  def test_white_box_attacks_attack_the_model(self):
    images = random_images((4, 32, 32, 3), seed=1)
    labels = tf.constant([0, 1, 0, 1])
    detector = tiny_detector()
    fgsm = self.apply("fgsm", 4.0, images, model=detector, labels=labels)
    self.assertAllClose(np.max(np.abs(fgsm - images)), 8 / 255, atol=1e-6)  # 4 grey levels
    values = {"bat_steps": 1, "kernel_size": 3}
    weak = self.apply("bat", 1.0, images, model=detector, labels=labels, values=values)
    strong = self.apply("bat", 1000.0, images, model=detector, labels=labels, values=values)
    self.assertEqual(weak.shape, images.shape)
    self.assertNotAllClose(weak, strong)
    with self.assertRaisesRegex(ValueError, "white-box attack: it needs the model"):
      self.apply("fgsm", 1.0, images)

  def test_registry_and_bad_severities(self):
    self.assertEqual(sorted(corruptions.CORRUPTIONS),
                     ["bat", "blur", "fgsm", "h264", "jpeg", "noise", "resize"])
    with self.assertRaisesRegex(ValueError, r"unknown corruption 'h265'; expected one of"):
      corruptions.get("h265")
    with self.assertRaisesRegex(ValueError, "registered twice"):
      corruptions.register("jpeg", "quality", (50,))(lambda images, severity, **_: images)
    for name, severity, message in (("jpeg", 101, r"\[0, 100\]"), ("blur", 0.0, "> 0 px"),
                                    ("noise", -1.0, ">= 0"), ("resize", 1.5, r"\(0, 1\]"),
                                    ("h264", 52, r"\[0, 51\]")):
      with self.assertRaisesRegex(ValueError, message):
        self.apply(name, severity)

  def test_severities_are_checked_before_any_image(self):
    for name, severity, message in (
        ("jpeg", 150, r"jpeg severity \(JPEG quality\) must be >= 0.0 and <= 100, got 150"),
        ("jpeg", float("nan"), "jpeg severity .* must be finite, got nan"),
        ("blur", 0.0, "blur severity .* must be > 0.0"),
        ("resize", 1.5, "resize severity .* <= 1.0"), ("h264", 52, "<= 51"),
        ("noise", -1.0, ">= 0.0"), ("fgsm", float("inf"), "must be finite")):
      with self.assertRaisesRegex(ValueError, message):
        corruptions.get(name).check(severity)
    for corruption in corruptions.CORRUPTIONS.values():  # the defaults are valid
      for severity in corruption.severities:
        corruption.check(severity)


if __name__ == "__main__":
  tf.test.main()
