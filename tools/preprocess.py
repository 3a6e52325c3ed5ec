"""Entry point of `dfadv-preprocess` (the code is in dfadv_tf/cli/preprocess.py): Bazel and
`python -m tools.preprocess` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.preprocess import run

if __name__ == "__main__":
  run()
