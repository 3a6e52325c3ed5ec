"""The built-in offline benchmark: procedurally rendered faces in the FF++ layout.

A small, deterministic stand-in for FaceForensics++ that needs no download. Each
identity is one real 'video' (method `youtube`) of a few frames of a cartoon face drawn
with OpenCV (head shape, skin tone, eyes, iris colour, brows, nose, mouth, hair, ears,
freckles, directional lighting, textured background; small head motion, blinks and
mouth movement across frames). Four manipulations mimic the artifact families of FF++:

- `Deepfakes`: the source identity's inner face, rendered in the target's pose through
  a low-resolution bottleneck (autoencoder blur), colour-corrected to the target's mean
  (a small mismatch remains) and pasted with a feathered blending boundary.
- `Face2Face`: expression re-enactment: the mouth is opened and the eyes narrowed by a
  smooth warp, re-sampled and slightly smoothed, blended into the face.
- `FaceSwap`: the inner face is regenerated at half resolution and up-sampled with
  nearest neighbour plus a checkerboard pattern (transposed-convolution artifacts).
- `NeuralTextures`: the mouth and chin are re-rendered with smoothed skin and a faint
  high-frequency texture pattern (neural-texture-like).

Fakes of identity pair (t, s) are videos `t_s` as in FF++ (target t, source s).
Qualities: `raw` (lossless PNG) and, as FF++ made them, H.264 at CRF 23 (`c23`) and 40
(`c40`): the videos of a shard are encoded with libx264 (`dfadv_tf.data.codecs`, the
ffmpeg of the imageio-ffmpeg wheel), each video its own group of pictures, and the
decoded frames stored as PNG. `DemoConfig(codec="jpeg")` uses JPEG at quality 75 / 25 per frame
instead (the benchmark before H.264). Identities are split 70/15/15 into
train/val/test. Everything is seeded.
"""

import dataclasses
import time

import cv2
import numpy as np

from dfadv_tf import checks
from dfadv_tf.data import codecs
from dfadv_tf.data import records
from dfadv_tf.data.datasets import FFPP_REAL

# The renderer's version: written into the benchmark's index ("builder") with the
# DemoConfig; a benchmark written by another version or config is refused, not mixed.
VERSION = 2
DEFAULT_ROOT = "./demo_data"
DEFAULT_DATASET = "ffpp_demo"
FAKE_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
METHODS = (FFPP_REAL,) + FAKE_METHODS
QUALITIES = ("raw", "c23", "c40")
JPEG_QUALITY = {"c23": 75, "c40": 25}
CODECS = ("h264", "jpeg")
SPLIT_FRACTIONS = (("train", 0.7), ("val", 0.15), ("test", 0.15))


@dataclasses.dataclass(frozen=True)
class DemoConfig:
  """Size of the benchmark.

  identities: number of identities (= real videos; each also gets one fake per method).
  frames: frames per video.
  image_size: side of the rendered frames in pixels (the face fills ~70% of it).
  seed: the seed everything derives from.
  codec: how c23 / c40 are made, "h264" (CRF 23 / 40, each video one group of
    pictures) or "jpeg" (quality 75 / 25 per frame).
  """
  identities: int = 240
  frames: int = 6
  image_size: int = 64
  seed: int = 0
  codec: str = "h264"


def _rng(*keys):
  return np.random.default_rng([abs(hash_key(k)) for k in keys])


def hash_key(key):
  """A stable (process-independent) integer for a string or int."""
  if isinstance(key, int):
    return key
  return int.from_bytes(str(key).encode("utf-8")[:16].ljust(16, b"\0"), "little") % (2**63)


def sample_identity(seed, identity):
  """The fixed appearance parameters of one identity (dict of floats and colours)."""
  rng = _rng(seed, "identity", identity)
  tone = rng.uniform()
  skin = np.array([235, 200, 175]) * (1 - tone) + np.array([95, 60, 40]) * tone
  return {
      "skin": skin + rng.normal(0, 8, 3),
      "hair": rng.uniform(10, 200) * np.array([1.0, rng.uniform(.6, .9), rng.uniform(.3, .7)]),
      "hair_style": rng.integers(0, 3),  # 0 bald, 1 short, 2 long
      "iris": rng.uniform(30, 160, 3),
      "lips": skin * np.array([rng.uniform(.75, .95), rng.uniform(.45, .6), rng.uniform(.45, .6)]),
      "head_w": rng.uniform(.24, .31), "head_h": rng.uniform(.32, .4),
      "eye_gap": rng.uniform(.33, .43), "eye_size": rng.uniform(.16, .24),
      "brow_tilt": rng.uniform(-.08, .08), "brow_thick": rng.uniform(.02, .045),
      "nose_len": rng.uniform(.18, .3), "mouth_w": rng.uniform(.28, .45),
      "background": rng.uniform(20, 235, (2, 3)),
      "light_angle": rng.uniform(0, 2 * np.pi), "light": rng.uniform(.1, .45),
      "freckles": rng.uniform(0, 1, (int(rng.integers(0, 25)), 3)),
      "bg_shapes": rng.uniform(0, 1, (int(rng.integers(2, 6)), 6)),
  }


