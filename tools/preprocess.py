"""Downloaded FF++ / DFD / Celeb-DF v2 videos -> face crops -> TFRecord shards.

  dfadv-preprocess --dataset=ffpp --input=/data/FaceForensics++ --output=/data/records \
      --qualities=c23,c40 --workers=8

Writes `<output>/<name>/index.json` and shards (see dfadv_tf.data.records); re-running
resumes (complete shards are skipped). Prints a summary: videos done, frames written,
faces missed, failures with reasons.
"""

from absl import app
from absl import flags

from dfadv_tf.data import datasets

FLAGS = flags.FLAGS
flags.DEFINE_enum("dataset", "ffpp", ["ffpp", "dfd", "celebdf"], "Input dataset layout.")
flags.DEFINE_string("input", None, "Root folder of the downloaded dataset.", required=True)
flags.DEFINE_string("output", None, "Root folder of the TFRecord datasets.", required=True)
flags.DEFINE_string("name", None, "Dataset name under --output (default: --dataset).")
flags.DEFINE_list("qualities", ["c23"], "FF++ / DFD qualities (raw, c23, c40).")
flags.DEFINE_list("methods", None, "FF++ fake methods (default: all present).")
flags.DEFINE_integer("frames", 32, "Evenly spaced frames per train/val video.")
flags.DEFINE_integer("test_frames", 100, "Frames per test video (FF++, Celeb-DF).")
flags.DEFINE_integer("test_every", 3, "Test videos: every k-th frame.")
flags.DEFINE_integer("dfd_frames", 10, "DFD: random frames per video.")
flags.DEFINE_integer("seed", 0, "Seed of the DFD frame draw.")
flags.DEFINE_enum("detector", "mtcnn", ["mtcnn", "haar"], "Face detector.")
flags.DEFINE_float("margin", 1.3, "Square crop side / larger face-box side.")
flags.DEFINE_integer("size", 256, "Crop side in pixels.")
flags.DEFINE_enum("image_format", "png", ["png", "jpeg"], "Encoding of the crops.")
flags.DEFINE_integer("workers", 1, "Parallel worker processes (over videos).")
flags.DEFINE_integer("videos_per_shard", 32, "Videos per TFRecord shard.")


def main(argv):
  del argv
  sampling = datasets.Sampling(FLAGS.frames, FLAGS.test_frames, FLAGS.test_every)
  if FLAGS.dataset == "ffpp":
    videos = datasets.ffpp_videos(FLAGS.input, FLAGS.qualities, FLAGS.methods, sampling)
  elif FLAGS.dataset == "dfd":
    videos = datasets.dfd_videos(FLAGS.input, FLAGS.qualities, FLAGS.dfd_frames, FLAGS.seed)
  else:
    videos = datasets.celebdf_videos(FLAGS.input, sampling)
  summary = datasets.preprocess(
      videos, FLAGS.output, FLAGS.name or FLAGS.dataset, detector=FLAGS.detector,
      workers=FLAGS.workers, margin=FLAGS.margin, size=FLAGS.size,
      image_format=FLAGS.image_format, videos_per_shard=FLAGS.videos_per_shard)
  print(summary)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
