"""Real video codecs through the ffmpeg that the `imageio-ffmpeg` wheel bundles (libx264
inside, so no system package is needed): H.264 at a CRF, as FaceForensics++ made its
c23 / c40 videos, and JPEG as the explicit still-image alternative.

- `h264(frames, crf)`: uint8 RGB frames (N, H, W, 3) through libx264 and back, the same
  shape out (a robustness corruption, the benchmark's qualities).
- `write_video(path, frames, crf)`: frames -> an H.264 `.mp4` file (tests' fixtures,
  tools); `recompress_video(source, target, crf)`: a video re-encoded at a CRF (FF++'s
  `ffmpeg -i raw.mp4 -c:v libx264 -crf 23 c23.mp4`).
- `jpeg(frames, quality)`: every frame through JPEG at a quality (1-100).
- `QUALITY_CRF`: the FF++ quality names -> CRF (c23: 23, c40: 40); `crf_of("c23")`.

H.264 runs in 4:2:0 (yuv420p, what FF++'s and most videos are): odd sides are padded
by one edge row / column for the encoder and cropped again. Every call encodes with
the `medium` preset (FF++'s, ffmpeg's default) and `-threads 1` unless told otherwise.
"""

import os
import re
import subprocess

import cv2
import numpy as np

from dfadv_tf import checks
from dfadv_tf.files import atomic_write

QUALITY_CRF = {"c23": 23, "c40": 40}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
           "slower", "veryslow")


def ffmpeg_executable():
  """The path of the bundled ffmpeg (`imageio_ffmpeg.get_ffmpeg_exe`); OSError naming
  the missing package when it is not installed."""
  try:
    import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise OSError("H.264 needs the imageio-ffmpeg package (pip install imageio-ffmpeg; "
                  "pinned in setup.py), which bundles an ffmpeg with libx264.") from error
  return imageio_ffmpeg.get_ffmpeg_exe()


def crf_of(quality):
  """The CRF of a quality name: `QUALITY_CRF` (c23, c40) or any `c<N>` (0 <= N <= 51);
  ValueError otherwise."""
  match = re.fullmatch(r"c(\d+)", str(quality))
  if quality not in QUALITY_CRF and not (match and 0 <= int(match.group(1)) <= 51):
    raise ValueError(f"quality {quality!r} names no H.264 CRF: expected c<N> with "
                     "0 <= N <= 51 (c23, c40 as FF++)")
  return QUALITY_CRF.get(quality, int(match.group(1)) if match else None)


def _check_frames(frames):
  frames = np.asarray(frames)
  if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or not len(
      frames):
    raise ValueError(f"frames must be uint8 RGB (N, H, W, 3) with N >= 1, got "
                     f"{frames.dtype} {frames.shape}")
  return frames


def _even(frames):
  """Frames padded (edge) to even height and width for 4:2:0."""
  height, width = frames.shape[1:3]
  pad = ((0, 0), (0, height % 2), (0, width % 2), (0, 0))
  return np.pad(frames, pad, mode="edge") if height % 2 or width % 2 else frames


def _run(args, data=None, what="ffmpeg"):
  stdin = ["-nostdin"] if data is None else []
  result = subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
                           *stdin, *args], input=data, capture_output=True, check=False)
  if result.returncode != 0:
    message = result.stderr.decode(errors="replace").strip().splitlines()
    raise OSError(f"{what} failed: {message[-1] if message else result.returncode}")
  return result.stdout


def _x264_args(crf, preset, keyint, threads):
  checks.integer(crf, "crf", minimum=0)
  if crf > 51:
    raise ValueError(f"crf must be in [0, 51], got {crf}")
  checks.one_of(preset, PRESETS, "preset")
  args = ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
          "-threads", str(checks.integer(threads, "threads"))]
  if keyint:
    args += ["-x264-params", f"keyint={checks.integer(keyint, 'keyint')}:"
             f"min-keyint={keyint}:scenecut=0"]
  return args


def encode_h264(frames, crf, fps=25, preset="medium", keyint=None, threads=1):
  """The raw (Annex B) H.264 bitstream (bytes) of uint8 RGB frames (N, H, W, 3) at
  `crf`; `keyint` forces a key frame every that many frames (independent groups of
  pictures)."""
  frames = _even(_check_frames(frames))
  height, width = frames.shape[1:3]
  return _run(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", str(fps), "-i", "-", *_x264_args(crf, preset, keyint, threads),
               "-f", "h264", "-"], frames.tobytes(), "H.264 encoding")


def decode_h264(data, height, width):
  """uint8 RGB frames (N, height, width, 3) of a raw H.264 stream (even-padded sides
  cropped back to height x width)."""
  padded = (height + height % 2, width + width % 2)
  raw = _run(["-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24",
              "-fps_mode", "passthrough", "-"], data, "H.264 decoding")
  frames = np.frombuffer(raw, np.uint8).reshape(-1, *padded, 3)
  return np.ascontiguousarray(frames[:, :height, :width])


def h264(frames, crf, preset="medium", keyint=None):
  """uint8 RGB frames (N, H, W, 3) through libx264 at `crf` (0-51; FF++: 23 = c23,
  40 = c40) and back: the decoded frames, same shape and dtype. `keyint`: a key frame
  every that many frames (e.g. the frames of one video, to code several videos in one
  call independently)."""
  frames = _check_frames(frames)
  height, width = frames.shape[1:3]
  decoded = decode_h264(encode_h264(frames, crf, preset=preset, keyint=keyint),
                               height, width)
  if len(decoded) != len(frames):
    raise OSError(f"H.264 round trip returned {len(decoded)} frames for {len(frames)}")
  return decoded


def jpeg(frames, quality):
  """uint8 RGB frames (N, H, W, 3) (or one (H, W, 3)) through JPEG at `quality` (1-100)
  and back (OpenCV), the same shape."""
  quality = checks.integer(quality, "quality")
  frames = np.asarray(frames)
  single = frames.ndim == 3
  batch = _check_frames(frames[None] if single else frames)
  out = np.stack([cv2.imdecode(cv2.imencode(
      ".jpg", np.ascontiguousarray(f[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])[1],
                              cv2.IMREAD_COLOR)[..., ::-1] for f in batch])
  return out[0] if single else out


def write_video(path, frames, crf=23, fps=25, preset="medium"):
  """Writes uint8 RGB frames (N, H, W, 3) as an H.264 `.mp4` at `path` (atomically)."""
  frames = _even(_check_frames(frames))
  height, width = frames.shape[1:3]

  def write(temp):
    _run(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r",
          str(fps), "-i", "-", *_x264_args(crf, preset, None, 1), "-f", "mp4", temp],
         frames.tobytes(), f"writing {path}")
  atomic_write(path, write)
  return path


def recompress_video(source, target, crf, preset="medium", threads=1):
  """Re-encodes the video `source` with libx264 at `crf` into the `.mp4` `target`
  (atomically; FF++'s compression), audio dropped. OSError naming `source` on
  failure."""
  if not os.path.isfile(source):
    raise OSError(f"cannot recompress {source}: no such file")

  def write(temp):
    _run(["-i", source, "-an", *_x264_args(crf, preset, None, threads), "-f", "mp4",
          temp], what=f"recompressing {source}")
  atomic_write(target, write)
  return target
