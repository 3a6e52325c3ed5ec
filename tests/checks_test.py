"""Tests for dfadv_tf.checks: one message per kind of mistake."""

import numpy as np
import tensorflow as tf

from dfadv_tf import checks


class ChecksTest(tf.test.TestCase):

  def test_accepts_and_converts(self):
    self.assertEqual(checks.integer(np.int64(3), "n"), 3)
    self.assertEqual(checks.integer(0, "n", minimum=0), 0)
    self.assertEqual(checks.odd_integer(9, "k"), 9)
    self.assertEqual(checks.number(1, "x", minimum=0.0), 1.0)
    self.assertEqual(checks.probability(0.5, "p"), 0.5)
    self.assertEqual(checks.one_of("a", ("a", "b"), "c"), "a")

  def test_refuses_naming_the_argument(self):
    for call, message in (
        (lambda: checks.integer(True, "g_steps"), "g_steps must be an integer >= 1, got True"),
        (lambda: checks.integer(1.0, "steps"), "steps must be an integer >= 1, got 1.0"),
        (lambda: checks.integer(0, "segments"), "segments must be an integer >= 1, got 0"),
        (lambda: checks.odd_integer(4, "kernel_size"), "kernel_size must be an odd integer"),
        (lambda: checks.number("1", "eps"), "eps must be a number, got '1'"),
        (lambda: checks.number(float("nan"), "eps"), "eps must be finite"),
        (lambda: checks.number(1.0, "rate", minimum=0.0, below=1.0),
         "rate must be >= 0.0 and < 1.0, got 1.0"),
        (lambda: checks.nonnegative(-1, "tau"), "tau must be >= 0.0, got -1.0"),
        (lambda: checks.probability(1.5, "p"), r"p must be a probability in \[0, 1\]"),
        (lambda: checks.one_of("c", ("a", "b"), "mode"),
         r"mode must be one of \('a', 'b'\), got 'c'"),
        (lambda: checks.number(0.0, "decay_factor", above=0.0, maximum=1.0),
         r"decay_factor must be > 0.0 and <= 1.0, got 0.0"),
        (lambda: checks.face_crop_flags(-1, 0.9), r"--margin must be >= 1.0"),
        (lambda: checks.face_crop_flags(1.3, float("nan")), "--min_face_confidence must be "
         "finite"),
        (lambda: checks.face_crop_flags(1.3, 0.9, "haar", align=True),
         "--align needs MTCNN's landmarks; --face_detector=haar"),
        (lambda: checks.requires(False, "--a contradicts --b"), "--a contradicts --b")):
      with self.assertRaisesRegex(ValueError, message):
        call()


if __name__ == "__main__":
  tf.test.main()
