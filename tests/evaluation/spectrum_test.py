"""Tests for dfadv_tf.evaluation.spectrum: the band measure and the calibration of the
built-in benchmark against the real FF++ sample."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf.data import synthetic
from dfadv_tf.evaluation import spectrum


class SpectrumTest(tf.test.TestCase):

  def test_blur_lowers_the_fine_bands_most(self):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 64, 64, 3)).astype(np.uint8)
    blurred = np.stack([cv2.GaussianBlur(x, (0, 0), 1.0) for x in images])
    ratios = spectrum.ratios(spectrum.band_energies(images), spectrum.band_energies(blurred))
    self.assertLen(ratios, len(spectrum.BANDS))
    self.assertLess(ratios[0], 0.1)
    self.assertLess(ratios[0], ratios[2])
    self.assertAllClose(spectrum.ratios(spectrum.band_energies(images),
                                        spectrum.band_energies(images)), np.ones(5))

  def test_measures_only_the_central_half(self):
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    edges = np.full((64, 64, 3), 128, np.uint8)
    edges[:4] = noise[:4]  # outside the centre, farther than the blurs reach (mostly)
    full, edge = spectrum.band_energies([noise, edges])
    self.assertAllGreater(full, 1.0)
    self.assertAllLess(edge, 1e-3)

  def test_bad_input(self):
    with self.assertRaisesRegex(ValueError, "RGB"):
      spectrum.band_energies(np.zeros((2, 64, 64)))
    with self.assertRaisesRegex(ValueError, "size"):
      spectrum.band_energies(np.zeros((1, 64, 64, 3)), size=4)
    with self.assertRaisesRegex(ValueError, "reals and fakes"):
      spectrum.ratios(np.zeros((0, 5)), np.ones((2, 5)))

  @pytest.mark.slow
  def test_built_in_benchmark_near_the_real_sample_at_c23(self):
    """A small built-in benchmark's c23 fakes sit within 0.15 of the real sample's ratio
    in every band (0.1 on the full-size benchmark, benchmarks/spectrum.py)."""
    root = self.get_temp_dir()
    synthetic.make_demo_data(root, config=synthetic.DemoConfig(identities=30, frames=3),
                             log=lambda _: None)
    results = spectrum.records_ratios(root, synthetic.DEFAULT_DATASET, "train", (64,),
                                      qualities=["c23"])
    for method, ratios in results["c23"].items():
      self.assertAllClose(ratios[64], spectrum.REAL_SAMPLE_RATIOS[64][method], atol=0.15,
                          msg=method)
    self.assertEqual(synthetic.read_builder(root, synthetic.DEFAULT_DATASET)[
        "renderer_version"], synthetic.VERSION)


if __name__ == "__main__":
  tf.test.main()
