"""Short test videos written with OpenCV (MJPG in .avi: every OpenCV wheel encodes it),
and a tiny FF++ download tree of them."""

import os

import cv2
import numpy as np
import skimage.data


def write_video(path, frames, fps=10):
  """Writes uint8 RGB frames (H, W, 3) to `path`."""
  height, width = frames[0].shape[:2]
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
  for frame in frames:
    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  writer.release()


# The astronaut's face in skimage.data.astronaut() (512 x 512): x, y, side in pixels.
ASTRONAUT_FACE = (170, 62, 108)
FRAME_H, FRAME_W = 240, 320


def astronaut_video(path, frames=5):
  """The astronaut moved and scaled across frames; returns the true face boxes."""
  astronaut, boxes, video = skimage.data.astronaut(), [], []
  for i in range(frames):
    scale, ox, oy = 0.45 + 0.04 * i, 10 + 25 * i, 5 + 8 * i
    side = int(512 * scale)
    frame = np.full((FRAME_H, FRAME_W, 3), 90, np.uint8)
    patch = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
    frame[oy:oy + side, ox:ox + side] = patch[:FRAME_H - oy, :FRAME_W - ox]
    x, y, s = ASTRONAUT_FACE
    boxes.append((ox + x * scale, oy + y * scale, s * scale))
    video.append(frame)
  write_video(path, video)
  return boxes


# Ids from the official split: train pair (071, 054), val pair (720, 672), test (953, 974).
FFPP_IDS = {"train": ("071", "054"), "val": ("720", "672"), "test": ("953", "974")}


def make_ffpp_tree(root, methods=("Deepfakes", "FaceSwap"), quality="c23", frames=3):
  """A tiny FF++ download: one original and one fake per split and method."""
  for split, (target, source) in FFPP_IDS.items():
    folders = [("original_sequences/youtube", target)] + [
        (f"manipulated_sequences/{m}", f"{target}_{source}") for m in methods]
    for folder, video_id in folders:
      path = os.path.join(root, folder, quality, "videos")
      os.makedirs(path, exist_ok=True)
      astronaut_video(os.path.join(path, f"{video_id}.avi"), frames)
  return root
