"""Tests for tools/detect.py: an image, a folder and a video -> JSON scores."""

import json
import os

import cv2
import numpy as np
import tensorflow as tf

from dfadv_tf import explain
from dfadv_tf import scoring
from dfadv_tf import serving
from tests.testing import tools as utils
from tests.testing.video import astronaut_video


class DetectToolTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.tmp = self.get_temp_dir()
    self.detector = utils.save_tiny_detector(os.path.join(self.tmp, "d.keras"))

  def test_images_and_folder(self):
    folder = os.path.join(self.tmp, "faces")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (32, 32, 3)).astype(np.uint8) for _ in range(3)]
    for i, image in enumerate(images):
      cv2.imwrite(os.path.join(folder, f"{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = os.path.join(self.tmp, "scores.json")
    utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras", f"--input={folder}",
                                      f"--output={out}"])
    with open(out, encoding="utf-8") as f:
      report = json.load(f)
    expected = serving.fake_probability(self.detector,
                                        serving.preprocess(np.stack(images), (32, 32)))
    self.assertAllClose([e["fake_probability"] for e in report["images"]], expected,
                        atol=1e-5)
    frame = rng.integers(0, 256, (90, 160, 3)).astype(np.uint8)  # a frame, not a crop
    cv2.imwrite(os.path.join(self.tmp, "frame.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    one = utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras",
                                            f"--input={self.tmp}/frame.png"])
    self.assertAllClose(json.loads(one.stdout)["images"][0]["fake_probability"],
                        scoring.score_crops(self.detector, [frame])[0], atol=1e-5)
    self.assertRegex(one.stderr, "WARNING: .*frame.png: a 160x90 image scored whole .*"
                     "--crop_faces")

  def test_video(self):
    video = os.path.join(self.tmp, "astronaut.avi")
    astronaut_video(video, frames=4)
    result = utils.run_binary("tools.detect", [
        f"--detector={self.tmp}/d.keras", f"--input={video}", "--frames=4",
        "--face_detector=haar", "--aggregation=max_face"])
    report = json.loads(result.stdout)["video"]
    self.assertEqual(report["frames_read"], 4)
    self.assertLen(report["frames"], 4 - report["faces_missed"])
    self.assertNotEmpty(report["frames"])
    self.assertEqual(len(report["frames"][0]["box"]), 4)
    self.assertEqual(report["aggregation"], "max_face")
    self.assertAllClose(report["fake_probability"],
                        max(f["fake_probability"] for f in report["faces"]))
    self.assertAllClose(report["faces"][0]["fake_probability"], np.mean(
        [f["fake_probability"] for f in report["frames"] if f["face"] == 0]))

  def test_explain_images_writes_overlays_beside_the_json(self):
    folder = os.path.join(self.tmp, "explain_faces")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (32, 32, 3)).astype(np.uint8) for _ in range(3)]
    for name, image in zip(("a.png", "a.bmp", "b.png"), images):  # two stems "a"
      cv2.imwrite(os.path.join(folder, name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = os.path.join(self.tmp, "explained", "scores.json")
    utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras", f"--input={folder}",
                                      f"--output={out}", "--explain", "--batch_size=2"])
    with open(out, encoding="utf-8") as f:
      report = json.load(f)
    overlays_dir = os.path.join(self.tmp, "explained", "scores_overlays")
    self.assertEqual(report["explain"], {"method": "grad_cam", "target": "fake",
                                         "folder": overlays_dir})
    paths = [e["overlay"] for e in report["images"]]  # sorted inputs: a.bmp, a.png, b.png
    self.assertEqual([os.path.basename(p) for p in paths], ["a.png", "a_2.png", "b.png"])
    self.assertEqual(sorted(os.listdir(overlays_dir)), ["a.png", "a_2.png", "b.png"])
    ordered = [images[1], images[0], images[2]]
    maps = explain.explain_crops(self.detector, ordered)
    for path, crop, cam in zip(paths, ordered, maps):
      self.assertEqual(os.path.dirname(path), overlays_dir)
      written = tf.io.decode_png(tf.io.read_file(path)).numpy()
      self.assertAllClose(written, explain.overlay_image(crop, cam), atol=1)

  def test_explain_video_frames_and_folder_flag(self):
    video = os.path.join(self.tmp, "astronaut.avi")
    astronaut_video(video, frames=3)
    overlays_dir = os.path.join(self.tmp, "maps")
    result = utils.run_binary("tools.detect", [
        f"--detector={self.tmp}/d.keras", f"--input={video}", "--frames=3",
        "--face_detector=haar", "--explain", f"--explain_dir={overlays_dir}"])
    frames = json.loads(result.stdout)["video"]["frames"]  # JSON to stdout
    self.assertNotEmpty(frames)
    for frame in frames:
      self.assertEqual(frame["overlay"], os.path.join(
          overlays_dir, f"astronaut_frame{frame['frame_index']:05d}_face{frame['face']}.png"))
      written = tf.io.decode_png(tf.io.read_file(frame["overlay"])).numpy()
      self.assertEqual(written.shape, (32, 32, 3))  # the scored crop, at the model's size
    self.assertLen(os.listdir(overlays_dir), len(frames))

  def test_bad_inputs(self):
    text = os.path.join(self.tmp, "notes.txt")
    with open(text, "w", encoding="utf-8") as f:
      f.write("hello")
    result = utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras",
                                               f"--input={text}"], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("notes.txt is neither", result.stderr)
    broken = os.path.join(self.tmp, "broken.png")
    with open(broken, "wb") as f:
      f.write(b"not a png")
    result = utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras",
                                               f"--input={broken}"], check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("broken.png is not a readable image", result.stderr)
    empty = os.path.join(self.tmp, "empty.mp4")  # a 0-byte video: an error, not exit 0
    open(empty, "wb").close()
    result = utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras",
                                               f"--input={empty}", "--face_detector=haar"],
                              check=False)
    self.assertEqual(result.returncode, 1)
    self.assertRegex(result.stderr.strip().splitlines()[-1],
                     r"^detect.py: error: cannot read video .*empty.mp4 \(no frames")
    result = utils.run_binary("tools.detect", [f"--detector={self.tmp}/d.keras",
                                               f"--input={broken}", "--explain"],
                              check=False)  # overlays with no place to go
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("--explain writes PNG overlays beside the JSON: pass --output",
                  result.stderr)


if __name__ == "__main__":
  tf.test.main()
