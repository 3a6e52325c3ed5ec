r"""Scores faces with a trained detector: one image, a folder of images, or a video.

  dfadv-detect --detector=runs/demo/two_gen_bat/best_detector.keras --input=clip.mp4
  dfadv-detect --detector=best_detector.keras --input=faces/ --output=scores.json

Images are scored as they are (they should be face crops like the training data; pass
--crop_faces to detect and crop the largest face first). A video is sampled
(--frames evenly spaced frames), faces are detected and cropped like the training data
(dfadv_tf.data.faces), and each frame gets a fake probability; the video score is
their mean. JSON goes to stdout or --output (written atomically). See dfadv_tf.scoring.
"""

import json
import os

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
flags.DEFINE_enum("face_detector", "mtcnn", list(faces.DETECTORS), "Face detector.")
flags.DEFINE_float("margin", 1.3, "Square crop side / larger face-box side.")
flags.DEFINE_bool("crop_faces", False, "Detect and crop the largest face of images too.")
flags.DEFINE_float("threshold", 0.5, "Fake if the probability is >= this.")
flags.DEFINE_integer("batch_size", 32, "Images per forward pass.", lower_bound=1)
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  kind = scoring.kind_of(FLAGS.input)
  detector = serving.load_detector(FLAGS.detector, safe_mode=not FLAGS.unsafe_load)
  options = {"margin": FLAGS.margin, "threshold": FLAGS.threshold,
             "batch_size": FLAGS.batch_size}
  if kind == "video":
    report = {"video": scoring.score_video(detector, FLAGS.input,
                                           faces.make_detector(FLAGS.face_detector),
                                           frames=FLAGS.frames, **options)}
  else:
    if kind == "folder":
      paths = sorted(os.path.join(FLAGS.input, f) for f in os.listdir(FLAGS.input)
                     if f.lower().endswith(scoring.IMAGE_EXTENSIONS))
      if not paths:
        raise ValueError(f"--input folder {FLAGS.input} holds no images "
                         f"{scoring.IMAGE_EXTENSIONS}.")
    else:
      paths = [FLAGS.input]
    face_detector = faces.make_detector(FLAGS.face_detector) if FLAGS.crop_faces else None
    report = {"images": scoring.score_images(detector, paths, face_detector, **options)}
  text = json.dumps(report, indent=2)
  if FLAGS.output:
    atomic_write_text(FLAGS.output, text + "\n")
  else:
    print(text)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
