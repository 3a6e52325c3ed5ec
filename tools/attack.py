r"""Blur as an attack (paper Sec. IV-C): adversarial accuracy of every (source, target) pair.

For each source model, adversarial examples are crafted on the source (white box) with
each attack of --attacks, and every target model is scored on them; the output is the
target's accuracy, as Table VII (rows: source; columns: target x attack) in
`attack_matrix.md` and in long form in `attack_matrix.csv`. --sweep repeats the matrix
over kernel sizes (Table XII), initial sigma values (Table XIII) or step counts (Table
XIV).

Models (--models, comma-separated), each with its own preprocessing:
  InceptionV3                 keras.applications model, weights from --weights
                              ("imagenet" downloads them where the machine is online)
  InceptionV3=/path/w.h5      keras.applications model with a local weights file
  /path/detector.keras        a saved Keras model taking images in [-1, 1]
Images are loaded once at --image_size in [-1, 1]; every model is wrapped to resize them
to its own input size and map them to its own input space (pixels = (x + 1) * 127.5,
then the model's `preprocess_input`), so all attacks act in the same [-1, 1] image
space. Additive eps are given in grey levels (0-255) and become 2 * eps / 255 there.

Images: --images_dir with --labels_file (ImageNet validation layout: lines
"<file name> <class index>", class indices as the models use them, or one class index per
line for the sorted files), or --tfrecords (a file pattern of tf.train.Example records
with features `image` (encoded bytes) and `label` (int64), the schema of
dfadv_tf/data/records.py).

Example:
  dfadv-attack --models=InceptionV3,InceptionResNetV2,Xception \
    --images_dir=val --labels_file=val.txt --output_dir=out --attacks=fgsm,bat
"""

import csv
import io
import os

from absl import app
from absl import flags
from absl import logging
import keras
import numpy as np
import tensorflow as tf

from dfadv_tf import serving
from dfadv_tf.attacks import blur_attack, fgsm, pgd
from dfadv_tf.data import records
from dfadv_tf.files import atomic_write_text

ATTACKS = ("fgsm", "pgd", "bat", "bat_multi")
SWEEPS = ("none", "kernel_size", "init_value", "steps")
_IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp")


def _application(module, constructor, size):
  return (getattr(keras.applications, module), constructor, size)


# name -> (keras.applications module, constructor name, input side in pixels)
APPLICATIONS = {
    "InceptionV3": _application("inception_v3", "InceptionV3", 299),
    "InceptionResNetV2": _application("inception_resnet_v2", "InceptionResNetV2", 299),
    "Xception": _application("xception", "Xception", 299),
    "ResNet50": _application("resnet50", "ResNet50", 224),
    **{f"EfficientNetB{i}": _application("efficientnet", f"EfficientNetB{i}", size)
       for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))},
}

FLAGS = flags.FLAGS
flags.DEFINE_list("models", None, "Model specs: keras.applications name, name=weights "
                  "file, or a .keras file (see the module doc).")
flags.DEFINE_string("weights", "imagenet", "Weights of keras.applications models named "
                    "without a file: 'imagenet' (download) or a local weights file.")
flags.DEFINE_string("images_dir", None, "Folder of images (ImageNet validation layout).")
flags.DEFINE_string("labels_file", None, "Labels of --images_dir: '<file> <class>' lines "
                    "or one class per line for the sorted files.")
flags.DEFINE_string("tfrecords", None, "File pattern of TFRecords with 'image'/'label'.")
flags.DEFINE_integer("image_size", 299, "Side of the loaded images (attack space).")
flags.DEFINE_integer("num_images", 0, "Use the first N images (0: all).")
flags.DEFINE_integer("batch_size", 16, "Images per batch.")
flags.DEFINE_list("attacks", ["fgsm", "bat"], f"Attacks, from {ATTACKS}.")
flags.DEFINE_float("fgsm_eps", 16.0, "FGSM / PGD L-inf eps in grey levels (0-255).")
flags.DEFINE_integer("pgd_steps", 3, "PGD steps (Table XIV: 3).")
flags.DEFINE_float("pgd_step_size", None, "PGD step in grey levels; default eps / steps.")
flags.DEFINE_float("bat_eps", 0.1, "BAT step size eps of Eq. 6 (Sec. IV-C: 0.1).")
flags.DEFINE_integer("bat_kernel_size", 5, "BAT blur kernel size (Sec. IV-C: 5).")
flags.DEFINE_float("bat_init_value", 1.0, "BAT initial value of every map entry.")
flags.DEFINE_enum("bat_init", "constant", ["constant", "l2"], "BAT map initialisation.")
flags.DEFINE_enum("bat_param", "sigma", ["inv_var", "inv_sigma", "sigma"],
                  "The map variable that the BAT step moves (Sec. IV-C: sigma).")
