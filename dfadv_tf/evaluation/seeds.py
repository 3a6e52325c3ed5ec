"""Results over seeds: Table I / II-shaped tables of mean +- std, and paired differences.

Input: `runs = {mode: {seed: results}}`, where `results` is what one run's results.json
holds for its detector, `{grid: {set: metrics}}` (`evaluation.grid.evaluate_grid` per
grid). For every grid two tables:

- summary: one row per mode, for every set and their average ("Avg", taken per seed,
  then over seeds) the mean +- std over the seeds of AUC and ACC (in %); std is the
  sample standard deviation (ddof = 1; 0 for one seed);
- paired: one row per mode other than the baseline, the difference mode - baseline of
  the same seed (same data order and initial weights), as mean +- std over the seeds
  both have, and in how many of them it was positive, "(k/n)".

Written as Markdown and CSV (atomically) by `write_seed_tables`.
"""

import csv
import io
import os

import numpy as np

from dfadv_tf.evaluation import grid as grid_lib
from dfadv_tf.files import atomic_write_text

AVERAGE = "Avg"


def _std(values):
  return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def per_seed_values(runs, grid, columns):
  """{mode: {seed: {(set, column): value in %}}} with the per-seed "Avg" of each column,
  and the set names (in the first run's order). ValueError naming a run that lacks the
  grid or a set."""
  sets = None
  out = {}
  for mode, by_seed in runs.items():
    for seed, results in by_seed.items():
      if grid not in results:
        raise ValueError(f"run {mode} seed {seed} has no results for grid {grid!r} (it has "
                         f"{sorted(results)}).")
      by_set = results[grid]
      sets = sets or list(by_set)
      missing = [s for s in sets if s not in by_set]
      if missing:
        raise ValueError(f"run {mode} seed {seed} has no results for sets {missing} of "
                         f"grid {grid!r}.")
      values = {(s, c): 100.0 * by_set[s][c] for s in sets for c in columns}
      for c in columns:
        values[(AVERAGE, c)] = float(np.mean([values[(s, c)] for s in sets]))
      out.setdefault(mode, {})[seed] = values
  return out, (sets or []) + [AVERAGE]


def _column_name(set_name, column):
  label = grid_lib.COLUMN_LABELS.get(column, column.split("_")[-1].upper())
  return f"{set_name} {label} (%)"


def summary_rows(values, sets, columns):
  """[(mode, seeds, {(set, column): (mean, std)})] of `per_seed_values` output."""
  rows = []
  for mode, by_seed in values.items():
    cells = {}
    for key in [(s, c) for s in sets for c in columns]:
      seed_values = [v[key] for v in by_seed.values()]
      cells[key] = (float(np.mean(seed_values)), _std(seed_values))
    rows.append((mode, len(by_seed), cells))
  return rows


def paired_rows(values, sets, columns, baseline):
  """[(mode, seeds, {(set, column): (mean, std, positive)})] of mode - baseline over the
  seeds both ran; ValueError if the baseline is missing."""
  if baseline not in values:
    raise ValueError(f"the paired differences need the baseline {baseline!r}, which has no "
                     f"finished runs (modes with runs: {sorted(values)}).")
  rows = []
  for mode, by_seed in values.items():
    if mode == baseline:
      continue
    seeds = [s for s in by_seed if s in values[baseline]]
    if not seeds:
      continue
    cells = {}
    for key in [(s, c) for s in sets for c in columns]:
      diffs = [by_seed[s][key] - values[baseline][s][key] for s in seeds]
      cells[key] = (float(np.mean(diffs)), _std(diffs), sum(d > 0 for d in diffs))
    rows.append((mode, len(seeds), cells))
  return rows


def markdown_table(header, lines):
  """A Markdown table of `header` and rows `lines` (lists of cell texts)."""
  out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  out += ["| " + " | ".join(line) + " |" for line in lines]
  return "\n".join(out) + "\n"


