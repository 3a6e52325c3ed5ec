"""Entry point of `dfadv-preprocess` (the code is in dfadv_tf/cli/preprocess.py, started by
dfadv_tf/cli/launch.py): Bazel and `python -m tools.preprocess` run this file; the installed
console script calls the same function."""

from dfadv_tf.cli import launch

if __name__ == "__main__":
  launch.preprocess()