def sample_frame(seed, identity, frame):
  """The per-frame state of one identity's video: head motion, mouth and blink."""
  rng = _rng(seed, "frame", identity, frame)
  return {"dx": rng.normal(0, .03), "dy": rng.normal(0, .03), "scale": rng.uniform(.93, 1.07),
          "mouth_open": rng.uniform(0, .5), "blink": float(rng.uniform() < .15),
          "noise_seed": int(rng.integers(2**31))}


def _geometry(ident, state, canvas):
  cx = canvas * (.5 + state["dx"])
  cy = canvas * (.54 + state["dy"])
  a = canvas * ident["head_w"] * state["scale"]
  b = canvas * ident["head_h"] * state["scale"]
  return cx, cy, a, b


def render_face(ident, state, size):
  """Draws one frame. Returns (uint8 RGB image (size, size, 3), face geometry dict).

  The geometry (cx, cy, a, b: head centre and half-axes; mouth, eyes: centres) is in
  output pixels.
  """
  canvas = 2 * size
  c = lambda v: tuple(float(x) for x in np.clip(v, 0, 255))
  pt = lambda x, y: (int(round(x * 16)), int(round(y * 16)))
  ax = lambda x, y: (max(int(round(x * 16)), 1), max(int(round(y * 16)), 1))
  ell = lambda img, x, y, w, h, col, ang=0, a0=0, a1=360, t=-1: cv2.ellipse(
      img, pt(x, y), ax(w, h), ang, a0, a1, c(col), t, cv2.LINE_AA, 4)

  yy, xx = np.mgrid[0:canvas, 0:canvas].astype(np.float32) / canvas
  bg0, bg1 = ident["background"]
  img = (bg0 * (1 - xx[..., None]) + bg1 * xx[..., None]).astype(np.float32)
  for x, y, w, h, g, k in ident["bg_shapes"]:
    cv2.rectangle(img, (int(x * canvas), int(y * canvas)),
                  (int((x + w / 2) * canvas), int((y + h / 2) * canvas)),
                  c(bg0 * g + bg1 * (1 - g) + 30 * (k - .5)), -1)
  cx, cy, a, b = _geometry(ident, state, canvas)
  skin, hair = ident["skin"], ident["hair"]
  if ident["hair_style"] == 2:
    ell(img, cx, cy - .1 * b, 1.18 * a, 1.1 * b, hair)
  for side in (-1, 1):
    ell(img, cx + side * a * .97, cy, .16 * a, .25 * b, skin * .9)
  ell(img, cx, cy, a, b, skin)
  for fx, fy, fr in ident["freckles"]:
    ell(img, cx + (fx - .5) * 1.2 * a, cy + (fy - .2) * .8 * b, .02 * a + .02 * a * fr,
        .02 * a + .02 * a * fr, skin * .78)
  if ident["hair_style"] > 0:
    ell(img, cx, cy - .5 * b, 1.02 * a, .55 * b, hair, a0=180, a1=360)
  eye_y = cy - .12 * b
  eyes = []
  for side in (-1, 1):
    ex = cx + side * ident["eye_gap"] * a
    eyes.append((ex, eye_y))
    ew, eh = ident["eye_size"] * a, ident["eye_size"] * a * .55 * (1 - .85 * state["blink"])
    ell(img, ex, eye_y, ew, eh, (245, 245, 240))
    if not state["blink"]:
      ell(img, ex, eye_y, eh * .9, eh * .9, ident["iris"])
      ell(img, ex, eye_y, eh * .4, eh * .4, (15, 15, 15))
    by = eye_y - ident["eye_size"] * a * .9
    tilt = side * ident["brow_tilt"] * a
    cv2.line(img, pt(ex - ew, by + tilt), pt(ex + ew, by - tilt), c(hair * .8),
             max(int(ident["brow_thick"] * a * 2), 1), cv2.LINE_AA, 4)
  nose_top, nose_bot = cy - .05 * b, cy + ident["nose_len"] * b
  cv2.line(img, pt(cx, nose_top), pt(cx + .06 * a, nose_bot), c(skin * .75),
           max(int(.04 * a), 1), cv2.LINE_AA, 4)
  ell(img, cx, nose_bot, .12 * a, .05 * b, skin * .7)
  mouth = (cx, cy + .55 * b)
  mw = ident["mouth_w"] * a
  ell(img, mouth[0], mouth[1], mw, .06 * b + .12 * b * state["mouth_open"], ident["lips"])
  if state["mouth_open"] > .1:
    ell(img, mouth[0], mouth[1], mw * .8, .1 * b * state["mouth_open"], (60, 20, 25))
  theta = ident["light_angle"]
  light = 1 + ident["light"] * ((xx - .5) * np.cos(theta) + (yy - .5) * np.sin(theta))
  img = img * light[..., None]
  img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
  img += np.random.default_rng(state["noise_seed"]).normal(0, 2.0, img.shape)
  scale = size / canvas
  geometry = {"cx": cx * scale, "cy": cy * scale, "a": a * scale, "b": b * scale,
              "mouth": (mouth[0] * scale, mouth[1] * scale),
              "eyes": [(x * scale, y * scale) for x, y in eyes]}
  return np.clip(np.rint(img), 0, 255).astype(np.uint8), geometry


