r"""Scores saved detectors on a test set under test-time corruptions at graded severities.

  dfadv-robustness --flagfile=flags/demo/common.flags \
      --detectors="Baseline=runs/demo/baseline/best_detector.keras,+ Two-Gen-BAT=runs/demo/two_gen_bat/best_detector.keras" \
      --output_dir=runs/demo/robustness

The experiment flags choose the data as for dfadv-evaluate (data_root, dataset, methods,
qualities, image_size, batch_size, seed); --sets names test sets of its grids (default:
the first training method at the first training quality, e.g. "FS c23"), read from the
test split. Corruptions (dfadv_tf.evaluation.corruptions): jpeg, blur, noise, resize, h264 and
the white-box attacks fgsm and bat, crafted on each detector itself with the
adversaries' flags (--bat_steps, --kernel_size, ...) for their other parameters;
--severity=NAME:V1,V2,... replaces a corruption's severities. Writes
<output_dir>/robustness.{csv,md,png} and TensorBoard under <output_dir>/logs.
"""

import math
import os

from absl import flags

from dfadv_tf import checks
from dfadv_tf import files
from dfadv_tf import serving
from dfadv_tf.cli import app
from dfadv_tf.cli import flags as config_flags
from dfadv_tf.evaluation import corruptions as corruptions_lib
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.evaluation import robustness
from dfadv_tf.experiment import data as data_lib
from dfadv_tf.experiment import run as run_lib

config_flags.define_config_flags(own=config_flags.DATA + config_flags.ADVERSARY)
flags.DEFINE_list("detectors", None, "NAME=PATH pairs of saved .keras detectors (a bare "
                  "PATH is named after its folder).", required=True)
flags.DEFINE_list("corruptions", list(corruptions_lib.CORRUPTIONS),
                  "Corruptions to apply, of: " + ", ".join(
                      f"{c.name} ({c.unit}: {', '.join(f'{s:g}' for s in c.severities)})"
                      for c in corruptions_lib.CORRUPTIONS.values()) + ".")
flags.DEFINE_multi_string("severity", [], "NAME:V1,V2,... replaces the severities of "
                          "corruption NAME (mildest first); repeat for several.")
flags.DEFINE_list("sets", [], "Test sets of the experiment's grids to score (e.g. 'FS c23,"
                  "DF c23'); default: the first training method at the first training "
                  "quality.")
flags.DEFINE_integer("max_images", 0, "Score at most this many test images per set "
                     "(rounded up to whole batches, drawn in a seeded shuffle); 0: all.")
flags.DEFINE_float("threshold", 0.5, "Fake-probability threshold of ACC.")
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers (runs "
                  "their Python code; only for files you trust).")
FLAGS = flags.FLAGS


def parse_severities(items):
  """['name:v1,v2'] -> {name: (v1, v2)}; ValueError naming a bad item."""
  out = {}
  for item in items:
    name, sep, values = item.partition(":")
    try:
      parsed = tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
      parsed = ()
    if not sep or not parsed:
      raise ValueError(f"--severity={item!r}: expected NAME:V1,V2,... with numbers, e.g. "
                       "jpeg:90,50,10.")
    corruption = corruptions_lib.get(name)
    try:
      out[name] = tuple(corruption.check(v) for v in parsed)
    except ValueError as error:
      raise ValueError(f"--severity={item!r}: {error}") from None
  return out


def selected_sets(config, names):
  """{set name: Selection} of the requested test sets (ValueError listing the grids'
  sets for an unknown one)."""
  available = {name: selection for sets in data_lib.test_grids(config).values()
               for name, selection in sets.items()}
  names = names or [grid_lib.set_name(config.train_methods[0], config.train_qualities[0])]
  unknown = [n for n in names if n not in available]
  if unknown:
    raise ValueError(f"--sets: {unknown} are not test sets of this experiment; expected "
                     f"some of {sorted(available)}.")
  return {name: available[name] for name in names}


def validate_flags():
  """Every flag checked before a detector is loaded or anything is written."""
  config = config_flags.config_from_flags()
  if config.tsn_segments:
    raise ValueError("dfadv-robustness scores frame detectors; got tsn_segments="
                     f"{config.tsn_segments}, expected 0.")
  parse_severities(FLAGS.severity)
  for name in FLAGS.corruptions:
    corruptions_lib.get(name)
  checks.probability(FLAGS.threshold, "--threshold")
  checks.integer(FLAGS.max_images, "--max_images", minimum=0)
  for path in config_flags.parse_detectors(FLAGS.detectors).values():
    if not os.path.isfile(path):
      raise FileNotFoundError(f"detector file {path} does not exist.")
  files.check_writable(config.output_dir, "output_dir")
  files.refuse_symlinks(config.output_dir, ("logs",))


def main(argv):
  del argv
  config = config_flags.config_from_flags()
  severities = parse_severities(FLAGS.severity)
  chosen = [corruptions_lib.get(name) for name in FLAGS.corruptions]
  corruptions = [(c, severities.get(c.name, c.severities)) for c in chosen]
  sets = selected_sets(config, FLAGS.sets)
  detectors = {}
  for name, path in config_flags.parse_detectors(FLAGS.detectors).items():
    detectors[name] = serving.load_detector(path, safe_mode=not FLAGS.unsafe_load)
    run_lib.check_detector(detectors[name], config, source=path)
  max_batches = (math.ceil(FLAGS.max_images / config.batch_size) if FLAGS.max_images > 0
                 else None)
  with files.OutputLock(config.output_dir, "output_dir"):  # one run at a time
    logdir = _sweep_and_report(config, sets, detectors, corruptions, max_batches)
  print(f"Report in {config.output_dir}/robustness.{{md,csv,png}}; TensorBoard: "
        f"tensorboard --logdir {logdir}")


def _sweep_and_report(config, sets, detectors, corruptions, max_batches):
  rows = []
  for set_name, selection in sets.items():
    dataset = data_lib.load(config, selection, "test", shuffle=max_batches is not None,
                            seed=config.seed, with_metadata=True)
    rows += robustness.robustness_sweep(detectors, dataset, corruptions, seed=config.seed,
                                        values=config, threshold=FLAGS.threshold,
                                        set_name=set_name, max_batches=max_batches)
  logdir = os.path.join(config.output_dir, "logs")
  print(robustness.write_report(rows, config.output_dir, logdir=logdir,
                                threshold=FLAGS.threshold))
  return logdir


def run():
  app.run(main, validate_flags)


if __name__ == "__main__":
  run()