flags.DEFINE_integer("bat_channels", 3, "BAT map channels, 1 or 3.")
flags.DEFINE_boolean("bat_renormalize", False, "Rescale the BAT map to its start norm.")
flags.DEFINE_integer("bat_steps", 3, "Steps of bat_multi (Table XIV: 3).")
flags.DEFINE_enum("sweep", "none", SWEEPS, "Parameter swept over --sweep_values: "
                  "kernel_size (Table XII), init_value (XIII), steps (XIV).")
flags.DEFINE_list("sweep_values", [], "Values of the swept parameter.")
flags.DEFINE_string("output_dir", None, "Folder for attack_matrix.csv / .md.")
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers (runs "
                  "their Python code; only for files you trust).")


# ------------------------------------------------------------------------------------
# Models


class ModelInImageSpace:
  """A classifier called on images (B, H, W, 3) in [-1, 1]: resize, preprocess, logits."""

  def __init__(self, name, model, size, preprocess=None):
    self.name = name
    self.model = model
    self.size = size
    self.preprocess = preprocess

  def __call__(self, images, training=False):
    if None not in self.size and tuple(images.shape[1:3]) != self.size:
      images = tf.image.resize(images, self.size, method="bilinear")
    if self.preprocess is not None:
      images = self.preprocess((images + 1.0) * 127.5)
    return self.model(images, training=training)

  @property
  def num_classes(self):
    return self.model.output_shape[-1]


def load_model(spec, weights="imagenet", safe_mode=True):
  """A `ModelInImageSpace` from a spec: name, name=weights file, or a .keras file (loaded
  in Keras' safe mode unless `safe_mode=False`: a Lambda layer is refused)."""
  if spec.endswith(".keras"):
    if not os.path.isfile(spec):
      raise ValueError(f"--models: saved model {spec!r} does not exist.")
    model = serving.load_detector(spec, safe_mode=safe_mode, compile=False)
    name = os.path.splitext(os.path.basename(spec))[0]
    return ModelInImageSpace(name, model, tuple(model.input_shape[1:3]))
  name, _, weights_file = spec.partition("=")
  if name not in APPLICATIONS:
    raise ValueError(
        f"--models: unknown model {name!r}; expected a .keras file or one of "
        f"{sorted(APPLICATIONS)} (keras.applications; Inception-v4 is not among them).")
  module, constructor, size = APPLICATIONS[name]
  weights = weights_file or weights
  if weights not in ("imagenet", None) and not os.path.isfile(weights):
    raise ValueError(f"--models/--weights: weights file {weights!r} for {name} does not "
                     "exist.")
  try:
    model = getattr(module, constructor)(weights=weights, classifier_activation=None)
  except Exception as error:  # pylint: disable=broad-except
    if weights != "imagenet":
      raise
    raise RuntimeError(
        f"could not get the ImageNet weights of {name} ({error}); this machine may be "
        f"offline. Pass a local weights file: --models={name}=/path/to/weights.h5 (or "
        "--weights=/path/to/weights.h5 for every named model).") from error
  return ModelInImageSpace(name, model, (size, size), module.preprocess_input)


# ------------------------------------------------------------------------------------
# Images


def _decode(encoded, image_size):
  """Encoded image bytes -> (image_size, image_size, 3) float32 in [-1, 1]."""
  image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  image = tf.image.resize(image, (image_size, image_size), antialias=True)
  image = tf.clip_by_value(image, 0.0, 255.0) / 127.5 - 1.0
  image.set_shape((image_size, image_size, 3))
  return image


def read_labels_file(images_dir, labels_file):
  """(paths, labels) from '<file> <class>' lines, or one class per line for sorted files."""
  with open(labels_file, encoding="utf-8") as f:
    lines = [line.split() for line in f if line.strip()]
  if all(len(parts) == 2 for parts in lines):
    names = [parts[0] for parts in lines]
    labels = [parts[1] for parts in lines]
  elif all(len(parts) == 1 for parts in lines):
    names = sorted(n for n in os.listdir(images_dir)
                   if n.lower().endswith(_IMAGE_EXTENSIONS))
    labels = [parts[0] for parts in lines]
    if len(names) != len(labels):
      raise ValueError(
          f"--labels_file {labels_file!r} has {len(labels)} labels but --images_dir "
          f"{images_dir!r} has {len(names)} images.")
  else:
    raise ValueError(f"--labels_file {labels_file!r}: expected '<file> <class>' lines or "
                     "one class per line.")
  paths = [os.path.join(images_dir, n) for n in names]
  missing = [p for p in paths if not os.path.isfile(p)]
  if missing:
    raise ValueError(f"--labels_file names {len(missing)} missing images, e.g. {missing[0]!r}.")
  try:
    return paths, [int(label) for label in labels]
  except ValueError as error:
    raise ValueError(f"--labels_file {labels_file!r}: class indices must be integers "
                     f"({error}).") from error


