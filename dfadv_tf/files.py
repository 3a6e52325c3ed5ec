"""Output that appears whole or not at all, with the user's permissions, in folders that
one run owns.

- `atomic_write(path, write)`: `write` fills a temporary file beside `path`, which is
  flushed to disk and renamed onto `path` (`os.replace`, atomic on one file system).
  `atomic_folder` does the same for a folder (a SavedModel), `Staging` for several
  outputs published together (all or nothing).
- Permissions: temporary files and folders are created private (`mkstemp`, `mkdtemp`)
  and given the mode that the process' umask gives a new file or folder before they
  are published (0644 / 0755 under umask 022).
- `check_writable(path)`: whether `path` can be created, before anything is written.
- `OutputLock`: an exclusive `flock` on `<folder>/.lock`; the kernel releases it when
  its process ends, however it ends (`kill -9` included), so a crash never leaves a
  folder locked. The lock file is opened without following a symlink (`O_NOFOLLOW`).
- `under_root(root, name)`: a user-given name made a path that must stay under `root`
  (`..`, absolute names and symlinks out of it are refused).
- `make_folder(path)`: a folder made or found, "is not a folder" when a file is there;
  `refuse_symlinks(folder, names)`: outputs are never written through a symlink.
- `Manifest`: the top-level names a run of this project created in its folder, so that
  starting over (`--restart`) removes those and never the user's own files.
"""

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile

TEMP_PREFIX = ".tmp-"  # the name of every temporary file or folder starts so
LOCK_FILE = ".lock"


def umask():
  """The process' umask (read from /proc on Linux, without changing it)."""
  try:
    with open("/proc/self/status", encoding="ascii") as f:
      for line in f:
        if line.startswith("Umask:"):
          return int(line.split()[1], 8)
  except (OSError, ValueError):
    pass
  mask = os.umask(0o022)  # elsewhere: read it by setting it (not thread-safe)
  os.umask(mask)
  return mask


def _fsync(path):
  """Flushes a file's data to disk (before it is renamed into place)."""
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def _make_public(temp, folder=False):
  """Gives a finished temporary file or folder (created 0600 / 0700) the mode of a new
  one under the umask; the files inside a folder keep theirs (their writers' open)."""
  os.chmod(temp, (0o777 if folder else 0o666) & ~umask())


def _remove(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path, ignore_errors=True)
  elif os.path.lexists(path):
    os.remove(path)


def remove_path(path):
  """Removes a file, a link or a folder tree (nothing if absent)."""
  _remove(path)


def swap_folders(new, path):
  """Puts folder `new` in the place of folder `path` (which may be absent): `path` is
  moved aside, `new` renamed onto it, the old one removed; when the rename fails the
  old folder is put back (a set of outputs replaced whole, or not at all)."""
  aside = None
  if os.path.lexists(path):
    aside = os.path.join(os.path.dirname(os.path.abspath(path)),
                         f"{TEMP_PREFIX}old-{os.path.basename(os.path.abspath(path))}")
    _remove(aside)
    os.replace(path, aside)
  try:
    os.replace(new, path)
  except BaseException:
    if aside is not None:
      os.replace(aside, path)
    raise
  if aside is not None:
    _remove(aside)


def temp_file(path):
  """A new empty temporary file beside `path` (its name ends with `path`'s own name, so
  writers that check the extension, e.g. Keras' `.keras`, accept it)."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, temp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=os.path.basename(path))
  os.close(fd)
  return temp


def temp_folder(path):
  """A new empty temporary folder beside `path`."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  return tempfile.mkdtemp(dir=folder, prefix=TEMP_PREFIX,
                          suffix="-" + os.path.basename(os.path.abspath(path)))


def atomic_write(path, write):
  """Calls `write(temp_path)` for a temporary file beside `path`, then publishes it as
  `path` (flushed, mode from the umask, `os.replace`). On any error (a full disk
  included) the temporary file is removed, `path` is left as it was, and the error is
  re-raised."""
  temp = temp_file(path)
  try:
    write(temp)
    _fsync(temp)
    _make_public(temp)
    os.replace(temp, path)
  except BaseException:
    _remove(temp)
    raise


def atomic_write_text(path, text):
  """Writes `text` (UTF-8) to `path` atomically."""
  def write(temp):
    with open(temp, "w", encoding="utf-8") as f:
      f.write(text)
  atomic_write(path, write)


