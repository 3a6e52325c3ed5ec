r"""Downloaded FF++ / DFD / Celeb-DF v2 videos -> face crops -> TFRecord shards.

  dfadv-preprocess --dataset=ffpp --input=/data/FaceForensics++ --data_root=/data/records \
      --qualities=c23,c40 --workers=8

--layout says how --input is organised (default: --dataset, when that names a layout);
--dataset names the records written, `<data_root>/<dataset>/index.json` and its shards
(see dfadv_tf.data.records), the name that `dfadv-train --dataset` reads. Re-running
resumes (complete shards are skipped). Prints a summary: videos done, frames written,
faces missed, failures with reasons.
"""

from absl import flags

from dfadv_tf.cli import app
from dfadv_tf.data import datasets
from dfadv_tf.data import faces

LAYOUTS = ("ffpp", "dfd", "celebdf")

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "Name of the records written under --data_root "
                    "(what dfadv-train --dataset reads); also the input layout when it "
                    f"names one of {LAYOUTS} and --layout is not given.", required=True)
flags.DEFINE_enum("layout", None, list(LAYOUTS), "How --input is organised (default: "
                  "--dataset).")
flags.DEFINE_string("input", None, "Root folder of the downloaded dataset.", required=True)
flags.DEFINE_string("data_root", None, "Root folder of the datasets' TFRecords "
                    "(<data_root>/<dataset>/index.json).", required=True)
flags.DEFINE_list("qualities", ["c23"], "FF++ / DFD qualities (raw, c23, c40).")
flags.DEFINE_list("methods", None, "FF++ fake methods (default: all present).")
flags.DEFINE_integer("frames", 32, "Evenly spaced frames per train/val video.", lower_bound=1)
flags.DEFINE_integer("test_frames", 100, "Frames per test video (FF++, Celeb-DF).", lower_bound=1)
flags.DEFINE_integer("test_every", 3, "Test videos: every k-th frame.", lower_bound=1)
flags.DEFINE_integer("dfd_frames", 10, "DFD: random frames per video.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the DFD frame draw.")
flags.DEFINE_enum("face_detector", "mtcnn", list(faces.DETECTORS), "Face detector.")
flags.DEFINE_float("margin", 1.3, "Square crop side / larger face-box side.")
flags.DEFINE_integer("image_size", 256, "Side of the stored face crops in pixels.", lower_bound=1)
flags.DEFINE_enum("image_format", "png", ["png", "jpeg"], "Encoding of the crops.")
flags.DEFINE_integer("workers", 1, "Parallel worker processes (over videos).", lower_bound=1)
flags.DEFINE_integer("videos_per_shard", 32, "Videos per TFRecord shard.", lower_bound=1)


def layout_of(dataset, layout):
  """The input layout: `layout`, or `dataset` when that names one."""
  if layout:
    return layout
  if dataset in LAYOUTS:
    return dataset
  raise ValueError(f"--dataset={dataset!r} names no input layout; pass --layout, one of "
                   f"{LAYOUTS}.")


def main(argv):
  del argv
  layout = layout_of(FLAGS.dataset, FLAGS.layout)
  sampling = datasets.Sampling(FLAGS.frames, FLAGS.test_frames, FLAGS.test_every)
  if layout == "ffpp":
    videos = datasets.ffpp_videos(FLAGS.input, FLAGS.qualities, FLAGS.methods, sampling)
  elif layout == "dfd":
    videos = datasets.dfd_videos(FLAGS.input, FLAGS.qualities, FLAGS.dfd_frames, FLAGS.seed)
  else:
    videos = datasets.celebdf_videos(FLAGS.input, sampling)
  summary = datasets.preprocess(
      videos, FLAGS.data_root, FLAGS.dataset, detector=FLAGS.face_detector,
      workers=FLAGS.workers, margin=FLAGS.margin, size=FLAGS.image_size,
      image_format=FLAGS.image_format, videos_per_shard=FLAGS.videos_per_shard)
  print(summary)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
