"""TensorFlow's start-up log, kept out of the binaries' output.

While TensorFlow's libraries load they write INFO / WARNING lines (oneDNN, CUDA drivers,
CPU features) straight to file descriptor 2, before TF_CPP_MIN_LOG_LEVEL is read, so
that variable cannot hide them. Imports inside `start_up_log_dropped()` have those lines
dropped (the rest of what the import writes is passed on) wherever TF_CPP_MIN_LOG_LEVEL
hides INFO and WARNING (>= 2): the binaries (`dfadv_tf.cli.launch`, which sets it unless
--tf_log) and their worker processes (`dfadv_tf.data.datasets.preprocess`).
"""

import contextlib
import os
import re
import sys
import tempfile

TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"
# The C++ log lines libraries write while they load: INFO and WARNING ones, and absl's
# note that precedes them.
_START_UP_LOG = re.compile(r"^([IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] |WARNING: All log "
                           r"messages before absl::InitializeLog\(\) is called)")


def quiet():
  """Whether TF_CPP_MIN_LOG_LEVEL hides INFO and WARNING lines (>= 2)."""
  level = os.environ.get(TF_LOG_ENV, "0")
  return level.isdigit() and int(level) >= 2


@contextlib.contextmanager
def start_up_log_dropped():
  """While the block runs (the imports that load TensorFlow), the start-up log lines that
  libraries write to file descriptor 2 are dropped when `quiet()`; everything else the
  block writes there is passed on when it ends."""
  if not quiet():
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
      sys.stderr.write("".join(line for line in lines if not _START_UP_LOG.match(line)))


def quiet_worker():
  """A worker process's initializer (`dfadv_tf.data.datasets.preprocess`): loads
  TensorFlow with its start-up log dropped."""
  with start_up_log_dropped():
    import tensorflow  # pylint: disable=g-import-not-at-top,unused-import,import-outside-toplevel
