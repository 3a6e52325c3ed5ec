"""Starts a binary: its flags in `--help`, user errors as one line, an exit code.

`run(main)` is what every `dfadv-*` console script and `tools/*.py` calls. absl
lists the flags of the main module in `--help`; a console script's main module is the
generated wrapper, so the binary's flags (every flag defined under `dfadv_tf.cli`) are
declared key flags of it first. `run(main, validate)` calls
`validate()` first, the binary's single pre-write stage: every flag checked (finite, in
range, consistent with the others) before anything is written. An exception a user can
cause (bad flags, files, data)
is printed as `<program>: error: <message>` on one line and the program exits with 1;
`--traceback` re-raises it with its Python traceback. `--help` / `--helpfull` print
`help_text` and exit 0 (absl's exit 1); `launch` prints a stored copy of it without
starting TensorFlow.
"""

import json
import os
import re
import sys

from absl import app
from absl import flags

import tensorflow as tf

from dfadv_tf.cli import launch

flags.DEFINE_bool("traceback", False, "On an error, show the Python traceback instead of "
                  "the one-line message (for bug reports).")
flags.DEFINE_bool("tf_log", False, "Show TensorFlow's and CUDA's start-up log lines "
                  f"(hidden by default: {launch.TF_LOG_ENV}={launch.TF_LOG_LEVEL} unless "
                  "that variable is set). Read from the command line, before TensorFlow "
                  "starts; not from a flag file.")
FLAGS = flags.FLAGS

# What a user's input can raise; anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, KeyError, json.JSONDecodeError, tf.errors.OpError)


# The graph context that TensorFlow adds to an op error's message.
_TF_CONTEXT = ("Graph execution error", "Detected at node", "File \"", "[[", "{{",
               "<stack traces unavailable>")


def _op_message(message):
  """An op error's own message: the text of a failed assertion (`tf.debugging.Assert`
  data joined), or the lines that are not TensorFlow's node and stack context."""
  if "assertion failed:" in message:
    text = re.split(r"\n|\t \[\[", message.split("assertion failed:", 1)[1].strip())[0]
    return re.sub(r"^\[|\]$", "", text.strip()).replace("] [", " ")
  lines = [line for line in message.splitlines()
           if not line.strip().startswith(_TF_CONTEXT)]
  return re.sub(r"\s*\[Op:[^\]]*\]", "", "\n".join(lines))


def one_line(error):
  """The message of `error` on one line (TensorFlow's op errors without their graph
  context)."""
  message = (_op_message(error.message) if isinstance(error, tf.errors.OpError)
             else str(error))
  if isinstance(error, KeyError) and error.args:
    message = str(error.args[0])
  lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
  text = " ".join(lines) or type(error).__name__
  # file names that are not valid UTF-8 (surrogate escapes) printed as \xNN
  return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _declare_key_flags(main, script=None):
  """Makes the binary's flags the key flags of module `main` (so `--help` lists them):
  those defined under `dfadv_tf.cli` (not the `flags.OTHER_MODULE` ones) or in `script`
  (default `main`: absl's name of a module run as a script is its path)."""
  for module, module_flags in FLAGS.flags_by_module_dict().items():
    if module.startswith("dfadv_tf.cli") or module == (script or main):
      for flag in module_flags:
        FLAGS.register_key_flag_for_module(main, flag)


def help_text(doc, program, full=False, script=None):
  """What --help (the binary's flags) or, `full`, --helpfull (every flag) prints: as
  absl's `app.usage`, with `program` as the main module (`script`: the path of the
  binary run as a script, `python -m dfadv_tf.cli.<name>`)."""
  _declare_key_flags(program, script)
  argv0, sys.argv[0] = sys.argv[0], program  # absl's get_help lists sys.argv[0] first
  try:
    flag_str = FLAGS.get_help() if full else FLAGS.module_help(program)
  finally:
    sys.argv[0] = argv0
  return doc + "\nflags:\n" + flag_str + "\n"


def run(main, validate=None):
  """`absl.app.run(main)` with the binary's flags in --help and one-line user errors;
  `validate()` (the flags' checks, writing nothing) runs before `main`."""
  program = os.path.basename(sys.argv[0])
  doc = sys.modules[main.__module__].__doc__
  request = launch.help_request(sys.argv[1:])
  if request is not None:
    sys.stdout.write(help_text(doc, program, full=request == "full", script=sys.argv[0]))
    sys.exit(0)

  def guarded(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments {argv[1:]} (flags start with --).")
    try:
      if validate is not None:
        validate()
      return main(argv)
    except USER_ERRORS as error:
      if FLAGS.traceback:
        raise
      print(f"{program}: error: {one_line(error)}", file=sys.stderr)
      sys.exit(1)

  _declare_key_flags(sys.argv[0])
  # absl's --helpxml starts with the main module's doc: the binary's, not its entry's.
  sys.modules["__main__"].__doc__ = doc
  app.run(guarded)
