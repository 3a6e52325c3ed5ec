"""Atomic file output: nothing is ever left half-written under its final name."""

import os
import tempfile

TEMP_PREFIX = ".tmp-"  # the name of every temporary file starts so


def atomic_write(path, write):
  """Calls `write(temp_path)` for a temporary file beside `path`, then renames it to
  `path` (`os.replace`, atomic on one file system). On any error the temporary file is
  removed and the error re-raised. The temporary name ends with `path`'s own name, so
  writers that check the extension (e.g. Keras' `.keras`) accept it."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, temp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=os.path.basename(path))
  os.close(fd)
  try:
    write(temp)
    os.replace(temp, path)
  except BaseException:
    if os.path.exists(temp):
      os.remove(temp)
    raise


def atomic_write_text(path, text):
  """Writes `text` (UTF-8) to `path` atomically."""
  def write(temp):
    with open(temp, "w", encoding="utf-8") as f:
      f.write(text)
  atomic_write(path, write)
