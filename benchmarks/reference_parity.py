"""Numerical parity with the paper's PyTorch reference code (`reference_compare.py --parity`).

Three differences, each the largest absolute difference of the two sides' outputs on the
same random inputs (float32, CPU):

  generator  our `BlurGenerator(width=64, n_blocks=3)` with its weights copied into the
             reference's `kernels.pixelKernelGenerator(n_blocks=3, ngf=64, BatchNorm2d)`:
             the inverse-variance maps (after the reference's clamp to [1, 1e12]), in
             training mode (batch statistics; the mode both sides' games run the
             generators in) and in inference mode (the moving statistics after that
             training-mode call; these differ by torch's N / (N - 1) correction of the
             moving variance, which Keras does not make). Also the pre-clamp output. The
             generator's down- and up-sampling must place each output where torch's
             Conv2d(stride 2, padding 1) / ConvTranspose2d(padding 1, output_padding 1) do;
             a one-pixel offset shows here as an O(1) difference. Target <= 1e-4 (training
             mode).
  blur       the reference's `kernels.PixelGaussian(radius=k)` against our
             `pixel_gaussian_blur(..., k)` on images in [-1, 1] and maps in [0.05, 4].
  detector   one detector update as the reference's training loop makes it (mean
             cross-entropy over [real, fake, blurred real, blurred fake], `radam.RAdam`
             lr 5e-4 weight decay 5e-4) against ours (`DetectorModel.detector_update` with
             the blurred rows as the adversarial rows, the default RAdam): the largest
             difference of the updated weights, on a small detector defined alike on both
             sides (conv3 stride 2 + ReLU + global average pooling + linear, 2 logits; the
             reference's label order real = 1 is mapped to ours, real = 0).

  python benchmarks/reference_compare.py --reference_repo=/path/to/deepfake_adv --parity
  python benchmarks/reference_parity.py /path/to/deepfake_adv [size]     # the same
"""

import contextlib
import importlib
import sys

import numpy as np

GENERATOR_TARGET = 1e-4


@contextlib.contextmanager
def cpu_for_cuda(torch):
  """The reference builds some constant tensors with `.cuda()`; here they stay on the CPU."""
  cuda = torch.Tensor.cuda
  torch.Tensor.cuda = lambda self, *args, **kwargs: self
  try:
    yield
  finally:
    torch.Tensor.cuda = cuda


def _import_reference(repo, *names):
  sys.path.insert(0, repo)
  try:
    return [importlib.import_module(n) for n in names]
  finally:
    sys.path.remove(repo)


def _torch_layers(model, torch):
  """The reference generator's convs and batch norms, in the order they run."""
  kinds = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.BatchNorm2d)
  return [m for m in model.modules() if isinstance(m, kinds)]


def _our_layers(generator):
  layers = [generator.stem[1], generator.stem[2]]
  for _, conv, bn in generator.down:
    layers += [conv, bn]
  for block in generator.blocks:
    for _, conv, bn in block:
      layers += [conv, bn]
  for conv, _, bn in generator.up:
    layers += [conv, bn]
  return layers + [generator.head]


def copy_generator_weights(generator, reference, torch):
  """Copies our generator's weights and moving statistics into the reference's modules."""
  ours, theirs = _our_layers(generator), _torch_layers(reference, torch)
  if len(ours) != len(theirs):
    raise ValueError(f"layer counts differ: ours {len(ours)}, the reference's {len(theirs)}")
  with torch.no_grad():
    for mine, other in zip(ours, theirs):
      if isinstance(other, torch.nn.BatchNorm2d):
        for name, value in (("weight", mine.gamma), ("bias", mine.beta),
                            ("running_mean", mine.moving_mean),
                            ("running_var", mine.moving_variance)):
          getattr(other, name).copy_(torch.from_numpy(np.asarray(value)))
        other.momentum = 1.0 - mine.momentum  # torch: new = (1 - m) old + m batch
        other.eps = mine.epsilon
        continue
      kernel = np.asarray(mine.kernel)
      # Keras Conv2D (kh, kw, in, out) -> torch (out, in, kh, kw); Keras
      # Conv2DTranspose (kh, kw, out, in) -> torch ConvTranspose2d (in, out, kh, kw).
      other.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
      if other.bias is not None:
        other.bias.copy_(torch.from_numpy(np.asarray(mine.bias)))


