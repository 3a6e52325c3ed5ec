"""Entry point of `dfadv-make-demo-data` (the code is in dfadv_tf/cli/make_demo_data.py): Bazel and
`python -m tools.make_demo_data` run this file; the installed console script calls the same run()."""

from dfadv_tf.cli.make_demo_data import run

if __name__ == "__main__":
  run()
