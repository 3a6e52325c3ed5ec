"""The built-in offline benchmark: procedurally rendered faces in the FF++ layout.

A small, deterministic stand-in for FaceForensics++ that needs no download. Each
identity is one real 'video' (method `youtube`) of a few frames of a cartoon face drawn
with OpenCV (head shape, skin tone, eyes, iris colour, brows, nose, mouth, hair, ears,
freckles, directional lighting, textured background; small head motion, blinks and
mouth movement across frames). Four manipulations mimic the artifact families of FF++,
each leaving localised traces inside its mask and losing about as much fine detail
inside the face as the real method does (renderer version 2: fitted band by band against
real FF++ face crops at c23 with `dfadv_tf.evaluation.spectrum`; docs/benchmark.md):

- `Deepfakes`: the source identity's inner face, rendered in the target's pose, through
  an autoencoder-like detail loss, colour-corrected to the target's mean (a mismatch of
  a few levels remains) and pasted with a narrow feathered blending seam.
- `Face2Face`: expression re-enactment: the mouth opened and the eyes narrowed by a
  smooth warp (re-sampled), the re-rendered region's colour slightly off, blended into
  the face.
- `FaceSwap`: the source identity's face mixed with its nearest-neighbour up-sampling
  from half resolution plus a faint checkerboard (up-sampling artifacts), colour-corrected
  to the target but a few levels off, pasted with a hard blending seam.
- `NeuralTextures`: the lower face re-rendered: the mouth re-shaped, smoothed skin with
  an oriented texture of 3.5-6 px periods (which survives H.264) and shading a few
  levels off the rest of the face.

Fakes of identity pair (t, s) are videos `t_s` as in FF++ (target t, source s).
Qualities: `raw` (lossless PNG) and, as FF++ made them, H.264 at CRF 23 (`c23`) and 40
(`c40`): the videos of a shard are encoded with libx264 (`dfadv_tf.data.codecs`, the
ffmpeg of the imageio-ffmpeg wheel), each video its own group of pictures, and the
decoded frames stored as PNG. `DemoConfig(codec="jpeg")` uses JPEG at quality 75 / 25 per frame
instead (no video codec). Identities are split 70/15/15 into
train/val/test. Everything is seeded.
"""

import dataclasses
import os
import time

import cv2
import numpy as np

from dfadv_tf import checks
from dfadv_tf.data import codecs
from dfadv_tf.data import provenance
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


# Per method, how much the manipulated region keeps of the real frame's detail, fitted so
# that each method's fakes sit where the real FF++ sample's do in every band at c23
# (dfadv_tf.evaluation.spectrum, benchmarks/spectrum.py; docs/benchmark.md):
# sigma: the Gaussian (px, of the output size) the re-synthesised face goes through;
# contrast: the factor of its deviations from their local mean (an autoencoder's or a
# renderer's loss of contrast); noise: the std of the sensor noise it keeps (reals: 2).
_DETAIL = {
    "Deepfakes": {"sigma": 0.4, "contrast": 0.9, "noise": 1.0},
    "Face2Face": {"sigma": 0.2, "contrast": 0.97, "noise": 1.0},
    "FaceSwap": {"sigma": 0.0, "contrast": 1.0, "noise": 1.0},
    "NeuralTextures": {"sigma": 0.3, "contrast": 0.9, "noise": 1.4},
}


def _resynthesise(face, method, rng):
  """`face` (float32 (S, S, 3)) with the detail loss of `_DETAIL[method]`."""
  p = _DETAIL[method]
  smooth = cv2.GaussianBlur(face, (0, 0), p["sigma"]) if p["sigma"] > 0 else face
  local = cv2.GaussianBlur(smooth, (0, 0), 4.0)
  return local + p["contrast"] * (smooth - local) + rng.normal(0, p["noise"], face.shape)


