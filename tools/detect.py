"""Entry point of `dfadv-detect` (the code is in dfadv_tf/cli/detect.py): Bazel and
`python -m tools.detect` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.detect import run

if __name__ == "__main__":
  run()
