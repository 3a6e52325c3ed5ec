"""Entry point of `dfadv-export` (the code is in dfadv_tf/cli/export.py): Bazel and
`python -m tools.export` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.export import run

if __name__ == "__main__":
  run()
