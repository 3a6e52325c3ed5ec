"""Entry point of `dfadv-attack` (the code is in dfadv_tf/cli/attack.py): Bazel and
`python -m tools.attack` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.attack import run

if __name__ == "__main__":
  run()
