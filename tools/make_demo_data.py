"""Entry point of `dfadv-make-demo-data` (the code is in dfadv_tf/cli/make_demo_data.py, started by
dfadv_tf/cli/launch.py): Bazel and `python -m tools.make_demo_data` run this file; the installed
console script calls the same function."""

from dfadv_tf.cli import launch

if __name__ == "__main__":
  launch.make_demo_data()
