"""Tests for dfadv_tf.registry: the name -> entry registry of adversaries, modes, layouts."""

import tensorflow as tf

from dfadv_tf.registry import Registry


class RegistryTest(tf.test.TestCase):

  def test_entries_in_order_read_only_and_refused_twice(self):
    registry = Registry("thing")
    registry.add("b", 1)
    registry.add("a", 2)
    self.assertEqual(registry.names(), ("b", "a"))
    self.assertEqual(dict(registry.entries), {"b": 1, "a": 2})
    self.assertEqual((registry.get("a"), "a" in registry, len(registry)), (2, True, 2))
    with self.assertRaises(TypeError):
      registry.entries["c"] = 3  # pytype: disable=unsupported-operands
    with self.assertRaisesRegex(ValueError, "thing 'a' is registered twice"):
      registry.add("a", 3)
    with self.assertRaisesRegex(ValueError, r"unknown thing 'c'; expected one of \['a', 'b'\]"):
      registry.get("c")

  def test_an_old_name_resolves_with_one_warning_line(self):
    registry = Registry("thing")
    registry.add("new", 1)
    registry.rename("old", "new")
    with self.assertLogs(level="WARNING") as logs:
      self.assertEqual(registry.get("old"), 1)
    self.assertLen(logs.output, 1)
    self.assertIn("thing 'old' is now called 'new'", logs.output[0])
    self.assertEqual((registry.names(), registry.old_names()), (("new",), {"old": "new"}))
    with self.assertRaisesRegex(ValueError, "registered twice"):
      registry.add("old", 2)
    with self.assertRaisesRegex(ValueError, "cannot be an old name"):
      registry.rename("new", "other")


if __name__ == "__main__":
  tf.test.main()
