"""One small name -> entry registry, shared by the adversaries (`dfadv_tf.attacks`), the
training modes (`dfadv_tf.experiment.modes`) and the dataset layouts
(`dfadv_tf.data.layouts`): each is the one place that lists its names.

A `Registry` keeps its entries in registration order, refuses a name twice, answers an
unknown name with a ValueError listing the known ones, and resolves an old name
(`rename`) to its new one with a one-line warning, for one release.
"""

import types

from absl import logging


class Registry:
  """Entries by name. `what` names an entry in messages ("adversary", "training mode").

  `entries`: a read-only {name: entry} view (new names only), in registration order.
  """

  def __init__(self, what):
    self.what = what
    self._entries = {}
    self._renamed = {}
    self.entries = types.MappingProxyType(self._entries)

  def check_new(self, name):
    """ValueError unless `name` is free."""
    if name in self._entries or name in self._renamed:
      raise ValueError(f"{self.what} {name!r} is registered twice.")

  def add(self, name, entry):
    """Registers `entry` as `name` (ValueError if the name is taken); returns it."""
    self.check_new(name)
    self._entries[name] = entry
    return entry

  def rename(self, old, new):
    """`old` keeps working for one release as `new`, with a warning."""
    if old in self._entries:
      raise ValueError(f"{self.what} {old!r} is registered; it cannot be an old name.")
    self._renamed[old] = new

  def canonical(self, name):
    """`name`, or the new name of an old one (with a one-line warning)."""
    if name in self._renamed:
      new = self._renamed[name]
      logging.warning("%s %r is now called %r; the old name goes in the next release.",
                      self.what, name, new)
      return new
    return name

  def get(self, name):
    """The entry of `name` (or of an old name's new one); ValueError listing the names
    otherwise."""
    name = self.canonical(name)
    if name not in self._entries:
      raise ValueError(f"unknown {self.what} {name!r}; expected one of "
                       f"{sorted(self._entries)}.")
    return self._entries[name]

  def names(self):
    """The registered names, in registration order."""
    return tuple(self._entries)

  def old_names(self):
    """{old name: new name} of the renamed entries."""
    return dict(self._renamed)

  def __contains__(self, name):
    return name in self._entries

  def __iter__(self):
    return iter(self._entries)

  def __len__(self):
    return len(self._entries)

  def values(self):
    return self._entries.values()

  def items(self):
    return self._entries.items()
