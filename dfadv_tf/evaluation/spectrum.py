"""How much fine detail fakes have relative to reals, band by band, inside the face.

The measure (`band_energies`): each image is turned to grey level (ITU-R 601 luma, 0-255),
resized to `size` x `size` (area interpolation), and split into difference-of-Gaussians
bands with Gaussian blurs G_s at s = 0.5, 1, 2, 4 px of that size (reflected borders):

    band "<0.5"   = g - G_0.5 g       (finest detail, ~Nyquist)
    band "0.5-1"  = G_0.5 g - G_1 g
    band "1-2"    = G_1 g - G_2 g
    band "2-4"    = G_2 g - G_4 g     (coarse structure)
    "hp1"         = g - G_1 g          (one number: the high-pass energy at sigma 1 px)

Each band's energy is its mean square over the central half of the crop (the middle
size/2 x size/2 pixels: inside the face for FF++-style crops, away from the background
and the blending boundary of most manipulations' masks, not from all of it). A method's
ratio in a band is the mean energy of its fakes over the mean energy of the reals of the
same split and quality (`ratios`): 1 means as much detail as real faces; < 1 smoother.

`REAL_SAMPLE_RATIOS` holds the ratios measured on the real FF++ face-crop sample (see
docs/benchmark.md for the command and the data), the target of the built-in benchmark.
"""

import cv2
import numpy as np

SIGMAS = (0.5, 1.0, 2.0, 4.0)
BANDS = ("<0.5", "0.5-1", "1-2", "2-4", "hp1")

# The real FF++ face-crop sample (../shared/data/ffpp_faces_sample, compression not
# stated, probably c23; preprocessed with `dfadv-preprocess --layout=folder
# --face_detector=none`, 256 px crops; train split, the first 400 records of each class),
# fakes / reals per band in the order of BANDS, at 64 and 128 px. Measured with
# `python benchmarks/spectrum.py --data_root=... --dataset=ffpp_sample --sizes=64,128`
# (docs/benchmark.md).
REAL_SAMPLE_RATIOS = {
    64: {"Deepfakes": (0.598, 0.685, 0.822, 0.921, 0.660),
         "Face2Face": (0.853, 0.856, 0.898, 0.934, 0.855),
         "FaceSwap": (0.891, 0.877, 0.909, 0.960, 0.880),
         "NeuralTextures": (0.864, 0.891, 0.949, 0.997, 0.883)},
    128: {"Deepfakes": (0.412, 0.524, 0.690, 0.819, 0.494),
          "Face2Face": (0.839, 0.840, 0.856, 0.897, 0.839),
          "FaceSwap": (0.970, 0.909, 0.877, 0.908, 0.923),
          "NeuralTextures": (0.767, 0.829, 0.892, 0.948, 0.813)},
}


def band_energies(images, size=64, sigmas=SIGMAS):
  """(N, len(BANDS)) float64: per image, the energies of the bands (module docstring).

  Args:
    images: uint8 RGB images, an array (N, H, W, 3) or a list of (H, W, 3) of any sizes.
    size: side the images are resized to before the bands are taken.
    sigmas: the blur scales in pixels of that size (increasing); the bands are
      g - G_s0 g, G_s0 g - G_s1 g, ..., then g - G_1 g.
  """
  if size < 8:
    raise ValueError(f"size must be >= 8 pixels, got {size!r}")
  out = []
  lo, hi = size // 4, size // 4 + size // 2
  for image in images:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
      raise ValueError(f"images must be RGB (H, W, 3), got shape {image.shape}")
    grey = cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
    blurred = [grey] + [cv2.GaussianBlur(grey, (0, 0), s, borderType=cv2.BORDER_REFLECT_101)
                        for s in sigmas]
    bands = [blurred[i] - blurred[i + 1] for i in range(len(sigmas))]
    one = cv2.GaussianBlur(grey, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT_101)
    bands.append(grey - one)
    out.append([float(np.mean(np.square(b[lo:hi, lo:hi]), dtype=np.float64)) for b in bands])
  return np.asarray(out, np.float64).reshape(-1, len(sigmas) + 1)


def ratios(real, fake):
  """Per band, mean energy of `fake` over mean energy of `real` ((N, bands) arrays)."""
  real, fake = np.asarray(real), np.asarray(fake)
  if not len(real) or not len(fake):
    raise ValueError(f"ratios need reals and fakes, got {len(real)} and {len(fake)} images")
  return fake.mean(0) / real.mean(0)


def records_images(root, dataset, method, quality, split="train", limit=None):
  """Up to `limit` decoded uint8 RGB images of one method and quality of a records
  dataset (`dfadv_tf.data.records`), in shard order."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from dfadv_tf.data import records  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  shards = records.select_shards(root, dataset, [method], [quality], split)
  images = []
  for shard in shards:
    for serialized in tf.data.TFRecordDataset(os.path.join(root, dataset, shard["path"])):
      if limit is not None and len(images) >= limit:
        return images
      encoded = records.parse_example(serialized)["image"]
      images.append(tf.io.decode_image(encoded, channels=3, expand_animations=False).numpy())
  return images


def records_ratios(root, dataset, split="train", sizes=(64,), limit=None, qualities=None,
                   log=None):
  """{quality: {method: {size: ratios (len(BANDS),)}}} of every fake method of a records
  dataset against its real method(s) of the same quality."""
  from dfadv_tf.data import records  # pylint: disable=g-import-not-at-top
  shards = records.select_shards(root, dataset, None, qualities, split)
  real = sorted({s["method"] for s in shards if s["label"] == records.REAL_LABEL})
  fake = sorted({s["method"] for s in shards if s["label"] == records.FAKE_LABEL})
  out = {}
  for quality in sorted({s["quality"] for s in shards}):
    images = {m: records_images(root, dataset, m, quality, split, limit) for m in real + fake}
    reals = [x for m in real for x in images[m]]
    for method in fake:
      if not reals or not images[method]:
        continue
      for size in sizes:
        value = ratios(band_energies(reals, size), band_energies(images[method], size))
        out.setdefault(quality, {}).setdefault(method, {})[size] = value
      if log:
        log(f"  {quality} {method}: {len(images[method])} fakes, {len(reals)} reals")
  return out