def load_images(image_size, batch_size, images_dir=None, labels_file=None, tfrecords=None,
                num_images=0):
  """Batches (images (B, S, S, 3) float32 in [-1, 1], labels (B,) int32), in order."""
  if (images_dir is None) == (tfrecords is None):
    raise ValueError("give exactly one of --images_dir (with --labels_file) and --tfrecords.")
  if tfrecords is not None:
    files = sorted(tf.io.gfile.glob(tfrecords))
    if not files:
      raise ValueError(f"--tfrecords {tfrecords!r} matches no file.")
    schema = {key: records.FEATURES[key] for key in ("image", "label")}
    data = tf.data.TFRecordDataset(files).map(
        lambda r: tf.io.parse_single_example(r, schema))
    data = data.map(lambda f: (_decode(f["image"], image_size), tf.cast(f["label"], tf.int32)))
  else:
    if labels_file is None:
      raise ValueError("--images_dir needs --labels_file.")
    paths, labels = read_labels_file(images_dir, labels_file)
    data = tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, np.int32)))
    data = data.map(lambda p, y: (_decode(tf.io.read_file(p), image_size), y))
  if num_images > 0:
    data = data.take(num_images)
  return data.batch(batch_size).prefetch(2)


# ------------------------------------------------------------------------------------
# Attacks and the matrix


def _grey_levels(eps):
  """Grey levels (0-255) -> the [-1, 1] image space."""
  return 2.0 * eps / 255.0


def make_attacks(names, params, sweep="none", sweep_values=()):
  """[(attack name, sweep value or "", fn(model, images, labels))] for the matrix.

  `params` holds fgsm_eps, pgd_steps, pgd_step_size, bat_eps, bat_kernel_size,
  bat_init_value, bat_init, bat_param, bat_channels, bat_renormalize, bat_steps. The
  sweep overrides bat_kernel_size ("kernel_size"), bat_init_value ("init_value") or the
  steps of pgd and bat_multi ("steps") for the attacks that use it.
  """
  unknown = [n for n in names if n not in ATTACKS]
  if unknown:
    raise ValueError(f"--attacks: unknown {unknown}; expected names from {ATTACKS}.")
  if sweep not in SWEEPS:
    raise ValueError(f"--sweep must be one of {SWEEPS}, got {sweep!r}.")
  if sweep != "none" and not sweep_values:
    raise ValueError(f"--sweep={sweep} needs --sweep_values.")
  swept = {"kernel_size": {"bat", "bat_multi"}, "init_value": {"bat", "bat_multi"},
           "steps": {"pgd", "bat_multi"}}.get(sweep, set())
  cast = float if sweep == "init_value" else int

  def build(name, value):
    p = dict(params)
    if value != "":
      key = {"kernel_size": "bat_kernel_size", "init_value": "bat_init_value"}.get(sweep)
      if key:
        p[key] = value
      else:
        p["pgd_steps"] = p["bat_steps"] = value
    eps = _grey_levels(p["fgsm_eps"])
    if name == "fgsm":
      return lambda m, x, y: fgsm(m, x, y, eps, num_classes=None)
    if name == "pgd":
      steps = p["pgd_steps"]
      step = eps / steps if p["pgd_step_size"] is None else _grey_levels(p["pgd_step_size"])
      return lambda m, x, y: pgd(m, x, y, eps, step, steps, num_classes=None)
    steps = 1 if name == "bat" else p["bat_steps"]
    return lambda m, x, y: blur_attack(
        m, x, y, eps=p["bat_eps"], steps=steps, kernel_size=p["bat_kernel_size"],
        channels=p["bat_channels"], param=p["bat_param"], init=p["bat_init"],
        init_value=p["bat_init_value"], renormalize=p["bat_renormalize"],
        num_classes=None)[0]

  attacks = []
  for name in names:
    values = [cast(v) for v in sweep_values] if name in swept else [""]
    attacks.extend((name, value, build(name, value)) for value in values)
  return attacks


