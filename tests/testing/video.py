"""Short test videos and a tiny FF++ download tree of them.

`.mp4` files are real H.264 (libx264 through `dfadv_tf.data.codecs`, the ffmpeg of the
imageio-ffmpeg wheel), other names MJPG in .avi (every OpenCV wheel encodes it).
"""

import os

import cv2
import numpy as np
import skimage.data

from dfadv_tf.data import codecs


def write_video(path, frames, fps=10):
  """Writes uint8 RGB frames (H, W, 3) to `path` (H.264 for .mp4, MJPG otherwise)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if path.endswith(".mp4"):
    codecs.write_video(path, np.stack(frames), crf=18, fps=fps, preset="veryfast")
    return
  height, width = frames[0].shape[:2]
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
  for frame in frames:
    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  writer.release()


# The astronaut's face in skimage.data.astronaut() (512 x 512): x, y, side in pixels.
ASTRONAUT_FACE = (170, 62, 108)
FRAME_H, FRAME_W = 240, 320


def astronaut_frames(frames=5, height=FRAME_H, width=FRAME_W):
  """The astronaut moved and scaled across frames: (frames [uint8 (H, W, 3)], the true
  face boxes [(x, y, side)])."""
  astronaut, boxes, video = skimage.data.astronaut(), [], []
  for i in range(frames):
    scale, ox, oy = 0.45 + 0.04 * i, 10 + 25 * i, 5 + 8 * i
    side = int(512 * scale)
    frame = np.full((height, width, 3), 90, np.uint8)
    patch = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
    frame[oy:oy + side, ox:ox + side] = patch[:height - oy, :width - ox]
    x, y, s = ASTRONAUT_FACE
    boxes.append((ox + x * scale, oy + y * scale, s * scale))
    video.append(frame)
  return video, boxes


def astronaut_video(path, frames=5):
  """Writes the astronaut video (`astronaut_frames`); returns the true face boxes."""
  video, boxes = astronaut_frames(frames)
  write_video(path, video)
  return boxes


def face_mask_frames(frames=5):
  """Mask frames (uint8 RGB, white ellipse on the astronaut's face) of
  `astronaut_frames`, as FF++'s mask videos are."""
  _, boxes = astronaut_frames(frames)
  masks = []
  for x, y, s in boxes:
    mask = np.zeros((FRAME_H, FRAME_W, 3), np.uint8)
    cv2.ellipse(mask, (int(x + s / 2), int(y + s / 2)), (int(s * .4), int(s * .5)), 0, 0,
                360, (255, 255, 255), -1)
    masks.append(mask)
  return masks


# Ids from the official split: train pair (071, 054), val pair (720, 672), test (953, 974).
FFPP_IDS = {"train": ("071", "054"), "val": ("720", "672"), "test": ("953", "974")}


def make_ffpp_tree(root, methods=("Deepfakes", "FaceSwap"), quality="c23", frames=3,
                   masks=False):
  """A tiny FF++ download: one original and one fake per split and method (H.264 .mp4),
  with `masks` each fake's mask video under `<method>/masks/videos/`."""
  for split, (target, source) in FFPP_IDS.items():
    folders = [("original_sequences/youtube", target)] + [
        (f"manipulated_sequences/{m}", f"{target}_{source}") for m in methods]
    for folder, video_id in folders:
      path = os.path.join(root, folder, quality, "videos")
      astronaut_video(os.path.join(path, f"{video_id}.mp4"), frames)
      if masks and folder.startswith("manipulated"):
        write_video(os.path.join(root, folder, "masks", "videos", f"{video_id}.mp4"),
                    face_mask_frames(frames))
  return root
