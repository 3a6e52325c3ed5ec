r"""Evaluates saved detectors on the test grids of an experiment, frame and video level.

  dfadv-evaluate --flagfile=flags/demo/two_gen_bat.flags \
      --detectors="Baseline=runs/demo/baseline/best_detector.keras,+ Two-Gen-BAT=runs/demo/two_gen_bat/best_detector.keras" \
      --output_dir=runs/demo/compare

The experiment flags (data_root, dataset, train_methods, train_qualities, test_methods,
test_qualities, extra_test_datasets, image_size, batch_size) choose the grids, so the
flag file a model was trained with can be passed as it is. The grids' data, the
detector files and --output_dir are checked, and every detector is loaded, before the
first is evaluated. Writes
<output_dir>/tables/{cross_method,cross_quality,...}{,_video}.{md,csv} and results.json.
Every table has, per set, the ACC at 0.5 (the paper's) and ACC@val, the ACC at the
threshold of best balanced accuracy on the validation split of the training selection
(frame or video level, per detector; results.json: acc_val / video_acc_val and
val_threshold / video_val_threshold), and a note line naming the thresholds.

Evaluation-only data (a labelled folder with only test/, or real/ and fake/ preprocessed
with --whole_split=test) has no validation split: ACC@val then uses the thresholds the
detector's training run recorded in the results.json beside it (said in one line and in
the note), or is left out, with a warning, for a detector without one.
"""

import json
import os

from absl import flags

from dfadv_tf import experiment
from dfadv_tf import files
from dfadv_tf import serving
from dfadv_tf.cli import app
from dfadv_tf.cli import flags as config_flags
from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.experiment import preflight

config_flags.define_config_flags(own=config_flags.DATA)
flags.DEFINE_list("detectors", None, "NAME=PATH pairs of saved .keras detectors (a bare "
                  "PATH is named after its folder).", required=True)
flags.DEFINE_bool("unsafe_load", False, "Allow .keras files with Lambda layers (runs "
                  "their Python code; only for files you trust).")
FLAGS = flags.FLAGS


def validate_flags():
  """The flags, the grids' data, the detector files and --output_dir, checked before
  anything is loaded or written."""
  config = config_flags.config_from_flags()
  preflight.check_evaluation(config, config_flags.parse_detectors(FLAGS.detectors).values())
  files.refuse_symlinks(config.output_dir, ("tables", "logs", "results.json"))


def main(argv):
  del argv
  config = config_flags.config_from_flags()
  paths = config_flags.parse_detectors(FLAGS.detectors)
  detectors = {}
  for name, path in paths.items():  # every detector loaded and checked before any is run
    detectors[name] = serving.load_detector(path, safe_mode=not FLAGS.unsafe_load)
    experiment.check_detector(detectors[name], config, source=path)
  with files.OutputLock(config.output_dir, "output_dir"):
    results = {name: experiment.evaluate_detector(detector, config, source=paths[name])
               for name, detector in detectors.items()}
    files.atomic_write_text(os.path.join(config.output_dir, "results.json"),
                            json.dumps(results, indent=2))
    logdir = os.path.join(config.output_dir, "logs")
    tables = grid_lib.write_tables(results, config.output_dir, logdir=logdir)
    video = grid_lib.write_tables(results, config.output_dir, logdir=logdir,
                                  level="video")
  for grid in tables:
    print("\n" + tables[grid] + "\n" + video[grid])
  print(f"Tables in {config.output_dir}/tables; TensorBoard: tensorboard --logdir {logdir}")


def run():
  app.run(main, validate_flags)


if __name__ == "__main__":
  run()
