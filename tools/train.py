"""Entry point of `dfadv-train` (the code is in dfadv_tf/cli/train.py): Bazel and
`python -m tools.train` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.train import run

if __name__ == "__main__":
  run()
