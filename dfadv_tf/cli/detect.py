r"""Scores faces with a trained detector: one image, a folder of images, or a video.

  dfadv-detect --detector=runs/demo/two_gen_bat/best_detector.keras --input=clip.mp4
  dfadv-detect --detector=best_detector.keras --input=faces/ --output=scores.json

Images are scored as they are (they should be face crops like the training data; pass
--crop_faces to detect and crop the main face first; an image that does not look like a
face crop is scored with a warning). A video is sampled (--frames evenly spaced
frames), faces are detected, tracked across the frames and cropped like the training
data (dfadv_tf.data.faces), every tracked face gets a fake probability per frame, and
the video score aggregates them (--aggregation). Each crop's box, confidence and
landmarks are in the JSON. JSON goes to stdout or --output (written atomically); an
unreadable video is an error. See dfadv_tf.scoring.
"""

import json
import os
import sys

from absl import flags

from dfadv_tf import scoring
from dfadv_tf import serving
from dfadv_tf.cli import app
from dfadv_tf.data import faces
from dfadv_tf.files import atomic_write_text

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
FLAGS = flags.FLAGS


def _face_detector():
  return faces.make_detector(FLAGS.face_detector, FLAGS.min_face_confidence,
                             FLAGS.detect_max_side)


def main(argv):
  del argv
  kind = scoring.kind_of(FLAGS.input)
  if kind != "folder" and not os.path.isfile(FLAGS.input):
    raise OSError(f"--input {FLAGS.input} does not exist.")
  if FLAGS.align and FLAGS.face_detector != "mtcnn":
    raise ValueError(f"--align needs MTCNN's landmarks; --face_detector="
                     f"{FLAGS.face_detector} has none.")
  detector = serving.load_detector(FLAGS.detector, safe_mode=not FLAGS.unsafe_load)
  options = {"margin": FLAGS.margin, "threshold": FLAGS.threshold,
             "batch_size": FLAGS.batch_size, "align": FLAGS.align}
  if kind == "video":
    report = {"video": scoring.score_video(detector, FLAGS.input, _face_detector(),
                                           frames=FLAGS.frames,
                                           aggregation=FLAGS.aggregation, **options)}
    warnings = [report["video"]["warning"]] if "warning" in report["video"] else []
  else:
    if kind == "folder":
      paths = sorted(os.path.join(FLAGS.input, f) for f in os.listdir(FLAGS.input)
                     if f.lower().endswith(scoring.IMAGE_EXTENSIONS))
      if not paths:
        raise ValueError(f"--input folder {FLAGS.input} holds no images "
                         f"{scoring.IMAGE_EXTENSIONS}.")
    else:
      paths = [FLAGS.input]
    face_detector = _face_detector() if FLAGS.crop_faces else None
    report = {"images": scoring.score_images(detector, paths, face_detector, **options)}
    warnings = [e["warning"] for e in report["images"] if "warning" in e]
  for warning in warnings[:3]:
    print(f"WARNING: {warning}", file=sys.stderr)
  if len(warnings) > 3:
    print(f"WARNING: {len(warnings) - 3} more images scored whole the same way.",
          file=sys.stderr)
  text = json.dumps(report, indent=2)
  if FLAGS.output:
    atomic_write_text(FLAGS.output, text + "\n")
  else:
    print(text)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
