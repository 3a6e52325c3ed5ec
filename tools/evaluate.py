"""Entry point of `dfadv-evaluate` (the code is in dfadv_tf/cli/evaluate.py): Bazel and
`python -m tools.evaluate` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.evaluate import run

if __name__ == "__main__":
  run()
