"""Where every binary starts (`dfadv-*` console scripts, `python -m tools.<name>`).

Imports nothing heavy: `--help` / `--helpfull` print the binary's stored help
(`help/<name>.txt`, `help/<name>.full.txt`) and exit 0 in well under a second, without
starting TensorFlow. The flags are defined from the registries (adversaries, backbones,
corruptions, ...), which are filled when TensorFlow modules are imported, so the help is
written ahead: `python tools/update_help.py` renders it from the real flag definitions
(`app.help_text`) and `--check` (a test) fails when it is stale.

Any other call runs the binary (`dfadv_tf.cli.<name>.run`) with TensorFlow's and CUDA's
start-up log quiet, unless --tf_log is given: TF_CPP_MIN_LOG_LEVEL=3 (unless set) for
the log once TensorFlow runs, and the binary imported inside
`dfadv_tf.startup.start_up_log_dropped`, which drops the lines that TensorFlow's libraries write while they load (before that variable is
read: oneDNN, CUDA drivers); everything else is passed on.
"""

import os
import sys

from dfadv_tf import startup

BINARIES = ("make_demo_data", "preprocess", "train", "evaluate", "attack", "detect",
            "export", "robustness")
HELP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "help")
# 3: no INFO, WARNING or ERROR lines (the start-up's are noise: "failed call to cuInit"
# on a machine without a GPU); TensorFlow's errors still raise Python exceptions.
TF_LOG_ENV, TF_LOG_LEVEL = startup.TF_LOG_ENV, "3"

# absl's help flags (--helpxml is left to absl).
_SHORT_HELP = ("--help", "-help", "-?", "-h", "--helpshort", "-helpshort")
_FULL_HELP = ("--helpfull", "-helpfull")


def program(name):
  """The console script of binary `name`: make_demo_data -> dfadv-make-demo-data."""
  return "dfadv-" + name.replace("_", "-")


def help_path(name, full=False):
  return os.path.join(HELP_DIR, f"{name}.full.txt" if full else f"{name}.txt")


def help_request(args):
  """"short" (--help), "full" (--helpfull) or None, from the command-line arguments
  before a `--`."""
  args = args[:args.index("--")] if "--" in args else args
  if any(arg in _FULL_HELP for arg in args):
    return "full"
  if any(arg in _SHORT_HELP for arg in args):
    return "short"
  return None


def _wants_tf_log(args):
  return any(arg in ("--tf_log", "-tf_log") or arg.startswith("--tf_log=")
             and arg.split("=", 1)[1].lower() in ("1", "true", "yes") for arg in args)


def prepare(name):
  """What every binary does before it imports TensorFlow: --help / --helpfull print the
  stored help of binary `name` and exit 0; otherwise TensorFlow's log is set quiet
  unless --tf_log."""
  args = sys.argv[1:]
  request = help_request(args)
  if request is not None:
    with open(help_path(name, request == "full"), encoding="utf-8") as f:
      sys.stdout.write(f.read())
    sys.exit(0)
  if not _wants_tf_log(args):
    os.environ.setdefault(TF_LOG_ENV, TF_LOG_LEVEL)
  return startup.start_up_log_dropped()


# The console scripts (setup.py) and tools/<name>.py: each imports its binary explicitly.
# pylint: disable=g-import-not-at-top,import-outside-toplevel
def make_demo_data():
  with prepare("make_demo_data"):
    from dfadv_tf.cli import make_demo_data as binary
  binary.run()


def preprocess():
  with prepare("preprocess"):
    from dfadv_tf.cli import preprocess as binary
  binary.run()


def train():
  with prepare("train"):
    from dfadv_tf.cli import train as binary
  binary.run()


def evaluate():
  with prepare("evaluate"):
    from dfadv_tf.cli import evaluate as binary
  binary.run()


def attack():
  with prepare("attack"):
    from dfadv_tf.cli import attack as binary
  binary.run()


def detect():
  with prepare("detect"):
    from dfadv_tf.cli import detect as binary
  binary.run()


def export():
  with prepare("export"):
    from dfadv_tf.cli import export as binary
  binary.run()


def robustness():
  with prepare("robustness"):
    from dfadv_tf.cli import robustness as binary
  binary.run()
