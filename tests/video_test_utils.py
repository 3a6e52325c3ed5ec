"""Short test videos written with OpenCV (MJPG in .avi: every OpenCV wheel encodes it)."""

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