def atomic_folder(path, write, overwrite=False):
  """Calls `write(temp_folder)` for a temporary folder beside `path`, then publishes it
  as `path` (replacing an existing one only with `overwrite`)."""
  with Staging() as staging:
    write(staging.folder(path))
    staging.publish(overwrite=overwrite)


class Staging:
  """Several outputs written beside their destinations and published together.

      with Staging() as staging:
        write_a(staging.file("out/model.keras"))
        write_b(staging.folder("out/saved_model"))
        staging.publish()             # every destination appears, or none changes

  `publish` renames each temporary output onto its destination; an existing
  destination (with `overwrite`) is moved aside first and put back if a later rename
  fails. Leaving the block without publishing removes the temporary outputs.
  """

  def __init__(self):
    self._items = []  # (temp, destination, is_folder)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    for temp, _, _ in self._items:
      _remove(temp)
    self._items = []
    return False

  def file(self, path):
    temp = temp_file(path)
    self._items.append((temp, path, False))
    return temp

  def folder(self, path):
    temp = temp_folder(path)
    self._items.append((temp, path, True))
    return temp

  def publish(self, overwrite=False):
    for _, path, _ in self._items:
      if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to "
                              "replace it.")
    for temp, _, is_folder in self._items:
      if not is_folder:
        _fsync(temp)
      _make_public(temp, is_folder)
    done = []  # (destination, the old one moved aside or None)
    try:
      for temp, path, _ in self._items:
        aside = None
        if os.path.lexists(path):
          aside = f"{os.path.dirname(os.path.abspath(path))}/{TEMP_PREFIX}old-" + (
              os.path.basename(temp)[len(TEMP_PREFIX):])
          os.replace(path, aside)
        done.append((path, aside))
        os.replace(temp, path)
    except BaseException:
      for path, aside in reversed(done):
        if aside is not None:
          if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
          os.replace(aside, path)
        else:
          _remove(path)
      raise
    for _, aside in done:
      if aside is not None:
        _remove(aside)
    self._items = []


def under_root(root, name, what="name"):
  """`root`/`name` (absolute) for a user-given `name`; ValueError naming `what` unless
  the path, with every symlink resolved, stays under `root` (resolved the same way):
  `../x`, an absolute name or a symlink out of `root` are refused."""
  if not name or "\0" in str(name):
    raise ValueError(f"{what} {name!r} is empty or holds a NUL byte.")
  base = os.path.realpath(root)
  path = os.path.realpath(os.path.join(base, name))
  if path == base or os.path.commonpath([base, path]) != base:
    raise ValueError(f"{what} {name!r} leads outside {root} (to {path}); expected a name "
                     f"of a folder under {root}.")
  return path


def refuse_symlinks(folder, names, what="output_dir"):
  """OSError naming the first of `names` inside `folder` that is a symbolic link (an
  output written through it would land outside `folder`); checked with `lstat`."""
  for name in names:
    path = os.path.join(folder, name)
    if os.path.islink(path):
      raise OSError(f"{what} {folder}: {name} is a symbolic link (to "
                    f"{os.readlink(path)}); outputs are written only inside {folder}, "
                    "remove the link.")


def make_folder(path, what="folder"):
  """Makes folder `path` (and its parents) unless it is there; NotADirectoryError
  "is not a folder" naming `what` when `path` or a parent is a file."""
  if os.path.isdir(path):
    return path
  probe = os.path.abspath(path)
  while not os.path.lexists(probe):
    probe = os.path.dirname(probe)
  if not os.path.isdir(probe):
    raise NotADirectoryError(f"{what} {path}: {probe} is a file, not a folder.")
  os.makedirs(path, exist_ok=True)
  return path


def check_writable(path, name="output", overwrite=True, folder=None):
  """Raises (one line naming `name` and `path`) unless `path` can be written: it does
  not exist yet (or `overwrite`) and its nearest existing folder is a writable folder;
  a `folder` (default: `name` ends with "_dir") must not be a file. Writes nothing."""
  path = os.path.abspath(path)
  folder = name.endswith("_dir") if folder is None else folder
  if folder and os.path.lexists(path) and not os.path.isdir(path):
    raise NotADirectoryError(f"{name} {path} is not a folder (a file of that name is "
                             "there).")
  if os.path.lexists(path) and not overwrite:
    raise FileExistsError(f"{name} {path} exists; pass --overwrite to replace it.")
  parent = path if os.path.isdir(path) else os.path.dirname(path)
  while not os.path.lexists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    raise NotADirectoryError(f"{name} {path} cannot be created: {parent} is a file, not "
                             "a folder.")
  if not os.access(parent, os.W_OK | os.X_OK):
    raise PermissionError(f"{name} {path} cannot be written: folder {parent} is not "
                          "writable (read-only file system or no permission).")


