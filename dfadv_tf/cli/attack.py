r"""Blur as an attack (paper Sec. IV-C): adversarial accuracy of every (source, target) pair.

For each source model, adversarial examples are crafted on the source (white box) with
each adversary of --attacks (names of `dfadv_tf.attacks.ADVERSARIES`: fgsm, pgd, bat,
sat), and every target model is scored on them; the output is the target's accuracy, as
Table VII (rows: source; columns: target x attack) in `attack_matrix.md` and in long form
in `attack_matrix.csv`. --sweep repeats the matrix over values of adversary parameters:
kernel_size (Table XII), bat_init_value (Table XIII), pgd_steps,bat_steps (Table XIV).

The adversaries' flags are those of dfadv-train (same names, units and defaults; the
training defaults of the reference code); the Sec. IV-C settings are in
flags/table7_attack.flags, which the Table XII-XIV files include. FGSM and PGD eps and
steps are in grey levels of 255: the paper's FGSM eps = 16/255 of [0, 1] is
--fgsm_eps_levels=16.

Models (--models, comma-separated), each with its own preprocessing
(`dfadv_tf.models.classifiers`):
  InceptionV3                 keras.applications model, weights from --weights
                              ("imagenet" downloads them where the machine is online)
  InceptionV3=/path/w.h5      keras.applications model with a local weights file
  /path/detector.keras        a saved Keras model taking images in [-1, 1]

Images (`dfadv_tf.data.labelled_images`): --images_dir with --labels_file (ImageNet
validation layout: lines "<file name> <class index>", or one class index per line for
the sorted files), or --tfrecords (records with `image` and `label` features).

Example:
  dfadv-attack --flagfile=flags/table7_attack.flags --images_dir=val --labels_file=val.txt
"""

import os

from absl import flags

from dfadv_tf import attacks
from dfadv_tf import serving
from dfadv_tf.cli import app
from dfadv_tf.cli import flags as config_flags
from dfadv_tf.data import labelled_images
from dfadv_tf.evaluation import attack_matrix
from dfadv_tf.files import atomic_write_text
from dfadv_tf.models import classifiers

FLAGS = flags.FLAGS
flags.DEFINE_list("models", None, "Model specs: keras.applications name, name=weights "
                  "file, or a .keras file (see the module doc).", required=True)
flags.DEFINE_string("weights", "imagenet", "Weights of keras.applications models named "
                    "without a file: 'imagenet' (download) or a local weights file.")
flags.DEFINE_string("images_dir", None, "Folder of images (ImageNet validation layout).")
flags.DEFINE_string("labels_file", None, "Labels of --images_dir: '<file> <class>' lines "
                    "or one class per line for the sorted files.")
flags.DEFINE_string("tfrecords", None, "File pattern of TFRecords with 'image'/'label'.")
flags.DEFINE_integer("image_size", 299, "Side of the loaded images (the attack space).",
                     lower_bound=1)
flags.DEFINE_integer("num_images", 0, "Use the first N images (0: all).", lower_bound=0)
flags.DEFINE_integer("batch_size", 16, "Images per batch.", lower_bound=1)
flags.DEFINE_list("attacks", ["fgsm", "bat"], "Adversaries, from "
                  f"{sorted(attacks.ADVERSARIES)}.")
flags.DEFINE_list("sweep", [], "Adversary parameter flags swept over --sweep_values, e.g. "
                  "kernel_size (Table XII), bat_init_value (XIII), pgd_steps,bat_steps.")
flags.DEFINE_list("sweep_values", [], "Values of the swept parameter(s).")
flags.DEFINE_string("output_dir", None, "Folder for attack_matrix.csv / .md.",
                    required=True)
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers (runs "
                  "their Python code; only for files you trust).")
config_flags.define_config_flags(
    fields={param.flag for param in attacks.registry.all_params()})


def load_model(spec, weights="imagenet", safe_mode=True):
  """An `ImageSpaceClassifier` from a --models spec."""
  if spec.endswith(".keras"):
    model = serving.load_detector(spec, safe_mode=safe_mode, compile=False)
    return classifiers.ImageSpaceClassifier(os.path.splitext(os.path.basename(spec))[0],
                                            model, tuple(model.input_shape[1:3]))
  return classifiers.from_application(spec, weights)


def main(argv):
  del argv
  unknown = sorted(set(FLAGS.attacks) - set(attacks.ADVERSARIES))
  if unknown:
    raise ValueError(f"--attacks: unknown {unknown}; expected names from "
                     f"{sorted(attacks.ADVERSARIES)}.")
  values = {param.flag: FLAGS[param.flag].value for param in attacks.registry.all_params()}
  # Each image is attacked with its own loss ("sum"): its adversarial example does not
  # depend on --batch_size or on the other images of its batch.
  crafts = attacks.registry.crafters(FLAGS.attacks, values, FLAGS.sweep, FLAGS.sweep_values,
                                     num_classes=None, loss_reduction="sum")
  models = [load_model(spec, FLAGS.weights, not FLAGS.unsafe_load) for spec in FLAGS.models]
  names = [m.name for m in models]
  if len(set(names)) != len(names):
    raise ValueError(f"--models: model names must be unique, got {names}.")
  batches = labelled_images.load_images(FLAGS.image_size, FLAGS.batch_size, FLAGS.images_dir,
                                        FLAGS.labels_file, FLAGS.tfrecords, FLAGS.num_images)
  rows = attack_matrix.attack_matrix(models, batches, crafts)
  atomic_write_text(os.path.join(FLAGS.output_dir, "attack_matrix.csv"),
                    attack_matrix.to_csv(rows))
  markdown = attack_matrix.to_markdown(rows, ",".join(FLAGS.sweep))
  atomic_write_text(os.path.join(FLAGS.output_dir, "attack_matrix.md"), markdown)
  print(markdown)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
