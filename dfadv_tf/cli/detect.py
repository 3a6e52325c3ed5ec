r"""Scores faces with a trained detector: one image, a folder of images, or a video.

  dfadv-detect --detector=runs/demo/two_gen_bat/best_detector.keras --input=clip.mp4
  dfadv-detect --detector=best_detector.keras --input=faces/ --output=scores.json
  dfadv-detect --detector=best_detector.keras --input=clip.mp4 --output=clip.json --explain

Images are scored as they are (they should be face crops like the training data; pass
--crop_faces to detect and crop the main face first; an image that does not look like a
face crop is scored with a warning). A video is sampled (--frames evenly spaced
frames), faces are detected, tracked across the frames and cropped like the training
data (dfadv_tf.data.faces), every tracked face gets a fake probability per frame, and
the video score aggregates them (--aggregation). Each crop's box, confidence and
landmarks are in the JSON. JSON goes to stdout or --output (written atomically); an
unreadable video is an error. See dfadv_tf.scoring.

--explain writes a Grad-CAM overlay of the fake class (dfadv_tf.explain: the heat map
on the crop that was scored, at the model's size) per scored image or per scored face
of each sampled frame, as PNGs (atomically) in --explain_dir (default: beside --output,
<output name>_overlays/); each entry of the JSON gets its "overlay" path.
"""

import json
import os
import sys

from absl import flags

from dfadv_tf import checks
from dfadv_tf import explain
from dfadv_tf import scoring
from dfadv_tf import serving
from dfadv_tf.cli import app
from dfadv_tf.data import faces
from dfadv_tf.data.datasets import printable
from dfadv_tf.files import atomic_write_text
from dfadv_tf.files import check_writable

flags.DEFINE_string("detector", None, "Saved .keras detector.", required=True)
flags.DEFINE_string("input", None, "An image, a folder of images or a video file.",
                    required=True)
flags.DEFINE_string("output", None, "Write the JSON here instead of stdout.")
flags.DEFINE_integer("frames", 32, "Frames sampled evenly from a video.", lower_bound=1)
flags.DEFINE_enum("face_detector", "mtcnn", list(faces.DETECTORS), "Face detector (none: "
                  "score video frames whole).")
flags.DEFINE_float("min_face_confidence", 0.9, "MTCNN: keep faces at least this "
                   "confident.")
flags.DEFINE_integer("detect_max_side", 960, "MTCNN: detect on frames scaled down to this "
                     "larger side in pixels (0: full size); boxes are scaled back.", lower_bound=0)
flags.DEFINE_float("margin", 1.3, "Square crop side / larger face-box side.")
flags.DEFINE_bool("align", False, "Align faces by MTCNN's 5 landmarks (similarity "
                  "transform) instead of a square box crop; use it if the detector was "
                  "trained on aligned crops (dfadv-preprocess --align).")
flags.DEFINE_bool("crop_faces", False, "Detect and crop the main face of images too.")
flags.DEFINE_enum("aggregation", "mean", list(scoring.AGGREGATIONS), "Video score from "
                  "the faces' per-frame scores: mean (every crop), max_face (the most "
                  "fake face's mean), sbi (mean over frames of each frame's max), "
                  "confident (the DFDC winner's confident strategy).")
flags.DEFINE_float("threshold", 0.5, "Fake if the probability is >= this.")
flags.DEFINE_integer("batch_size", 32, "Images per forward pass.", lower_bound=1)
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers.")
flags.DEFINE_bool("explain", False, "Also write a Grad-CAM overlay (PNG, the fake class's "
                  "heat map on the scored crop) per image or per face of each sampled "
                  "frame; the JSON gives each entry's \"overlay\" path.")
flags.DEFINE_string("explain_dir", None, "Folder of the --explain overlays (default: "
                    "beside --output, <output name>_overlays).")
FLAGS = flags.FLAGS


def explain_folder(explain_flag, explain_dir, output):
  """The folder of the overlays (None without --explain); ValueError when it has no
  place: --explain without --output nor --explain_dir, or --explain_dir without
  --explain."""
  if not explain_flag:
    if explain_dir:
      raise ValueError("--explain_dir is set but --explain is not; pass --explain to "
                       "write the overlays.")
    return None
  if explain_dir:
    return explain_dir
  if not output:
    raise ValueError("--explain writes PNG overlays beside the JSON: pass --output "
                     "(the overlays go to <output name>_overlays/) or --explain_dir.")
  return os.path.splitext(output)[0] + "_overlays"


