r"""Trains a deepfake detector in one of the paper's modes, then evaluates its test grids.

One flag file per experiment (flags/), e.g.

  dfadv-train --flagfile=flags/table1_two_gen_bat.flags --data_root=/data/ffpp_tfrecords

Everything the run needs (data, sizes, files) is checked before anything is written.
Writes to --output_dir, every file whole or not at all: config.json,
checkpoints/epoch_NNN.keras (the whole training model, each epoch), best_detector.keras
(best validation accuracy), backup/ (resume after a kill at any point: run the same
command again; with --deterministic it ends with the weights of an uninterrupted run),
logs/ (TensorBoard), tables/*.md|csv and results.json. One run at a time owns the folder;
other flags there are refused unless --restart.

--batch_size is the global batch under every --strategy; for --strategy=multi_worker run
the same command on every worker with its TF_CONFIG (docs/scaling.md).
"""

from absl import flags

from dfadv_tf import experiment
from dfadv_tf.cli import app
from dfadv_tf.cli import flags as config_flags
from dfadv_tf.experiment import preflight

config_flags.define_config_flags()
flags.DEFINE_bool("restart", False, "Start over in an --output_dir that holds a run (of "
                  "this or another configuration): its outputs are removed first. "
                  "Without it, the same flags resume the run there and other flags are "
                  "refused.")
FLAGS = flags.FLAGS


def validate_flags():
  """The flags (`ExperimentConfig`'s checks) and everything the run needs
  (`preflight.check_training`), before anything is written."""
  preflight.check_training(config_flags.config_from_flags())


def main(argv):
  del argv
  config = config_flags.config_from_flags()
  result = experiment.run_experiment(config, restart=FLAGS.restart)
  for table in result["tables"].values():
    print("\n" + table)
  print(f"Best epoch on validation accuracy: {result['best_epoch']}; outputs in "
        f"{config.output_dir}; TensorBoard: tensorboard --logdir {config.output_dir}/logs")


def run():
  app.run(main, validate_flags)


if __name__ == "__main__":
  run()