def attack_matrix(models, batches, attacks):
  """Rows {sweep_value, attack, source, target, accuracy, num_images}; clean included.

  The "clean" attack has source "-": each target's accuracy on the benign images.
  """
  correct = {}
  total = 0
  crafts = {(name, value, source.name): tf.function(
      lambda x, y, fn=fn, source=source: fn(source, x, y))
            for name, value, fn in attacks for source in models}
  for images, labels in batches:
    for model in models:
      if int(tf.reduce_max(labels)) >= model.num_classes:
        raise ValueError(f"labels go up to {int(tf.reduce_max(labels))} but model "
                         f"{model.name} has {model.num_classes} classes.")
    total += int(labels.shape[0])
    inputs = {("clean", "", "-"): images}
    for key, craft in crafts.items():
      inputs[key] = craft(images, labels)
    for key, adv in inputs.items():
      for target in models:
        hits = tf.reduce_sum(tf.cast(
            tf.argmax(target(adv), axis=-1, output_type=tf.int32) == labels, tf.int64))
        correct[key + (target.name,)] = correct.get(key + (target.name,), 0) + int(hits)
    logging.info("attacked %d images", total)
  if total == 0:
    raise ValueError("no images to attack.")
  return [{"sweep_value": value, "attack": name, "source": source, "target": target,
           "accuracy": hits / total, "num_images": total}
          for (name, value, source, target), hits in correct.items()]


def to_csv(rows):
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=["sweep_value", "attack", "source", "target",
                                           "accuracy", "num_images"], lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({**row, "accuracy": f"{row['accuracy']:.4f}"})
  return out.getvalue()


def to_markdown(rows, sweep="none"):
  """Table VII layout: one row per (sweep value, source), columns target x attack."""
  targets = list(dict.fromkeys(r["target"] for r in rows))
  attacks = list(dict.fromkeys(r["attack"] for r in rows if r["attack"] != "clean"))
  cell = {(r["sweep_value"], r["source"], r["target"], r["attack"]): r["accuracy"]
          for r in rows}
  columns = [(t, a) for t in targets for a in attacks]
  head = ([sweep] if sweep != "none" else []) + ["Source \\ Target"]
  lines = ["| " + " | ".join(head + [f"{t} {a.upper()}" for t, a in columns]) + " |",
           "| " + " | ".join(["---"] * (len(head) + len(columns))) + " |"]
  clean = [f"{cell[('', '-', t, 'clean')]:.2%}" for t in targets for _ in attacks]
  lines.append("| " + " | ".join([""] * (len(head) - 1) + ["clean"] + clean) + " |")
  sources = list(dict.fromkeys(r["source"] for r in rows if r["source"] != "-"))
  values = list(dict.fromkeys(r["sweep_value"] for r in rows if r["sweep_value"] != ""))
  for value, source in [(v, s) for v in values or [""] for s in sources]:
    values = []
    for target, attack in columns:
      accuracy = cell.get((value, source, target, attack))
      if accuracy is None:  # attack not swept: its single row applies to every value
        accuracy = cell.get(("", source, target, attack))
      values.append("" if accuracy is None else f"{accuracy:.2%}")
    lead = ([str(value)] if sweep != "none" else []) + [source]
    lines.append("| " + " | ".join(lead + values) + " |")
  return "\n".join(lines) + "\n"


def main(argv):
  del argv
  if not FLAGS.models:
    raise app.UsageError("--models is required.")
  if FLAGS.output_dir is None:
    raise app.UsageError("--output_dir is required.")
  params = {key: getattr(FLAGS, key) for key in (
      "fgsm_eps", "pgd_steps", "pgd_step_size", "bat_eps", "bat_kernel_size",
      "bat_init_value", "bat_init", "bat_param", "bat_channels", "bat_renormalize",
      "bat_steps")}
  attacks = make_attacks(FLAGS.attacks, params, FLAGS.sweep, FLAGS.sweep_values)
  models = [load_model(spec, FLAGS.weights, not FLAGS.unsafe_load) for spec in FLAGS.models]
  names = [m.name for m in models]
  if len(set(names)) != len(names):
    raise ValueError(f"--models: model names must be unique, got {names}.")
  batches = load_images(FLAGS.image_size, FLAGS.batch_size, FLAGS.images_dir,
                        FLAGS.labels_file, FLAGS.tfrecords, FLAGS.num_images)
  rows = attack_matrix(models, batches, attacks)
  atomic_write_text(os.path.join(FLAGS.output_dir, "attack_matrix.csv"), to_csv(rows))
  markdown = to_markdown(rows, FLAGS.sweep)
  atomic_write_text(os.path.join(FLAGS.output_dir, "attack_matrix.md"), markdown)
  print(markdown)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