def generator_parity(repo, size=64, batch=4, seed=0):
  """{train, inference, pre_clamp_train}: the largest |ours - reference| of the maps."""
  import keras  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from dfadv_tf.models.generator import BlurGenerator  # pylint: disable=g-import-not-at-top
  kernels, = _import_reference(repo, "kernels")
  keras.utils.set_random_seed(seed)
  ours = BlurGenerator(width=64, n_blocks=3)
  ours.build((None, size, size, 3))
  with contextlib.redirect_stdout(None):  # init_weights prints
    reference = kernels.pixelKernelGenerator(n_blocks=3, ngf=64, norm_layer=torch.nn.BatchNorm2d,
                                             output_nc=1)
  copy_generator_weights(ours, reference, torch)
  images = np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
  x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
  result = {}
  reference.train()
  with torch.no_grad():
    pre = reference.model(x).numpy().transpose(0, 2, 3, 1)
    theirs = reference(x).numpy().transpose(0, 2, 3, 1)
  # The reference's batch norms ran twice (pre-clamp and map), so its moving statistics
  # moved twice; ours move twice too.
  for _ in range(2):
    mine = np.asarray(ours(images, training=True))
  result["train"] = float(np.abs(mine - theirs).max())
  out = np.asarray(ours.head(ours.head_pad(_trunk(ours, images, training=True))))
  result["pre_clamp_train"] = float(np.abs(out ** 2 - pre ** 2).max())
  reference.eval()
  with torch.no_grad():
    theirs = reference(x).numpy().transpose(0, 2, 3, 1)
  mine = np.asarray(ours(images, training=False))
  result["inference"] = float(np.abs(mine - theirs).max())
  result["map_range"] = (float(theirs.min()), float(theirs.max()))
  return result


def _trunk(generator, images, training):
  """Our generator's features before its head (the same layers `call` runs), without
  updating the moving statistics (a copy is restored)."""
  keep = [np.asarray(v) for v in generator.non_trainable_weights]
  from keras import ops  # pylint: disable=g-import-not-at-top
  pad, stem_conv, stem_bn = generator.stem
  x = ops.relu(stem_bn(stem_conv(pad(images)), training=training))
  for pad, conv, bn in generator.down:
    x = ops.relu(bn(conv(pad(x)), training=training))
  for (pad0, conv0, bn0), (pad1, conv1, bn1) in generator.blocks:
    y = ops.relu(bn0(conv0(pad0(x)), training=training))
    x = x + bn1(conv1(pad1(y)), training=training)
  for conv, crop, bn in generator.up:
    x = ops.relu(bn(crop(conv(x)), training=training))
  for variable, value in zip(generator.non_trainable_weights, keep):
    variable.assign(value)
  return ops.cast(x, "float32")


def blur_parity(repo, size=64, kernel_size=9, batch=4, seed=0):
  """The largest |ours - reference| of the pixel-wise Gaussian blur."""
  import torch  # pylint: disable=g-import-not-at-top
  from dfadv_tf.ops.blur import pixel_gaussian_blur  # pylint: disable=g-import-not-at-top
  kernels, = _import_reference(repo, "kernels")
  rng = np.random.default_rng(seed)
  images = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
  inv_var = rng.uniform(0.05, 4.0, (batch, size, size, 1)).astype(np.float32)
  with cpu_for_cuda(torch):
    gaussian = kernels.PixelGaussian(radius=kernel_size, image_size=size)
  with torch.no_grad():
    theirs = gaussian(torch.from_numpy(images.transpose(0, 3, 1, 2).copy()),
                      torch.from_numpy(inv_var.transpose(0, 3, 1, 2).copy()))
  mine = np.asarray(pixel_gaussian_blur(images, inv_var, kernel_size))
  return float(np.abs(mine - theirs.numpy().transpose(0, 2, 3, 1)).max())


