"""What a dataset of TFRecords was built from, so that a re-run sees a changed input.

`dfadv-preprocess` and `dfadv-make-demo-data` record, beside a dataset's `index.json`,
`sources.json`: the options of the build and every input file's name, size and
modification time (`built_from`). A re-run with the same record resumes (complete
shards are kept); a re-run whose inputs or options differ is refused with one line
naming what changed (`compare`), unless it asks to rebuild (`--restart`), which builds
the dataset anew and replaces index and shards as a set (`records.ShardedWriter`).

`read_once(videos)` drops the inputs that another input already reads (a symlink loop,
a file reachable under two names), with a warning, so no image is read twice (and
none lands in two splits).
"""

import hashlib
import json
import os
import sys

from dfadv_tf.data import faces

SOURCES_FILE = "sources.json"


def _files_of(path):
  """The files an input reads: itself, or the images of a folder of frames."""
  if os.path.isdir(path):
    return [p for _, p in faces.image_sequence(path)]
  return [path]


def file_stamp(path):
  """[size, mtime in ns] of a file (None when it cannot be read)."""
  try:
    info = os.stat(path)
  except OSError:
    return None
  return [info.st_size, info.st_mtime_ns]


def _key(path):
  return os.fsencode(path).decode("utf-8", "backslashreplace")


def _assignment(video):
  return [video.split, video.method, video.quality, video.label,
          [list(x) for x in getattr(video, "sampling", ())]]


def inputs_of(video):
  """{file name: [size, mtime_ns, split, method, quality, label, sampling]} of what one
  video reads (its frames for a folder; the source of a video to be re-encoded, with
  the CRF; its mask video)."""
  source = getattr(video, "source", None)
  if source is not None:
    return {_key(video.path): [*(file_stamp(source) or [None, None]), video.crf,
                               *_assignment(video)]}
  paths = _files_of(video.path) if os.path.isdir(video.path) else [video.path]
  out = {_key(p): [*(file_stamp(p) or [None, None]), *_assignment(video)] for p in paths}
  if getattr(video, "mask_path", None):
    out[_key(video.mask_path)] = file_stamp(video.mask_path)
  return out


def built_from(videos=(), options=None):
  """{"options": {...}, "inputs": {file: [size, mtime_ns, ...]}} of a build: the
  options as JSON values and every file each video reads with where it goes
  (`inputs_of`). Names that are not valid UTF-8 are kept in an escaped form."""
  inputs = {}
  for video in videos:
    inputs.update(inputs_of(video))
  return json.loads(json.dumps({"options": options or {}, "inputs": inputs}, default=str))


def shard_name(number, videos, built):
  """The name of shard `number` of `videos`: its number and a hash of its inputs and
  the build's options, so a shard of other inputs never counts as complete."""
  stamps = [built["inputs"].get(k) for v in videos for k in sorted(inputs_of(v))]
  return f"{number}-{digest([stamps, built['options']])}"


def digest(value):
  """A short stable hash of a JSON-able value (the names of shards)."""
  text = json.dumps(value, sort_keys=True, default=str)
  return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _listed(names, limit=3):
  names = sorted(os.fsencode(n).decode("utf-8", "backslashreplace") for n in names)
  more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
  return ", ".join(names[:limit]) + more


def compare(stored, current):
  """A one-line description of what differs between two `built_from` records ("" if
  nothing)."""
  parts = []
  old, new = stored.get("options", {}), current.get("options", {})
  for name in sorted(set(old) | set(new)):
    if old.get(name) != new.get(name):
      parts.append(f"option {name}: {old.get(name)!r} -> {new.get(name)!r}")
  old, new = stored.get("inputs", {}), current.get("inputs", {})
  added = set(new) - set(old)
  removed = set(old) - set(new)
  changed = {p for p in set(old) & set(new) if old[p] != new[p]}
  for what, names in (("added", added), ("removed", removed), ("changed", changed)):
    if names:
      parts.append(f"{len(names)} input file(s) {what}: {_listed(names)}")
  return "; ".join(parts)


def read(folder):
  """The stored `built_from` of a dataset folder, or None."""
  path = os.path.join(folder, SOURCES_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding="utf-8") as f:
      value = json.load(f)
  except (ValueError, RecursionError):
    value = None
  if not isinstance(value, dict):
    raise ValueError(f"{path} is not a record of a dataset's inputs (expected a JSON "
                     "object); pass --restart to rebuild the dataset.")
  return value


def read_once(videos, warn=None):
  """`videos` without those that read a file another one already reads, by the file's
  real path (symlinks resolved; inputs reached through no symlink come first, then by
  name): loops and files reachable twice are read once. Warns (one line, counted)
  when any is dropped."""
  warn = warn or (lambda text: print(f"WARNING: {text}", file=sys.stderr))
  seen, kept, dropped = set(), [], []
  def order(video):  # inputs reached through no symlink first
    linked = os.path.realpath(video.path) != os.path.abspath(video.path)
    return linked, video.path, video.quality

  for video in sorted(videos, key=order):
    if not os.path.exists(video.path):  # made later (--recompress) or reported later
      kept.append(video)
      continue
    real = {(os.path.realpath(p), video.quality) for p in _files_of(video.path)}
    if real & seen:
      dropped.append(video.path)
      continue
    seen |= real
    kept.append(video)
  if dropped:
    warn(f"{len(dropped)} input(s) read files that another input already reads (a "
         f"symbolic link loop or a file reachable twice) and are skipped: "
         f"{_listed(dropped)}")
  return kept