def remove_temporaries(folder, skip=()):
  """Removes the temporary files and folders that killed writers left under `folder`
  (names starting with `TEMP_PREFIX`), but not under its subfolders named in `skip`;
  returns how many."""
  count = 0
  for top, dirs, names in os.walk(folder):
    if top == folder:
      dirs[:] = [d for d in dirs if d not in skip]
    for name in [n for n in names if n.startswith(TEMP_PREFIX)]:
      os.remove(os.path.join(top, name))
      count += 1
    for name in [d for d in dirs if d.startswith(TEMP_PREFIX)]:
      shutil.rmtree(os.path.join(top, name), ignore_errors=True)
      dirs.remove(name)
      count += 1
  return count


class OutputLock:
  """An exclusive lock on `folder` (`flock` on `<folder>/.lock`, which holds the owner's
  pid): `acquire()` raises `BlockingIOError` naming the folder and the owner while
  another process holds it. The kernel drops the lock when the owner ends, so the lock
  of a killed run never blocks the next one. Local file systems (flock is advisory; NFS
  gives it across machines only on some set-ups)."""

  def __init__(self, folder, what="folder"):
    self.folder, self.what = folder, what
    self._fd = None

  def acquire(self):
    make_folder(self.folder, self.what)
    path = os.path.join(self.folder, LOCK_FILE)
    try:  # never through a symlink: the lock file is truncated and written
      fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as e:
      if e.errno != errno.ELOOP:
        raise
      raise OSError(f"{self.what} {self.folder}: its lock file {path} is a symbolic link; "
                    "remove it (a run's lock is a plain file).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
      os.close(fd)
      raise OSError(f"{self.what} {self.folder}: {path} is not a plain file; remove it.")
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      os.close(fd)
      if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
        raise
      with contextlib.suppress(OSError), open(path, encoding="ascii") as f:
        owner = f.read().strip()
      raise BlockingIOError(
          f"{self.what} {self.folder} is in use by another run (process "
          f"{owner or '?'}); wait for it to end or choose another folder.") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode("ascii"))
    self._fd = fd
    return self

  def release(self):
    if self._fd is not None:
      os.close(self._fd)  # closing the descriptor releases the flock
      self._fd = None

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc):
    self.release()
    return False


MANIFEST_FILE = ".dfadv-outputs.json"


class Manifest:
  """The top-level names in `folder` that runs of this project created
  (`<folder>/.dfadv-outputs.json`, written atomically).

  `claim(names)` records those of `names` that do not exist yet (the user's own
  `logs/` found there stays the user's); `owned()` lists the recorded names;
  `clear()` removes them, then the manifest. A folder written by an older version
  (no manifest, but its `legacy` marker file present) owns every name of `names`.
  """

  def __init__(self, folder):
    self.folder = folder
    self.path = os.path.join(folder, MANIFEST_FILE)

  def owned(self):
    if not os.path.lexists(self.path):
      return []
    try:
      with open(self.path, encoding="utf-8") as f:
        names = json.load(f).get("created", [])
    except (ValueError, AttributeError):
      raise ValueError(f"{self.path} is not this project's manifest (expected a JSON "
                       "object with a \"created\" list); remove it.") from None
    return [n for n in names if isinstance(n, str) and "/" not in n and n not in ("", ".",
                                                                                   "..")]

  def claim(self, names, legacy=None):
    """Records the `names` that do not exist in the folder yet (all of `names` when the
    folder has no manifest but holds `legacy`, a file only a run writes)."""
    make_folder(self.folder)
    owned = self.owned()
    fresh = not os.path.lexists(self.path)
    if fresh and legacy and os.path.lexists(os.path.join(self.folder, legacy)):
      new = list(names)
    else:
      new = [n for n in names if not os.path.lexists(os.path.join(self.folder, n))]
    created = owned + [n for n in new if n not in owned]
    if fresh or created != owned:
      atomic_write_text(self.path, json.dumps({"created": created}, indent=1) + "\n")
    return created

  def clear(self, order=None):
    """Removes the recorded names (in `order` first where given), then the manifest."""
    owned = self.owned()
    ordered = [n for n in (order or ()) if n in owned]
    for name in [n for n in owned if n not in ordered] + ordered:
      _remove(os.path.join(self.folder, name))
    _remove(self.path)
