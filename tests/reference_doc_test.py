"""docs/reference.md: every citation of it in the tree names one of its section headings,
and nothing cites the notes outside the repository that it replaces."""

import glob
import os
import re

import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "reference.md")
CITED = ("dfadv_tf/**/*.py", "tools/**/*.py", "benchmarks/**/*.py", "tests/**/*.py",
         "flags/**/*.flags", "README.md", "docs/*.md")
# The doc's path, a comma, then one or more quoted headings joined by commas or "and" (a
# comment's `#` may start a continuation line).
CITATION = re.compile(r'docs/reference\.md,\s*(?:#\s*)?("[^"]+"(?:\s*(?:,|and)\s*(?:#\s*)?'
                      r'"[^"]+")*)')


def headings():
  with open(DOC, encoding="utf-8") as f:
    return {line[3:].strip() for line in f if line.startswith("## ")}


def citations():
  """[(path, heading)] of every section cited in the tree."""
  found = []
  for pattern in CITED:
    for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
      with open(path, encoding="utf-8") as f:
        text = f.read()
      for match in CITATION.finditer(text):
        found += [(os.path.relpath(path, ROOT), name)
                  for name in re.findall(r'"([^"]+)"', match.group(1))]
  return found


class ReferenceDocTest(tf.test.TestCase):

  def test_cited_sections_exist(self):
    cited = citations()
    self.assertGreaterEqual(len({path for path, _ in cited}), 5)
    sections = headings()
    missing = [(path, name) for path, name in cited if name not in sections]
    self.assertEqual(missing, [], f"sections of docs/reference.md: {sorted(sections)}")

  def test_nothing_cites_the_notes_outside_the_repository(self):
    notes = "REFERENCE_" + "NOTES"  # split, so that this file does not cite them
    hits = [os.path.relpath(path, ROOT) for pattern in CITED
            for path in glob.glob(os.path.join(ROOT, pattern), recursive=True)
            if notes in open(path, encoding="utf-8").read()]
    self.assertEqual(hits, [])


if __name__ == "__main__":
  tf.test.main()
