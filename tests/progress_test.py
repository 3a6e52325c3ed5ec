"""Tests for dfadv_tf/progress.py: a line per 5% off a terminal, in place on one."""

import io

import tensorflow as tf

from dfadv_tf import progress


class _Terminal(io.StringIO):

  def isatty(self):
    return True


class ProgressTest(tf.test.TestCase):

  def test_log_file_gets_one_plain_line_per_five_percent(self):
    stream = io.StringIO()
    bar = progress.Progress(6050, unit="video", stream=stream)
    for _ in range(6050):
      bar.add(1)
    bar.close()
    lines = stream.getvalue().splitlines()
    self.assertNotIn("\r", stream.getvalue())
    self.assertLen(lines, 20)  # 5%, 10%, ..., 100%
    self.assertRegex(lines[0], r"^303/6050 videos \(5%\), 0:\d\d elapsed, ~\d+:\d\d to go$")
    self.assertRegex(lines[-1], r"^6050/6050 videos \(100%\), 0:\d\d elapsed$")

  def test_few_items_and_large_steps(self):
    stream = io.StringIO()
    bar = progress.Progress(3, stream=stream)
    bar.add(2)
    bar.add(5)  # clipped at the total
    self.assertEqual([line.split(",")[0] for line in stream.getvalue().splitlines()],
                     ["2/3 items (67%)", "3/3 items (100%)"])

  def test_terminal_line_is_rewritten_in_place(self):
    stream = _Terminal()
    bar = progress.Progress(1000, stream=stream, interval=3600)
    for _ in range(1000):
      bar.add(1)
    text = stream.getvalue()
    self.assertEqual(text.count("\r"), 2)  # the first update, then the last
    self.assertTrue(text.endswith("1000/1000 items (100%), 0:00 elapsed\n"), text)

  def test_stopped_early_on_a_terminal_ends_the_line(self):
    stream = _Terminal()
    bar = progress.Progress(10, stream=stream)
    bar.add(1)
    bar.close()
    self.assertTrue(stream.getvalue().endswith("\n"))

  def test_total_must_be_positive(self):
    with self.assertRaisesRegex(ValueError, "total must be > 0"):
      progress.Progress(0)


if __name__ == "__main__":
  tf.test.main()