def detector_update_parity(repo, size=32, batch=4, seed=0):
  """The largest |ours - reference| of a small detector's weights after one update."""
  import keras  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from dfadv_tf.training import DetectorModel  # pylint: disable=g-import-not-at-top
  radam, = _import_reference(repo, "radam")
  keras.utils.set_random_seed(seed)
  detector = keras.Sequential([
      keras.Input((size, size, 3)), keras.layers.ZeroPadding2D(1),
      keras.layers.Conv2D(8, 3, strides=2), keras.layers.ReLU(),
      keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
  conv, dense = detector.layers[1], detector.layers[4]
  reference = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
                                  torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                  torch.nn.Linear(8, 2))
  swap = [1, 0]  # the reference's logit 1 is real, ours is fake
  with torch.no_grad():
    reference[0].weight.copy_(torch.from_numpy(np.asarray(conv.kernel).transpose(3, 2, 0, 1).copy()))
    reference[0].bias.copy_(torch.from_numpy(np.asarray(conv.bias)))
    reference[4].weight.copy_(torch.from_numpy(np.asarray(dense.kernel).T[swap].copy()))
    reference[4].bias.copy_(torch.from_numpy(np.asarray(dense.bias)[swap].copy()))
  rng = np.random.default_rng(seed)
  real, fake, blurred_real, blurred_fake = (
      rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32) for _ in range(4))
  # Reference: one step of its loop on [real, fake, blurred real, blurred fake].
  optimizer = radam.RAdam(reference.parameters(), lr=5e-4, weight_decay=5e-4)
  rows = np.concatenate([real, fake, blurred_real, blurred_fake]).transpose(0, 3, 1, 2)
  labels = torch.tensor([1] * batch + [0] * batch + [1] * batch + [0] * batch)
  optimizer.zero_grad()
  loss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(rows.copy())), labels)
  loss.backward()
  optimizer.step()
  # Ours: the clean rows [real, fake] and the adversarial rows [blurred real, blurred fake].
  model = DetectorModel(detector)
  model.add_adversarial_trackers()  # the clean / adversarial losses a mode with rows tracks
  model.compile()
  ours_labels = np.array([0] * batch + [1] * batch, np.int32)
  model.detector_update(np.concatenate([real, fake]), ours_labels,
                        np.concatenate([blurred_real, blurred_fake]))
  pairs = [(np.asarray(conv.kernel).transpose(3, 2, 0, 1), reference[0].weight),
           (np.asarray(conv.bias), reference[0].bias),
           (np.asarray(dense.kernel).T[swap], reference[4].weight),
           (np.asarray(dense.bias)[swap], reference[4].bias)]
  return float(max(np.abs(mine - theirs.detach().numpy()).max() for mine, theirs in pairs))


def run(repo, size=64, kernel_size=9, log=print):
  """Prints the three differences; returns them ({name: float})."""
  import warnings  # pylint: disable=g-import-not-at-top
  warnings.filterwarnings("ignore", category=UserWarning, module="radam")
  generator = generator_parity(repo, size)
  blur = blur_parity(repo, size, kernel_size)
  detector = detector_update_parity(repo)
  ok = generator["train"] <= GENERATOR_TARGET
  log(f"parity with the reference ({size} px, float32, CPU), largest |ours - reference|:")
  log(f"  generator map, training mode   {generator['train']:.3g}   (target <= "
      f"{GENERATOR_TARGET:g}: {'met' if ok else 'NOT MET'})")
  log(f"  generator map, inference mode  {generator['inference']:.3g}   (map range "
      f"{generator['map_range'][0]:.3g} .. {generator['map_range'][1]:.3g}; torch's moving "
      "variance takes the unbiased batch variance, N / (N - 1) times Keras')")
  log(f"  generator output^2 before the clamp, training mode  "
      f"{generator['pre_clamp_train']:.3g}")
  log(f"  blur (k = {kernel_size})                   {blur:.3g}")
  log(f"  one detector update (weights)  {detector:.3g}")
  return {"generator_train": generator["train"], "generator_inference": generator["inference"],
          "generator_pre_clamp": generator["pre_clamp_train"], "blur": blur,
          "detector_update": detector}


if __name__ == "__main__":
  import os  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  run(sys.argv[1], size=int(sys.argv[2]) if len(sys.argv) > 2 else 64)