def manipulate(method, target, geometry, source=None, seed=0):
  """Applies one FF++-like manipulation to a rendered frame.

  Each leaves localised, method-specific traces (module docstring) and loses about as
  much fine detail inside the face as the real FF++ method does (`_DETAIL`).

  Args:
    method: one of `FAKE_METHODS`.
    target: uint8 RGB (S, S, 3), the real frame.
    geometry: its face geometry from `render_face`.
    source: uint8 RGB (S, S, 3), the source identity rendered in the same pose
      (Deepfakes and FaceSwap).
    seed: seeds the random parts of the manipulation.
  Returns:
    (uint8 RGB fake (S, S, 3), uint8 mask (S, S) of the manipulated region in {0, 255}).
  """
  size = target.shape[0]
  cx, cy, a, b = (geometry[k] for k in ("cx", "cy", "a", "b"))
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
  if method == "Deepfakes":
    # The source's inner face through an autoencoder (detail loss), colour-corrected to
    # the target with a residual mismatch, pasted with a narrow feathered seam.
    face = _resynthesise(source.astype(np.float32), method, rng)
    mask = _ellipse_mask(size, cx, cy + .08 * b, .8 * a, .8 * b, feather=size / 96)
    inside = mask > .5
    face += target[inside].mean(0) - face[inside].mean(0) + rng.uniform(-6, 6, 3)
    fake = _blend(target, np.clip(face, 0, 255), mask)
  elif method == "Face2Face":
    # Expression re-enactment: mouth opened and eyes narrowed by a smooth warp
    # (re-sampled), the re-rendered region slightly smoothed, blended into the face.
    map_x, map_y = xx.copy(), yy.copy()
    (mx, my), opening = geometry["mouth"], rng.uniform(.12, .2)
    weight = np.exp(-(((xx - mx) / (.5 * a)) ** 2 + ((yy - my) / (.3 * b)) ** 2))
    map_y -= weight * (yy - my) * opening
    map_x -= weight * (xx - mx) * rng.uniform(-.15, .15)
    for ex, ey in geometry["eyes"]:
      weight = np.exp(-(((xx - ex) / (.3 * a)) ** 2 + ((yy - ey) / (.18 * b)) ** 2))
      map_y += weight * (yy - ey) * rng.uniform(.2, .3)
    warped = cv2.remap(target, map_x, map_y, cv2.INTER_LANCZOS4,
                       borderMode=cv2.BORDER_REFLECT)
    face = _resynthesise(warped.astype(np.float32), method, rng)
    face *= 1 + rng.uniform(-.03, .03, 3)  # the re-rendered skin's slight colour shift
    mask = _ellipse_mask(size, cx, cy + .12 * b, .8 * a, .78 * b, feather=size / 48)
    fake = _blend(target, np.clip(face, 0, 255), mask)
  elif method == "FaceSwap":
    # A graphics swap: the source identity's face (a fitted face model's texture, in the
    # target's pose) up-sampled from a coarser grid (nearest-neighbour blocks and the
    # grid pattern of two stride-2 up-samplings, 4 px period, which survives H.264),
    # colour-corrected to the target but a few levels off, pasted with a hard seam.
    face = _resynthesise(source.astype(np.float32), method, rng)
    coarse = cv2.resize(face, (size // 2, size // 2), interpolation=cv2.INTER_AREA)
    blocks = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_NEAREST)
    face = .9 * face + .1 * blocks
    period = 4.0 * size / 64
    grid = np.cos(2 * np.pi * xx / period) * np.cos(2 * np.pi * yy / period)
    face += rng.uniform(2.5, 3.5) * grid[..., None]
    mask = _ellipse_mask(size, cx, cy + .05 * b, .8 * a, .8 * b, feather=size / 128)
    inside = mask > .5
    face += target[inside].mean(0) - face[inside].mean(0)
    face += rng.choice([-1.0, 1.0]) * rng.uniform(5, 9) + rng.uniform(-3, 3, 3)
    fake = _blend(target, np.clip(face, 0, 255), mask)
  elif method == "NeuralTextures":
    # The lower face (mouth, chin, cheeks) re-rendered from a neural texture: smoothed
    # skin with a faint oriented texture pattern (3.5-6 px periods, which survive H.264),
    # its shading a few levels off the rest of the face (a seam along the mask), and the
    # mouth's shape changed slightly.
    (mx, my) = geometry["mouth"]
    map_y = yy + np.exp(-(((xx - mx) / (.45 * a)) ** 2 + ((yy - my) / (.25 * b)) ** 2)) * (
        yy - my) * -rng.uniform(.15, .3)
    warped = cv2.remap(target, xx, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    face = _resynthesise(warped.astype(np.float32), method, rng)
    texture = np.zeros((size, size), np.float32)
    for _ in range(2):
      theta, period = rng.uniform(0, np.pi), rng.uniform(3.5, 6.0) * size / 64
      texture += np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period
                        + rng.uniform(0, 2 * np.pi))
    face += texture[..., None] * rng.uniform(2.5, 3.5) * rng.uniform(.7, 1.0, 3)
    face += rng.choice([-1.0, 1.0]) * rng.uniform(7, 11) + rng.uniform(-3, 3, 3)
    mask = _ellipse_mask(size, mx, my - .25 * b, .75 * a, .55 * b, feather=size / 64)
    fake = _blend(target, np.clip(face, 0, 255), mask)
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


def builder_record(config):
  """What a benchmark is built from: this renderer's `VERSION` and the `DemoConfig` (the
  options of its `provenance` record, `sources.json`)."""
  return {"renderer_version": VERSION, **dataclasses.asdict(config)}


def read_builder(root, dataset):
  """The `builder_record` of the benchmark at `<root>/<dataset>` (None if it has none:
  written before renderer version 2, or not by this module)."""
  stored = provenance.read(os.path.join(root, dataset))
  options = None if stored is None else stored.get("options")
  return options if options and "renderer_version" in options else None


def check_builder(root, dataset, config=None):
  """ValueError unless the benchmark at `<root>/<dataset>` was written by this renderer
  version (and with `config`, when given). Returns its builder record."""
  found = read_builder(root, dataset)
  version = None if found is None else found.get("renderer_version")
  where = os.path.join(root, dataset)
  if version != VERSION:
    raise ValueError(f"the benchmark at {where} was written by renderer version "
                     f"{version or '1 or older'}, this is version {VERSION} (fakes calibrated "
                     "against real FF++); rebuild it (dfadv-make-demo-data --restart, or "
                     "delete the folder), or pass another --data_root")
  if config is not None and found != builder_record(config):
    raise ValueError(f"the benchmark at {where} was written with {found}, not "
                     f"{builder_record(config)}; rebuild it (dfadv-make-demo-data "
                     "--restart), or pass another --data_root")
  return found


def make_demo_data(root=DEFAULT_ROOT, dataset=DEFAULT_DATASET, config=DemoConfig(),
                   log=print, restart=False):
  """Writes the benchmark to `<root>/<dataset>` (resumable: complete shards are kept).

  One shard per (split, method, quality). Returns the dataset's index dict. The renderer
  version and the config are recorded with the dataset (`builder_record`, `provenance`):
  a benchmark there of another version or config (one without a record: an older
  renderer's) is refused naming what differs, unless `restart`, which rebuilds it and
  replaces it whole.
  """
  if config.identities < 10 or config.frames < 1 or config.image_size < 32:
    raise ValueError(f"DemoConfig needs identities >= 10, frames >= 1 and image_size >= 32, "
                     f"got {config}")
  checks.one_of(config.codec, CODECS, "codec")
  built = provenance.built_from(options=builder_record(config))
  with records.ShardedWriter(root, dataset, built, restart) as writer:
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
