"""Writes BUILD from the tree: one Bazel target per library module, binary, benchmark
and test, with `deps` read from each file's `dfadv_tf` imports.

  python tools/update_build.py          # rewrite BUILD
  python tools/update_build.py --check  # exit 1 if BUILD differs (tests/build_test.py)

Third-party dependencies come from pip (setup.py) and are not listed.
"""

import ast
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = '''# Bazel targets for every library module, binary, test and benchmark, written by
# `python tools/update_build.py` from the tree (tests/build_test.py checks it is current).
# Third-party deps (tensorflow, keras, numpy, ...) come from pip (setup.py).

load("@rules_python//python:defs.bzl", "py_binary", "py_library", "py_test")

package(default_visibility = ["//visibility:public"])
'''
# Files a target reads at run time, by the target's source.
DATA = {
    "dfadv_tf/cli/launch.py": 'glob(["dfadv_tf/cli/help/*.txt"])',
    "dfadv_tf/data/datasets.py": 'glob(["dfadv_tf/data/ffpp_splits/*"])',
    "tests/build_test.py": '["BUILD"] + glob(["**/*.py"])',
    "tests/examples/quickstart_test.py": '["examples/quickstart.ipynb"]',
    "tests/docs_test.py": ('["README.md", "CHANGELOG.md", "Makefile", "setup.py", ".ci/run"] + '
                           'glob(["docs/**", "**/*.py", "flags/**", "examples/**"])'),
    "tests/reference_doc_test.py": ('["README.md"] + glob(["docs/*.md", "**/*.py", '
                                    '"flags/**/*.flags"])'),
}
TESTING = "tests_testing"


def _files(pattern):
  return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern),
                                                             recursive=True))


def library_name(path):
  """dfadv_tf/attacks/blur.py -> attacks_blur; dfadv_tf/attacks/__init__.py -> attacks."""
  parts = os.path.splitext(path)[0].split(os.sep)[1:]
  if parts[-1] == "__init__":
    parts = parts[:-1]
  return "_".join(parts) or "dfadv_tf"


def _module_path(module):
  """The file of a dotted dfadv_tf module name, or None."""
  base = os.path.join(ROOT, *module.split("."))
  for candidate in (base + ".py", os.path.join(base, "__init__.py")):
    if os.path.exists(candidate):
      return os.path.relpath(candidate, ROOT)
  return None


def imports(path):
  """The dfadv_tf files `path` imports."""
  with open(os.path.join(ROOT, path), encoding="utf-8") as f:
    tree = ast.parse(f.read(), filename=path)
  found = set()
  for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
    for name in names:
      if name.split(".")[0] != "dfadv_tf":
        continue
      target = _module_path(name)
      if target is None and "." in name:  # a name inside a module
        continue
      if target and target != path:
        found.add(target)
  # `from dfadv_tf.x import y` lists both dfadv_tf.x and dfadv_tf.x.y: keep the deepest.
  return {p for p in found
          if not (p.endswith("__init__.py") and any(
              q != p and q.startswith(os.path.dirname(p) + os.sep) for q in found))}


def _deps(path, extra=()):
  labels = sorted({f":{library_name(p)}" for p in imports(path)} | set(extra))
  return labels


def _list(values):
  if not values:
    return "[]"
  if len(values) == 1:
    return f'["{values[0]}"]'
  return "[\n" + "".join(f'        "{v}",\n' for v in values) + "    ]"


def _rule(kind, name, srcs, deps=(), data=None, main=None, testonly=False):
  lines = [f"{kind}(", f'    name = "{name}",']
  if testonly:
    lines.append("    testonly = True,")
  lines.append(f"    srcs = {_list(srcs)},")
  if main:
    lines.append(f'    main = "{main}",')
  if data:
    lines.append(f"    data = {data},")
  if deps:
    lines.append(f"    deps = {_list(list(deps))},")
  return "\n".join(lines) + "\n)\n"


def _stem(path):
  return os.path.splitext(os.path.basename(path))[0]


def _binary_code(path):
  """tools/<name>.py starts dfadv_tf/cli/<name>.py by name (cli/launch.py): its dep."""
  code = os.path.join("dfadv_tf", "cli", os.path.basename(path))
  return [f":{library_name(code)}"] if os.path.exists(os.path.join(ROOT, code)) else []


def build_text():
  """The BUILD file for the current tree."""
  sections = [HEADER]
  libraries = _files("dfadv_tf/**/*.py")
  by_package = {}
  for path in libraries:
    by_package.setdefault(os.path.dirname(path), []).append(path)
  for package, paths in sorted(by_package.items()):
    rules = [_rule("py_library", library_name(p), [p], _deps(p), DATA.get(p)) for p in paths]
    sections.append(f"# ---- {package} " + "-" * max(3, 80 - len(package) - 8) + "\n\n"
                    + "\n".join(rules))
  binaries = [_rule("py_binary", _stem(p), [p], _deps(p, _binary_code(p)), main=p)
              for p in _files("tools/*.py") if not p.endswith("__init__.py")]
  sections.append("# ---- tools (entry points) " + "-" * 54 + "\n\n" + "\n".join(
      [_rule("py_library", "tools", ["tools/__init__.py"])] + binaries))
  benchmarks = [_rule("py_binary", "benchmark_" + os.path.splitext(os.path.basename(p))[0],
                      [p], _deps(p), main=p) for p in _files("benchmarks/*.py")]
  sections.append("# ---- benchmarks " + "-" * 63 + "\n\n" + "\n".join(benchmarks))
  helpers = [p for p in _files("tests/**/*.py") if not p.endswith("_test.py")]
  helper_deps = sorted({d for p in helpers for d in _deps(p)})
  tests = [_rule("py_library", TESTING, helpers, helper_deps, testonly=True)]
  for path in _files("tests/**/*_test.py"):
    name = os.path.splitext(path)[0][len("tests/"):].replace(os.sep, "_")
    data = DATA.get(path)
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
      text = f.read()
    if data is None and "flags/" in text:
      data = 'glob(["flags/**/*.flags"])'
    tests.append(_rule("py_test", name, [path], _deps(path, [f":{TESTING}"]), data))
  sections.append("# ---- tests " + "-" * 68 + "\n\n" + "\n".join(tests))
  return "\n".join(sections)


def main(argv):
  text = build_text()
  path = os.path.join(ROOT, "BUILD")
  if "--check" in argv:
    with open(path, encoding="utf-8") as f:
      current = f.read()
    if current != text:
      print("BUILD is out of date: run python tools/update_build.py", file=sys.stderr)
      return 1
    return 0
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
