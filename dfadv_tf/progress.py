"""A progress line for long loops that reads well on a terminal and in a log file.

On a terminal the line is rewritten in place (carriage return) at most every
`interval` seconds; otherwise (a log file, a pipe, CI) a plain line is written each time
another `percent` of the items is done, and at the end: a log of 6,000 items is ~20
lines, not one line of thousands of carriage-return updates (keras' `Progbar` treats
every POSIX stream as a terminal).

    bar = Progress(len(videos), unit="video")
    for video in videos:
      ...
      bar.add(1)
    bar.close()
"""

import sys
import time


def _duration(seconds):
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
  """Progress of `total` items (> 0) written to `stream` (default sys.stdout): see the
  module doc. `unit` names an item in the line ("video" -> "12/340 videos")."""

  def __init__(self, total, unit="item", stream=None, percent=5, interval=0.5):
    if total <= 0:
      raise ValueError(f"Progress total must be > 0, got {total!r}.")
    self.total, self.unit, self.percent, self.interval = total, unit, percent, interval
    self.stream = stream or sys.stdout
    isatty = getattr(self.stream, "isatty", None)
    self.terminal = bool(isatty and isatty())
    self.done = 0
    self._start = time.monotonic()
    self._last_time = None
    self._last_step = 0  # the last multiple of `percent` written (not on a terminal)

  def line(self):
    """The progress line: done/total, percent, elapsed time and the estimate to go."""
    elapsed = time.monotonic() - self._start
    text = (f"{self.done}/{self.total} {self.unit}s ({100 * self.done / self.total:.0f}%), "
            f"{_duration(elapsed)} elapsed")
    if 0 < self.done < self.total:
      text += f", ~{_duration(elapsed * (self.total - self.done) / self.done)} to go"
    return text

  def add(self, count=1):
    """Records `count` more items done; writes the line when due."""
    self.done = min(self.total, self.done + count)
    if self.terminal:
      now = time.monotonic()
      if (self._last_time is None or now - self._last_time >= self.interval
          or self.done == self.total):
        self._last_time = now
        self.stream.write("\r" + self.line() + ("\n" if self.done == self.total else ""))
        self.stream.flush()
      return
    step = int(100 * self.done / self.total // self.percent)
    if step > self._last_step:  # every `percent`, and 100% once
      self._last_step = step
      self.stream.write(self.line() + "\n")
      self.stream.flush()

  def close(self):
    """Ends an unfinished line on a terminal (after an early stop)."""
    if self.terminal and self._last_time is not None and self.done < self.total:
      self.stream.write("\n")
      self.stream.flush()