class OverlayWriter:
  """`on_crop(entry, crop)` for `scoring.score_images` / `score_video`: collects the
  scored crops, writes their Grad-CAM overlays `batch_size` at a time into `folder`
  (`explain.explain_crops`, `explain.write_overlays`) and sets each entry's "overlay"
  to its PNG's path. `close()` writes the rest. `video`: the path of the video whose
  frames are explained (its name starts their files' names)."""

  def __init__(self, detector, folder, batch_size=32, video=None):
    self.detector, self.folder, self.batch_size = detector, folder, batch_size
    self.video_stem = os.path.splitext(os.path.basename(video or ""))[0] or "video"
    self.pending = []  # (entry, crop, file name)
    self.used = set()

  def name(self, entry):
    """A file name per entry, unique within this run: <image stem>.png, or
    <video stem>_frame<index>_face<track>.png."""
    stem = os.path.splitext(os.path.basename(entry.get("path", "")))[0] or "image"
    if "frame_index" in entry:
      stem = f"{self.video_stem}_frame{entry['frame_index']:05d}_face{entry['face']}"
    name, count = f"{stem}.png", 1
    while name in self.used:
      count += 1
      name = f"{stem}_{count}.png"
    self.used.add(name)
    return name

  def __call__(self, entry, crop):
    self.pending.append((entry, crop, self.name(entry)))
    if len(self.pending) == self.batch_size:
      self.close()

  def close(self):
    if not self.pending:
      return
    entries, crops, names = zip(*self.pending)
    maps = explain.explain_crops(self.detector, crops, batch_size=self.batch_size)
    for entry, path in zip(entries, explain.write_overlays(crops, maps, self.folder,
                                                           names)):
      entry["overlay"] = path
    self.pending.clear()


def _face_detector():
  return faces.make_detector(FLAGS.face_detector, FLAGS.min_face_confidence,
                             FLAGS.detect_max_side)


def validate_flags():
  """Every flag checked before the detector is loaded or anything is written."""
  checks.probability(FLAGS.threshold, "--threshold")
  checks.face_crop_flags(FLAGS.margin, FLAGS.min_face_confidence, FLAGS.face_detector,
                         FLAGS.align)
  checks.requires(not (FLAGS.crop_faces and FLAGS.face_detector == "none"),
                  "--crop_faces needs a face detector; --face_detector=none has none "
                  "(pass --face_detector=mtcnn or haar, or drop --crop_faces).")
  kind = scoring.kind_of(FLAGS.input)
  if kind != "folder" and not os.path.isfile(FLAGS.input):
    raise OSError(f"--input {FLAGS.input} does not exist.")
  if FLAGS.output:
    check_writable(FLAGS.output, "--output", folder=False)
    if os.path.isdir(FLAGS.output):
      raise IsADirectoryError(f"--output {FLAGS.output} is a folder; expected a JSON file "
                              "name.")
  folder = explain_folder(FLAGS.explain, FLAGS.explain_dir, FLAGS.output)
  if folder:
    check_writable(folder, "--explain_dir", folder=True)


def _warn(warnings, what):
  for warning in warnings[:3]:
    print(f"WARNING: {printable(warning)}", file=sys.stderr)
  if len(warnings) > 3:
    print(f"WARNING: {len(warnings) - 3} more {what}.", file=sys.stderr)


def main(argv):
  del argv
  kind = scoring.kind_of(FLAGS.input)
  folder = explain_folder(FLAGS.explain, FLAGS.explain_dir, FLAGS.output)
  detector = serving.load_detector(FLAGS.detector, safe_mode=not FLAGS.unsafe_load)
  overlays = OverlayWriter(detector, folder, FLAGS.batch_size,
                           FLAGS.input if kind == "video" else None) if folder else None
  options = {"margin": FLAGS.margin, "threshold": FLAGS.threshold,
             "batch_size": FLAGS.batch_size, "align": FLAGS.align, "on_crop": overlays}
  try:
    report, warnings, skipped = _score(kind, detector, options)
  except scoring.NonFiniteScore as error:
    raise ValueError(f"--detector {FLAGS.detector}: {error}") from None
  if overlays:
    overlays.close()
    report["explain"] = {"method": "grad_cam", "target": "fake", "folder": folder}
  _warn(warnings, "images scored whole the same way")
  _warn(skipped, "images skipped the same way")
  if skipped:
    print(f"WARNING: {len(skipped)} of {len(report['images'])} images were skipped (no "
          "score; their \"error\" in the JSON).", file=sys.stderr)
  text = json.dumps(report, indent=2, allow_nan=False)  # always valid JSON
  if FLAGS.output:
    atomic_write_text(FLAGS.output, text + "\n")
  else:
    print(text)


def _score(kind, detector, options):
  """(report, warnings, skipped-file messages) of --input."""
  if kind == "video":
    video = scoring.score_video(detector, FLAGS.input, _face_detector(),
                                frames=FLAGS.frames, aggregation=FLAGS.aggregation,
                                **options)
    return {"video": video}, [video["warning"]] if "warning" in video else [], []
  if kind == "folder":
    paths = sorted(os.path.join(FLAGS.input, f) for f in os.listdir(FLAGS.input)
                   if f.lower().endswith(scoring.IMAGE_EXTENSIONS))
    if not paths:
      raise ValueError(f"--input folder {FLAGS.input} holds no images "
                       f"{scoring.IMAGE_EXTENSIONS}.")
  else:
    paths = [FLAGS.input]
  face_detector = _face_detector() if FLAGS.crop_faces else None
  entries = scoring.score_images(detector, paths, face_detector,
                                 skip_unreadable=kind == "folder", **options)
  warnings = [e["warning"] for e in entries if "warning" in e]
  skipped = [e["error"] for e in entries if "error" in e]
  if len(skipped) == len(entries):
    raise OSError(f"--input {FLAGS.input}: no image could be read ({len(skipped)} "
                  f"skipped; first: {skipped[0]})")
  return {"images": entries}, warnings, skipped


def run():
  app.run(main, validate_flags)


if __name__ == "__main__":
  run()
