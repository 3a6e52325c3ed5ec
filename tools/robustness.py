"""Entry point of `dfadv-robustness` (the code is in dfadv_tf/cli/robustness.py): Bazel and
`python -m tools.robustness` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.robustness import run

if __name__ == "__main__":
  run()
