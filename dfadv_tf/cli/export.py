r"""Exports a trained detector as a SavedModel (uint8 images -> fake probability) and a
`.keras` file.

  dfadv-export --detector=runs/demo/two_gen_bat/best_detector.keras \
      --export_dir=exported/two_gen_bat --keras_path=exported/two_gen_bat.keras

Serving signature `serving_default`: `images` uint8 (B, H, W, 3) RGB of any size (resized
like the training data) -> {"fake_probability": float32 (B,)}. Load it with
`tf.saved_model.load(export_dir).signatures["serving_default"]` or TF Serving.
"""

from absl import flags

from dfadv_tf import serving
from dfadv_tf.cli import app

flags.DEFINE_string("detector", None, "Saved .keras detector.", required=True)
flags.DEFINE_string("export_dir", None, "SavedModel folder to write.", required=True)
flags.DEFINE_string("keras_path", None, "Also write the detector as this .keras file.")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs.")
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  detector = serving.load_detector(FLAGS.detector, safe_mode=not FLAGS.unsafe_load)
  serving.export_detector(detector, FLAGS.export_dir, FLAGS.keras_path, FLAGS.overwrite)
  print(f"SavedModel: {FLAGS.export_dir} (signature serving_default: uint8 images -> "
        f"fake_probability)" + (f"; .keras: {FLAGS.keras_path}" if FLAGS.keras_path else ""))


def run():
  app.run(main)


if __name__ == "__main__":
  run()