def _ellipse_mask(size, cx, cy, a, b, feather):
  """float32 (size, size) in [0, 1]: a filled ellipse blurred by `feather` px (sigma)."""
  mask = np.zeros((size, size), np.float32)
  cv2.ellipse(mask, (int(round(cx * 16)), int(round(cy * 16))),
              (int(round(a * 16)), int(round(b * 16))), 0, 0, 360, 1.0, -1, cv2.LINE_AA, 4)
  if feather > 0:
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
  return mask


def _blend(target, fake, mask):
  mask = mask[..., None]
  return target.astype(np.float32) * (1 - mask) + fake.astype(np.float32) * mask


def manipulate(method, target, geometry, source=None, seed=0):
  """Applies one FF++-like manipulation to a rendered frame.

  Args:
    method: one of `FAKE_METHODS`.
    target: uint8 RGB (S, S, 3), the real frame.
    geometry: its face geometry from `render_face`.
    source: uint8 RGB (S, S, 3), the source identity rendered in the same pose
      (Deepfakes only).
    seed: seeds the random parts of the manipulation.
  Returns:
    (uint8 RGB fake (S, S, 3), uint8 mask (S, S) of the manipulated region in {0, 255}).
  """
  size = target.shape[0]
  cx, cy, a, b = (geometry[k] for k in ("cx", "cy", "a", "b"))
  rng = np.random.default_rng(seed)
  if method == "Deepfakes":
    low = max(int(size * .75), 4)
    face = cv2.resize(cv2.resize(source, (low, low), interpolation=cv2.INTER_AREA),
                      (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    mask = _ellipse_mask(size, cx, cy + .08 * b, .78 * a, .78 * b, feather=size / 64)
    inside = mask > .5
    face += target[inside].mean(0) - face[inside].mean(0) + rng.uniform(-4, 4, 3)
    fake = _blend(target, np.clip(face, 0, 255), mask)
  elif method == "Face2Face":
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    map_x, map_y = xx.copy(), yy.copy()
    (mx, my), opening = geometry["mouth"], rng.uniform(.25, .4)
    weight = np.exp(-(((xx - mx) / (.5 * a)) ** 2 + ((yy - my) / (.25 * b)) ** 2))
    map_y -= weight * (yy - my) * opening
    for ex, ey in geometry["eyes"]:
      weight = np.exp(-(((xx - ex) / (.25 * a)) ** 2 + ((yy - ey) / (.15 * b)) ** 2))
      map_y += weight * (yy - ey) * rng.uniform(.3, .45)
    warped = cv2.remap(target, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    warped = cv2.GaussianBlur(warped, (0, 0), .5)
    mask = _ellipse_mask(size, cx, cy + .15 * b, .75 * a, .7 * b, feather=size / 32)
    fake = _blend(target, warped, mask)
  elif method == "FaceSwap":
    half = cv2.resize(target, (size // 2, size // 2), interpolation=cv2.INTER_AREA)
    face = cv2.resize(half, (size, size), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    face += rng.uniform(3, 5) * np.where((xx + yy) % 2 == 0, 1.0, -1.0)[..., None]
    mask = _ellipse_mask(size, cx, cy + .05 * b, .8 * a, .8 * b, feather=size / 32)
    fake = _blend(target, np.clip(face, 0, 255), mask)
  elif method == "NeuralTextures":
    smooth = cv2.bilateralFilter(target, 5, 40, 5).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    texture = np.zeros((size, size), np.float32)
    for _ in range(3):
      theta, period = rng.uniform(0, np.pi), rng.uniform(2.5, 4.0)
      texture += np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period
                        + rng.uniform(0, 2 * np.pi))
    smooth += texture[..., None] * rng.uniform(3.0, 4.5) * rng.uniform(.6, 1.0, 3)
    mask = _ellipse_mask(size, geometry["mouth"][0], geometry["mouth"][1] - .05 * b,
                         .6 * a, .42 * b, feather=size / 40)
    fake = _blend(target, np.clip(smooth, 0, 255), mask)
  else:
    raise ValueError(f"method must be one of {FAKE_METHODS}, got {method!r}")
  fake = np.clip(np.rint(fake), 0, 255).astype(np.uint8)
  return fake, (mask > .5).astype(np.uint8) * 255


def compress(frames, quality, codec="h264", frames_per_video=None):
  """Encoded bytes of uint8 RGB frames (N, S, S, 3) at a quality: PNG for raw; for c23 /
  c40 the frames through H.264 at CRF 23 / 40 (the decoded frames as PNG; the frames are
  consecutive videos of `frames_per_video` frames (None: one video), coded in one
  stream with a key frame opening each video, so no video is predicted from another;
  the rate control runs over the whole stream) or, with codec "jpeg", JPEG at quality
  75 / 25 frame by frame."""
  checks.one_of(codec, CODECS, "codec")
  if quality == "raw":
    return [records.encode_image(f, "png") for f in frames]
  if quality not in JPEG_QUALITY:
    raise ValueError(f"quality must be one of {QUALITIES}, got {quality!r}")
  if codec == "jpeg":
    return [records.encode_image(f, "jpeg", JPEG_QUALITY[quality]) for f in frames]
  decoded = codecs.h264(np.stack(frames), codecs.crf_of(quality), keyint=frames_per_video)
  return [records.encode_image(f, "png") for f in decoded]


def split_identities(config):
  """{split: [identity ids]}: a seeded permutation cut 70/15/15."""
  order = _rng(config.seed, "split").permutation(config.identities)
  splits, start = {}, 0
  for i, (name, fraction) in enumerate(SPLIT_FRACTIONS):
    stop = config.identities if i == len(SPLIT_FRACTIONS) - 1 else start + round(
        fraction * config.identities)
    splits[name] = sorted(int(k) for k in order[start:stop])
    start = stop
  return splits


def render_split(config, identities):
  """All frames of one split: {method: [(video_id, [frames], [masks or None])]}.

  Fakes pair each target identity with the next one of the split (cyclically) as source.
  """
  idents = {i: sample_identity(config.seed, i) for i in identities}
  videos = {method: [] for method in METHODS}
  for n, target in enumerate(identities):
    source = identities[(n + 1) % len(identities)]
    states = [sample_frame(config.seed, target, f) for f in range(config.frames)]
    rendered = [render_face(idents[target], s, config.image_size) for s in states]
    videos[FFPP_REAL].append((f"{target:03d}", [r[0] for r in rendered], None))
    sources = [render_face(idents[source], s, config.image_size)[0] for s in states]
    for method in FAKE_METHODS:
      fakes = [manipulate(method, image, geometry, src,
                          seed=hash_key(f"{config.seed}/{method}/{target}/{f}"))
               for f, ((image, geometry), src) in enumerate(zip(rendered, sources))]
      videos[method].append((f"{target:03d}_{source:03d}", [x[0] for x in fakes],
                             [x[1] for x in fakes]))
  return videos


def make_demo_data(root=DEFAULT_ROOT, dataset=DEFAULT_DATASET, config=DemoConfig(),
                   log=print):
  """Writes the benchmark to `<root>/<dataset>` (resumable: complete shards are kept).

  One shard per (split, method, quality). Returns the dataset's index dict.
  """
  if config.identities < 10 or config.frames < 1 or config.image_size < 32:
    raise ValueError(f"DemoConfig needs identities >= 10, frames >= 1 and image_size >= 32, "
                     f"got {config}")
  checks.one_of(config.codec, CODECS, "codec")
  writer = records.ShardedWriter(root, dataset)
  start = time.time()
  for split, identities in split_identities(config).items():
    todo = [(m, q) for m in METHODS for q in QUALITIES
            if not writer.is_complete(split, m, q, "00000")]
    if not todo:
      continue
    videos = render_split(config, identities)
    for method, quality in todo:
      label = records.REAL_LABEL if method == FFPP_REAL else records.FAKE_LABEL
      encoded = iter(compress([f for _, frames, _ in videos[method] for f in frames],
                              quality, config.codec, config.frames))
      examples = (records.make_example(next(encoded), label=label,
                                       dataset=dataset, method=method, quality=quality,
                                       split=split, video_id=video_id, frame_index=f,
                                       mask=None if masks is None else masks[f])
                  for video_id, frames, masks in videos[method]
                  for f in range(len(frames)))
      writer.write(split, method, quality, "00000", examples)
    log(f"{split}: {len(identities)} identities, {len(todo)} shards "
        f"({time.time() - start:.1f} s)")
  return records.read_index(root, dataset)
