"""Writes dfadv_tf/cli/help/<binary>{,.full}.txt: what each binary's --help and
--helpfull print (`dfadv_tf.cli.app.help_text`), which `dfadv_tf.cli.launch` prints
without starting TensorFlow.

  python tools/update_help.py          # rewrite the help files
  python tools/update_help.py --check  # exit 1 if one differs (tests/cli/launch_test.py)

Run it after changing a flag, a binary's doc or a registry that flags list (adversaries,
backbones, corruptions, ...). The binaries are imported one after the other in this
process; the flags that one defines are removed before the next is imported.
"""

import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from dfadv_tf.cli import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from dfadv_tf.cli import flags as config_flags  # pylint: disable=g-import-not-at-top
from dfadv_tf.cli import launch  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS


def _is_ours(name):
  module = FLAGS.find_module_defining_flag(name) or ""
  return module.startswith("dfadv_tf") or module in (config_flags.OTHER_MODULE,
                                                   config_flags.DEPRECATED_MODULE)


def help_texts():
  """{path: text} of every binary's help files."""
  texts, before = {}, set(FLAGS)
  for name in launch.BINARIES:
    module = importlib.import_module(f"dfadv_tf.cli.{name}")
    for full in (False, True):
      texts[launch.help_path(name, full)] = app.help_text(
          module.__doc__, launch.program(name), full=full)
    for flag in sorted(set(FLAGS) - before):
      if _is_ours(flag):
        delattr(FLAGS, flag)
    del sys.modules[module.__name__]
  return texts


def main(argv):
  texts = help_texts()
  stale = []
  for path, text in texts.items():
    current = None
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        current = f.read()
    if current != text:
      stale.append(os.path.relpath(path, ROOT))
      if "--check" not in argv:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
          f.write(text)
  if "--check" in argv and stale:
    print(f"{', '.join(stale)} out of date: run python tools/update_help.py",
          file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
