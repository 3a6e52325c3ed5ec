"""Robustness report: detectors scored on one test set under graded test-time corruptions.

`robustness_sweep` runs every detector on the clean images and on every (corruption,
severity) of `evaluation.corruptions` (JPEG, H.264, blur, noise, resizing, and the white-box
FGSM and blur attacks, which attack each detector itself), batch by batch (each image is
decoded once), and returns long-form rows with the frame-level AUC, ACC (at
`threshold`), AP and EER. The image corruptions are computed once per batch and shared
by the detectors; random ones draw from a stateless seed made of (`seed`, batch index),
so the same seed and data order give the same corrupted images.

`write_report` turns the rows into `robustness.csv` (the rows), `robustness.md` (per
test set and corruption: detectors x severities, AUC / ACC in %), `robustness.png`
(AUC against severity, one line per detector, one panel per (set, corruption); the clean
AUC is severity "clean") and TensorBoard (scalars `robustness/<set>/<corruption>/
<detector>/auc` with the severity level as step, the tables as text, the plot as image).
"""

import csv
import io
import math
import os
import re

from absl import logging
import numpy as np
import tensorflow as tf

from dfadv_tf.evaluation import metrics as metrics_lib
from dfadv_tf.evaluation.grid import fake_probability
from dfadv_tf import files
from dfadv_tf.evaluation.grid import text_summary

CLEAN = "clean"
FIELDS = ("set", "corruption", "unit", "level", "severity", "detector", "auc", "acc", "ap",
          "eer", "n")


def _batch(element):
  if isinstance(element, dict):
    return element["image"], element["label"]
  return element[0], element[1]


def robustness_sweep(detectors, dataset, corruptions, seed=0, values=None, threshold=0.5,
                     set_name="test", max_batches=None):
  """Scores `detectors` on `dataset`, clean and under every corruption.

  Args:
    detectors: {name: detector}, images (B, H, W, 3) in [-1, 1] -> (B, 2) logits.
    dataset: batches of dicts with "image" and "label" (or (images, labels) pairs).
    corruptions: [(Corruption, severities)] (`corruptions.get(name)`, its severities).
    seed: int, the seed of the random corruptions.
    values: {flag: value} of the adversaries' parameters for the white-box entries
      (e.g. the experiment's `ExperimentConfig`); missing ones keep their defaults.
    threshold: fake-probability threshold of ACC.
    set_name: the test set's name in the rows.
    max_batches: stop after this many batches (None: the whole dataset).
  Returns:
    Rows (dicts with the keys of FIELDS): level 0 is the clean set (corruption "clean"),
    levels 1.. the severities of each corruption in the given order.
  """
  if not detectors:
    raise ValueError("robustness_sweep needs at least one detector.")
  scorers = {name: tf.function(lambda x, d=d: fake_probability(d, x), reduce_retracing=True)
             for name, d in detectors.items()}
  image_fns, attack_fns = {}, {}
  for corruption, severities in corruptions:
    for severity in severities:
      if corruption.white_box:
        for name, detector in detectors.items():
          attack_fns[(corruption.name, severity, name)] = tf.function(
              lambda x, y, c=corruption, s=severity, d=detector: c.apply(
                  x, s, seed=None, model=d, labels=y, values=values),
              reduce_retracing=True)
      else:
        image_fns[(corruption.name, severity)] = tf.function(
            lambda x, batch_seed, c=corruption, s=severity: c.apply(x, s, seed=batch_seed),
            reduce_retracing=True)

  scores, labels = {}, []
  for index, element in enumerate(dataset):
    if max_batches is not None and index >= max_batches:
      break
    images, y = _batch(element)
    images = tf.convert_to_tensor(images, tf.float32)
    y = tf.cast(y, tf.int32)
    labels.append(y.numpy())
    batch_seed = tf.constant([seed, index], tf.int32)
    for name, score in scorers.items():
      scores.setdefault((CLEAN, "", name), []).append(score(images).numpy())
    for (corruption, severity), fn in image_fns.items():
      corrupted = fn(images, batch_seed)
      for name, score in scorers.items():
        scores.setdefault((corruption, severity, name), []).append(score(corrupted).numpy())
    for (corruption, severity, name), fn in attack_fns.items():
      scores.setdefault((corruption, severity, name), []).append(
          scorers[name](fn(images, y)).numpy())
    logging.info("robustness %s: %d images scored", set_name, sum(map(len, labels)))
  if not labels:
    raise ValueError(f"robustness_sweep: test set {set_name!r} is empty.")
  labels = np.concatenate(labels)

  units = {c.name: c.unit for c, _ in corruptions}
  levels = {(c.name, s): i for c, severities in corruptions
            for i, s in enumerate(severities, start=1)}
  rows = []
  for (corruption, severity, name), parts in scores.items():
    result = metrics_lib.frame_metrics(labels, np.concatenate(parts), threshold,
                                       f"{set_name} ({corruption} {severity})")
    rows.append({"set": set_name, "corruption": corruption,
                 "unit": units.get(corruption, ""),
                 "level": levels.get((corruption, severity), 0), "severity": severity,
                 "detector": name, **{k: result[k] for k in ("auc", "acc", "ap", "eer",
                                                              "n")}})
  return rows