def csv_table(header, lines):
  """CSV text of `header` and rows `lines`."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow(header)
  writer.writerows(lines)
  return out.getvalue()


def _columns(runs, grid, level):
  """The level's columns (`grid.LEVELS`), plus its ACC@val (`grid.VAL_COLUMNS`) when
  every run has it for every set of `grid`."""
  columns = grid_lib.LEVELS[level]
  val = grid_lib.VAL_COLUMNS[level]
  if all(val in metrics for by_seed in runs.values() for results in by_seed.values()
         for metrics in results.get(grid, {}).values()):
    columns += (val,)
  return columns


def seed_tables(runs, grid, names=None, baseline="baseline", level="frame"):
  """{"summary": (markdown, csv), "paired": (markdown, csv)} of one grid.

  names: {mode: row name} (default: the mode). level: "frame" (AUC, ACC) or "video"
  (video AUC, video ACC), as `grid.LEVELS`, with ACC@val when every run has it.
  """
  if level not in grid_lib.LEVELS:
    raise ValueError(f"level must be one of {tuple(grid_lib.LEVELS)}, got {level!r}.")
  columns = _columns(runs, grid, level)
  names = names or {}
  values, sets = per_seed_values(runs, grid, columns)
  keys = [(s, c) for s in sets for c in columns]
  heads = [_column_name(s, c) for s, c in keys]

  summary = summary_rows(values, sets, columns)
  md_lines = [[names.get(m, m), str(n)] + [f"{cells[k][0]:.2f} ± {cells[k][1]:.2f}"
                                           for k in keys] for m, n, cells in summary]
  csv_lines = [[names.get(m, m), n] + [f"{v:.4f}" for k in keys for v in cells[k]]
               for m, n, cells in summary]
  out = {"summary": (markdown_table(["Method", "Seeds"] + heads, md_lines),
                     csv_table(["Method", "Seeds"] + [f"{h} {stat}" for h in heads
                                                 for stat in ("mean", "std")], csv_lines))}

  paired = paired_rows(values, sets, columns, baseline)
  md_lines = [[names.get(m, m), str(n)] + [f"{cells[k][0]:+.2f} ± {cells[k][1]:.2f} "
                                           f"({cells[k][2]}/{n})" for k in keys]
              for m, n, cells in paired]
  csv_lines = [[names.get(m, m), n] + [x for k in keys for x in (
      f"{cells[k][0]:.4f}", f"{cells[k][1]:.4f}", cells[k][2])] for m, n, cells in paired]
  out["paired"] = (markdown_table(["Method", "Seeds"] + heads, md_lines),
                   csv_table(["Method", "Seeds"] + [f"{h} {stat}" for h in heads for stat in (
                       "diff mean", "diff std", "positive")], csv_lines))
  return out


def write_seed_tables(runs, output_dir, names=None, baseline="baseline", level="frame"):
  """Writes `<output_dir>/tables/<grid>{,_video}.{md,csv}` (mean +- std) and
  `<grid>{,_video}_vs_baseline.{md,csv}` (paired differences) for every grid of the
  runs; returns {grid: markdown of both, with titles}."""
  first = next((r for by_seed in runs.values() for r in by_seed.values()), None)
  if first is None:
    raise ValueError("no finished runs to tabulate.")
  suffix = "" if level == "frame" else "_video"
  baseline_name = (names or {}).get(baseline, baseline)
  seeds = sorted({s for by_seed in runs.values() for s in by_seed})
  texts = {}
  for grid in first:
    tables = seed_tables(runs, grid, names, baseline, level)
    title = f"{grid_lib.GRID_TITLES.get(grid, grid)}, {level} level"
    prefix = os.path.join(output_dir, "tables", grid + suffix)
    summary = (f"### {title}: mean ± std over seeds {seeds}\n\n" + tables["summary"][0])
    paired = (f"### {title}: difference to {baseline_name} of the same seed, mean ± std "
              "(seeds where it was positive / seeds)\n\n" + tables["paired"][0])
    atomic_write_text(prefix + ".md", summary)
    atomic_write_text(prefix + ".csv", tables["summary"][1])
    atomic_write_text(prefix + "_vs_baseline.md", paired)
    atomic_write_text(prefix + "_vs_baseline.csv", tables["paired"][1])
    texts[grid] = summary + "\n" + paired
  return texts
