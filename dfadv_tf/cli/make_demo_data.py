"""Writes the built-in offline benchmark (FF++ layout, procedurally rendered faces).

  dfadv-make-demo-data                      # ./demo_data/ffpp_demo, 240 identities, 64 px
  dfadv-make-demo-data --data_root=/tmp/demo --identities=60 --image_size=96
  dfadv-make-demo-data --codec=jpeg         # c23 / c40 as JPEG 75 / 25 instead of H.264

See dfadv_tf.data.synthetic for what is rendered; resumable (complete shards are kept).
"""

from absl import flags

from dfadv_tf import files
from dfadv_tf.cli import app
from dfadv_tf.data import synthetic

FLAGS = flags.FLAGS
_DEFAULT = synthetic.DemoConfig()
flags.DEFINE_string("data_root", synthetic.DEFAULT_ROOT, "Root folder of the datasets' "
                    "TFRecords (<data_root>/<dataset>/index.json).")
flags.DEFINE_string("dataset", synthetic.DEFAULT_DATASET, "Dataset name under --data_root.")
flags.DEFINE_integer("identities", _DEFAULT.identities, "Identities (real videos).", lower_bound=1)
flags.DEFINE_integer("frames", _DEFAULT.frames, "Frames per video.", lower_bound=1)
flags.DEFINE_integer("image_size", _DEFAULT.image_size, "Side of the stored images in "
                     "pixels.", lower_bound=1)
flags.DEFINE_integer("seed", _DEFAULT.seed, "Seed.")
flags.DEFINE_enum("codec", _DEFAULT.codec, list(synthetic.CODECS), "How the c23 / c40 "
                  "qualities are made: h264 (CRF 23 / 40, as FF++) or jpeg (quality 75 / "
                  "25 per frame, no video codec).")
flags.DEFINE_bool("restart", False, "Rebuild a benchmark at --data_root/--dataset that was "
                  "made with other flags (without it, that is refused naming the flags "
                  "that differ); it is replaced whole.")


def validate_flags():
  """The flags checked before anything is written."""
  files.under_root(FLAGS.data_root, FLAGS.dataset, "--dataset")
  files.check_writable(FLAGS.data_root, "--data_root", folder=True)


def main(argv):
  del argv
  config = synthetic.DemoConfig(FLAGS.identities, FLAGS.frames, FLAGS.image_size, FLAGS.seed,
                                FLAGS.codec)
  index = synthetic.make_demo_data(FLAGS.data_root, FLAGS.dataset, config,
                                   restart=FLAGS.restart)
  print(f"{index['records']} records in {len(index['shards'])} shards at "
        f"{FLAGS.data_root}/{FLAGS.dataset}; per split {index['counts']['split']}")


def run():
  app.run(main, validate_flags)


if __name__ == "__main__":
  run()
