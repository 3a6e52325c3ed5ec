"""Real file-system faults for the reliability tests: a full disk and a read-only folder
(a small tmpfs mounted for the test, where the machine allows mounting: root with
CAP_SYS_ADMIN; else the test is skipped), a folder that cannot be created (its parent
is a file: fails for every user, root included), and a lock held by another process."""

import contextlib
import os
import subprocess
import sys
import tempfile
import unittest

from tests.testing import tools


@contextlib.contextmanager
def tmpfs(size_kb=256, read_only=False):
  """A fresh tmpfs of `size_kb` KiB (read-only with `read_only`) mounted on a temporary
  folder, unmounted after; skips the test where mounting is not allowed."""
  folder = tempfile.mkdtemp(prefix="tmpfs-")
  options = f"size={size_kb}k" + (",ro" if read_only else "")
  result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", folder],
                          capture_output=True, text=True, check=False)
  if result.returncode != 0:
    os.rmdir(folder)
    raise unittest.SkipTest(f"cannot mount a tmpfs here ({result.stderr.strip()})")
  try:
    yield folder
  finally:
    subprocess.run(["umount", "-l", folder], check=False)
    os.rmdir(folder)


def uncreatable(folder):
  """A path under `folder` whose parent is a regular file, so it cannot be created."""
  blocker = os.path.join(folder, "a-file")
  with open(blocker, "w", encoding="utf-8") as f:
    f.write("not a folder")
  return os.path.join(blocker, "output")


_HOLD = """
import sys, time
from dfadv_tf import files
files.OutputLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(600)
"""


@contextlib.contextmanager
def lock_held_by_another_process(folder):
  """A subprocess holding `files.OutputLock(folder)`; yields its Popen (the test may kill
  it), which is killed after."""
  process = subprocess.Popen([sys.executable, "-c", _HOLD, folder], cwd=tools.ROOT,
                             env=dict(os.environ, PYTHONPATH=tools.ROOT),
                             stdout=subprocess.PIPE, text=True)
  try:
    if process.stdout.readline().strip() != "locked":
      raise AssertionError("the lock holder did not start")
    yield process
  finally:
    if process.poll() is None:
      process.kill()
    process.wait()
