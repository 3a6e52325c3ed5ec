"""BUILD names every Python file of the tree, every file it names exists, and it is what
`tools/update_build.py` writes for the tree (so its deps follow the imports)."""

import ast
import glob
import os
import subprocess
import sys

import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNED = ("dfadv_tf", "tools", "tests", "benchmarks")
RULES = ("py_library", "py_binary", "py_test")


def parse_build(path):
  """Evaluates the Starlark BUILD file with stand-ins for the rules it uses.

  Returns {target name: (rule, [srcs], [data], [deps])}.
  """
  targets = {}

  def rule(kind):
    def add(name, srcs=(), data=(), deps=(), **unused):
      if name in targets:
        raise ValueError(f"BUILD defines target {name!r} twice")
      targets[name] = (kind, list(srcs), list(data), list(deps))
    return add

  def glob_(patterns, exclude=()):
    found = set()
    for pattern in patterns:
      found.update(os.path.relpath(p, ROOT)
                   for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)
                   if os.path.isfile(p))
    found -= {p for pattern in exclude
              for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)}
    return sorted(found)

  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), filename=path)
  env = {r: rule(r) for r in RULES}
  env.update(load=lambda *a, **k: None, package=lambda **k: None, glob=glob_,
             filegroup=rule("filegroup"))
  exec(compile(tree, path, "exec"), {"__builtins__": {}}, env)  # pylint: disable=exec-used
  return targets


class BuildTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.targets = parse_build(os.path.join(ROOT, "BUILD"))

  def test_every_python_file_has_a_target(self):
    named = {src for _, srcs, _, _ in self.targets.values() for src in srcs}
    missing = []
    for top in SCANNED:
      for path in glob.glob(os.path.join(ROOT, top, "**", "*.py"), recursive=True):
        rel = os.path.relpath(path, ROOT)
        if rel not in named:
          missing.append(rel)
    self.assertEqual(missing, [], "Python files that no BUILD target names")

  def test_every_named_file_exists(self):
    absent = [f"{name}: {src}" for name, (_, srcs, data, _) in self.targets.items()
              for src in srcs + data
              if not src.startswith(":") and not os.path.exists(os.path.join(ROOT, src))]
    self.assertEqual(absent, [], "files named in BUILD that do not exist")

  def test_deps_name_defined_targets(self):
    unknown = [f"{name} -> {dep}" for name, (_, _, _, deps) in self.targets.items()
               for dep in deps if dep.startswith(":") and dep[1:] not in self.targets]
    self.assertEqual(unknown, [], "deps on targets BUILD does not define")

  def test_build_is_current(self):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "update_build.py"),
                             "--check"], capture_output=True, text=True, check=False)
    self.assertEqual(result.returncode, 0, result.stderr)

  def test_tests_are_py_test(self):
    for name, (kind, srcs, _, _) in self.targets.items():
      for src in srcs:
        if src.startswith("tests/") and src.endswith("_test.py"):
          self.assertEqual(kind, "py_test", f"{src} in {name} should be a py_test")


if __name__ == "__main__":
  tf.test.main()
