"""README.md and docs/*.md: the README stays a front page, and everything the pages cite
exists: relative links (and the headings they point at), repository paths, `make`
targets, `dfadv-*` binaries and `--flags`."""

import ast
import dataclasses
import glob
import os
import re

import tensorflow as tf

from dfadv_tf.experiment.config import RENAMED
from dfadv_tf.experiment.config import ExperimentConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
README_MAX_LINES = 300
# Pages that other branches write; cited here before they land. Remove at merge.
# Folders whose paths the pages cite from the repository root, and the package's rooms
# (`attacks/spatial.py` stands for `dfadv_tf/attacks/spatial.py`).
ROOT_FOLDERS = ("benchmarks", "dfadv_tf", "docs", "examples", "flags", "tests", "tools", ".ci")
PACKAGE_FOLDERS = ("attacks", "augment", "cli", "data", "evaluation", "experiment", "models",
                   "ops", "training")
ROOT_FILES = ("BUILD", "CHANGELOG.md", "Makefile", "README.md", "setup.py")
# Flags of other programs that the pages cite (pip, pytest).
OTHER_FLAGS = {"durations", "dist", "upgrade"}
# Pages that cite another program's flags (the reference code's `--g_per_d`, ...).
FOREIGN_FLAG_PAGES = {"docs/reference.md"}
# Flags absl gives every binary.
ABSL_FLAGS = {"help", "helpfull", "helpshort", "flagfile", "undefok"}

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PATH = re.compile(r"(?<![\w./<{-])((?:%s)/[\w./<>{},*|\\-]*|(?:%s)/[\w<>{},*|\\-]+\.py|%s)"
                  % ("|".join(re.escape(f) for f in ROOT_FOLDERS),
                     "|".join(PACKAGE_FOLDERS),
                     "|".join(re.escape(f) + r"(?![\w.])" for f in ROOT_FILES)))
MAKE = re.compile(r"(?:^|[\s`;(])make ([a-z][\w-]*)")
BINARY = re.compile(r"(?<![\w./-])dfadv-([a-z][a-z-]*[a-z])")
FLAG = re.compile(r"(?<![\w-])--([a-z](?:[a-z0-9_]*[a-z0-9])?)(?![\w*])")  # not `--bat_*`


def pages():
  return [README, os.path.join(ROOT, "CHANGELOG.md")] + sorted(
      glob.glob(os.path.join(ROOT, "docs", "*.md")))


def read(path):
  with open(path, encoding="utf-8") as f:
    return f.read()


def code(text):
  """The fenced blocks and inline code spans of a page (where commands and paths are)."""
  blocks = FENCE.findall(text)
  rest = FENCE.sub("", text)
  return blocks + INLINE.findall(rest)


def slug(heading):
  """GitHub's anchor of a heading."""
  text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
  return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
  text = FENCE.sub("", read(path))
  return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def expand(pattern):
  """`flags/table2_<mode>_<raw|c40>.flags`, `k{3,5,7}` and `table4_*` -> glob patterns."""
  pattern = pattern.replace("\\|", "|")
  braces = re.search(r"\{([^{}]*)\}", pattern)
  if braces:
    return [p for option in braces.group(1).split(",")
            for p in expand(pattern[:braces.start()] + option + pattern[braces.end():])]
  return [re.sub(r"<[^>]*>", "*", pattern)]


def exists(path):
  return any(glob.glob(os.path.join(ROOT, p)) for p in expand(path))


def cited_paths(text):
  """Repository paths cited in a page's code: as written, made relative to the root."""
  found = set()
  for span in code(text):
    for match in PATH.finditer(span):
      path = match.group(1).split("::")[0].rstrip(".,:;")
      if path.split("/")[0] in PACKAGE_FOLDERS:
        path = "dfadv_tf/" + path
      found.add(path)
  return found


def makefile_targets():
  return set(re.findall(r"^([\w-]+):", read(os.path.join(ROOT, "Makefile")), re.M))


def console_scripts():
  tree = ast.parse(read(os.path.join(ROOT, "setup.py")))
  for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and any(
        getattr(t, "id", None) == "_BINARIES" for t in node.targets):
      return {name.replace("_", "-") for name in ast.literal_eval(node.value)}
  raise AssertionError("setup.py has no _BINARIES list")