def _severity_text(value):
  return value if isinstance(value, str) else f"{value:g}"


def _groups(rows):
  """{(set, corruption): {"unit", "severities": [...], "cells": {(detector, level): row}}}
  for every corruption, its clean row at level 0; and the detectors in order."""
  detectors = list(dict.fromkeys(r["detector"] for r in rows))
  clean = {(r["set"], r["detector"]): r for r in rows if r["corruption"] == CLEAN}
  groups = {}
  for r in rows:
    if r["corruption"] == CLEAN:
      continue
    group = groups.setdefault((r["set"], r["corruption"]),
                              {"unit": r["unit"], "severities": {}, "cells": {}})
    group["severities"][r["level"]] = r["severity"]
    group["cells"][(r["detector"], r["level"])] = r
  for (set_name, _), group in groups.items():
    for name in detectors:
      if (set_name, name) in clean:
        group["cells"][(name, 0)] = clean[(set_name, name)]
    group["severities"] = [CLEAN] + [group["severities"][k]
                                     for k in sorted(group["severities"])]
  return groups, detectors


def to_csv(rows):
  """The rows in long form, one CSV line each (metrics as fractions, 4 digits)."""
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
  writer.writeheader()
  for r in rows:
    writer.writerow({**r, "severity": _severity_text(r["severity"]),
                     **{k: f"{r[k]:.4f}" for k in ("auc", "acc", "ap", "eer")}})
  return out.getvalue()


def to_markdown(rows, threshold=0.5):
  """One table per (set, corruption): detectors x severities, cells "AUC / ACC" (%)."""
  groups, detectors = _groups(rows)
  parts = [f"AUC / ACC (%) under test-time corruptions (ACC at threshold {threshold:g}; "
           "white-box attacks are crafted on each detector itself).\n"]
  for (set_name, corruption), group in groups.items():
    levels = range(len(group["severities"]))
    head = ["Detector"] + [_severity_text(s) for s in group["severities"]]
    lines = [f"### {set_name}: {corruption} ({group['unit']})\n",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in detectors:
      cells = [group["cells"].get((name, level)) for level in levels]
      lines.append("| " + " | ".join([name] + [
          "" if c is None else f"{100 * c['auc']:.1f} / {100 * c['acc']:.1f}"
          for c in cells]) + " |")
    parts.append("\n".join(lines) + "\n")
  return "\n".join(parts)


def plot_png(rows, dpi=100):
  """PNG bytes: AUC (%) against severity, one line per detector, one panel per (set,
  corruption) (matplotlib, Agg; no display needed)."""
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  groups, detectors = _groups(rows)
  if not groups:
    raise ValueError("nothing to plot: the rows have no corrupted results.")
  columns = min(3, len(groups))
  lines = math.ceil(len(groups) / columns)
  figure = Figure(figsize=(4.2 * columns, 3.2 * lines), dpi=dpi, layout="constrained")
  axes = figure.subplots(lines, columns, squeeze=False).reshape(-1)
  for axis, ((set_name, corruption), group) in zip(axes, groups.items()):
    levels = list(range(len(group["severities"])))
    for name in detectors:
      points = [(level, 100 * group["cells"][(name, level)]["auc"]) for level in levels
                if (name, level) in group["cells"]]
      axis.plot(*zip(*points), marker="o", label=name)
    axis.set_xticks(levels, [_severity_text(s) for s in group["severities"]])
    axis.set_title(f"{set_name}: {corruption}", fontsize=10)
    axis.set_xlabel(group["unit"], fontsize=9)
    axis.set_ylabel("AUC (%)", fontsize=9)
    axis.grid(alpha=0.3)
  for axis in axes[len(groups):]:
    axis.set_visible(False)
  axes[0].legend(fontsize=8)
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  return buffer.getvalue()


def _tag(text):
  return re.sub(r"[^A-Za-z0-9_.\-/]+", "_", str(text)).strip("_")


def write_report(rows, output_dir, logdir=None, threshold=0.5):
  """Writes robustness.{csv,md,png} under `output_dir` as a set (`files.Staging`: all
  three replace the old ones, or, on any error such as a full disk, none changes)
  and, with `logdir`, the same to TensorBoard; returns the Markdown."""
  markdown = to_markdown(rows, threshold)
  png = plot_png(rows)
  with files.Staging() as staging:  # the three appear together or none changes
    for name, data in (("csv", to_csv(rows).encode("utf-8")),
                       ("md", markdown.encode("utf-8")), ("png", png)):
      with open(staging.file(os.path.join(output_dir, f"robustness.{name}")), "wb") as f:
        f.write(data)
    staging.publish(overwrite=True)
  if logdir is not None:
    groups, _ = _groups(rows)
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
      for (set_name, corruption), group in groups.items():
        for (name, level), row in sorted(group["cells"].items(), key=lambda x: x[0][1]):
          tag = "/".join(_tag(p) for p in ("robustness", set_name, corruption, name))
          tf.summary.scalar(tag + "/auc", row["auc"], step=level)
          tf.summary.scalar(tag + "/acc", row["acc"], step=level)
      tf.summary.text("robustness_tables", text_summary(markdown), step=0)
      tf.summary.image("robustness_plot", tf.io.decode_png(png, channels=3)[None], step=0)
    writer.flush()
    writer.close()
  return markdown