def defined_flags():
  """Every flag the project defines: one per `ExperimentConfig` field, each absl
  `DEFINE_*` and each argparse `--option` of the package, tools and benchmarks."""
  names = set(ABSL_FLAGS) | {f.name for f in dataclasses.fields(ExperimentConfig)}
  names |= set(RENAMED)  # renamed flags, parsed for one release
  for pattern in ("dfadv_tf/**/*.py", "tools/*.py", "benchmarks/*.py"):
    for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
      text = read(path)
      names |= set(re.findall(r"DEFINE_\w+\(\s*[\"'](\w+)[\"']", text))
      names |= set(re.findall(r"add_argument\(\s*[\"']--(\w+)[\"']", text))
  return names


def cited_flags(text):
  """`--flags` of the project's commands: in inline spans that start with a flag or run
  a program of the project, and in the fenced lines (continuations joined) that do."""
  found = set()
  for span in code(text):
    for line in span.replace("\\\n", " ").splitlines():
      line = line.strip().strip("`")
      if line.startswith("--") or re.search(r"dfadv-|tools[./]|benchmarks/", line):
        found |= set(FLAG.findall(line.split(" # ")[0]))
  return found


def rel(path):
  return os.path.relpath(path, ROOT)


class DocsTest(tf.test.TestCase):

  def test_the_readme_is_a_front_page(self):
    lines = read(README).count("\n")
    self.assertLessEqual(lines, README_MAX_LINES, "README.md: move details into docs/")

  def test_the_readme_holds_the_command_that_ci_runs(self):
    ci = read(os.path.join(ROOT, ".ci", "run"))
    self.assertIn("make test", ci)
    self.assertRegex(read(README), r"(?m)^make test\b")

  def test_relative_links_reach_files_and_headings(self):
    missing = []
    for page in pages():
      for target in LINK.findall(read(page)):
        if re.match(r"[a-z]+:", target):
          continue
        name, _, anchor = target.partition("#")
        path = os.path.normpath(os.path.join(os.path.dirname(page), name)) if name else page
        if not os.path.exists(path):
          missing.append((rel(page), target))
        elif anchor and path.endswith(".md") and anchor not in anchors(path):
          missing.append((rel(page), target))
    self.assertEqual(missing, [])

  def test_cited_paths_exist(self):
    cited = {(rel(page), path) for page in pages() for path in cited_paths(read(page))}
    self.assertGreater(len(cited), 50)
    missing = sorted((page, path) for page, path in cited
                     if not exists(path))
    self.assertEqual(missing, [])

  def test_cited_make_targets_exist(self):
    targets = makefile_targets()
    cited = {(rel(page), name) for page in pages() for span in code(read(page))
             for name in MAKE.findall(span)}
    self.assertIn(("README.md", "test"), cited)
    self.assertEqual(sorted(c for c in cited if c[1] not in targets), [])

  def test_cited_binaries_exist(self):
    scripts = console_scripts()
    cited = {(rel(page), name) for page in pages() for name in BINARY.findall(read(page))}
    self.assertGreater(len({name for _, name in cited}), 5)
    self.assertEqual(sorted(c for c in cited if c[1] not in scripts), [])

  def test_cited_flags_are_defined(self):
    defined = defined_flags() | OTHER_FLAGS
    cited = {(rel(page), name) for page in pages() if rel(page) not in FOREIGN_FLAG_PAGES
             for name in cited_flags(read(page))}
    self.assertGreater(len(cited), 50)
    self.assertEqual(sorted(c for c in cited if c[1] not in defined), [])

  def test_the_checks_can_fail(self):
    self.assertFalse(exists("tests/quickstart_notebook_test.py"))
    self.assertTrue(exists("flags/table2_<mode>_<raw\\|c40>.flags"))
    self.assertTrue(exists("flags/appd_two_gen_bat_k{3,5,7}.flags"))
    self.assertEqual(cited_paths("see `tests/cli/preprocess_test.py::OwnDataTest` and "
                                 "`attacks/spatial.py`."),
                     {"tests/cli/preprocess_test.py", "dfadv_tf/attacks/spatial.py"})
    self.assertEqual(cited_flags("```sh\ndfadv-train --a=1 \\\n  --b_c=2  # --not\n```\n"
                                 "`--d` and `pip --e` and `--bat_*`"), {"a", "b_c", "d"})
    self.assertEqual(slug("Explanations (Grad-CAM)"), "explanations-grad-cam")
    self.assertNotIn("root", defined_flags())


if __name__ == "__main__":
  tf.test.main()
