"""One detector on many named test sets -> tables shaped like the paper's Tables I-III.

A *grid* is a mapping `{set name: tf.data.Dataset}` whose elements are dicts with at
least "image" (B, H, W, 3) in [-1, 1], "label" (B,) and "video_id" (B,) - what
`dfadv_tf.data.records.load_split(..., with_metadata=True)` yields. This module does
not build datasets itself (evaluation depends only on TF, numpy and scikit-learn); the
experiment's data selection (`dfadv_tf.experiment.data.test_grids`) chooses them.

Tables: one row per model, for every set an AUC and an ACC column (in %), then their
average ("Avg"), written as Markdown and CSV (atomically) and to TensorBoard as text.
"""

import csv
import io
import os
import weakref

import numpy as np
import tensorflow as tf

from dfadv_tf.evaluation import metrics as metrics_lib
from dfadv_tf.files import atomic_write_text

# The paper's abbreviations of the FF++ methods.
SHORT_NAMES = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS",
               "NeuralTextures": "NT", "FaceShifter": "FSh"}
GRID_TITLES = {"cross_method": "Cross-method (trained on one method, tested on each)",
               "cross_quality": "Cross-quality (trained on one quality, tested on each)"}
LEVELS = {"frame": ("auc", "acc"), "video": ("video_auc", "video_acc")}


def set_name(method, quality):
  """'NT c23' style name of a (fake method, quality) test set."""
  return f"{SHORT_NAMES.get(method, method)} {quality}"


def fake_probability(detector, images):
  """Softmax probability of the fake class (column 1) of the detector's logits, float32."""
  logits = tf.cast(detector(images, training=False), tf.float32)
  return tf.nn.softmax(logits, axis=-1)[:, 1]


_SCORERS = weakref.WeakKeyDictionary()


def _scorer(detector):
  """A compiled images -> fake probability function, one per detector (cached, so
  evaluating many sets traces once)."""
  if detector not in _SCORERS:
    _SCORERS[detector] = tf.function(lambda images: fake_probability(detector, images),
                                     reduce_retracing=True)
  return _SCORERS[detector]


def predict_scores(detector, dataset):
  """Runs `detector` (images -> 2 logits) over a dataset of metadata dicts.

  Returns numpy (labels int, fake probabilities float, video_ids str).
  """
  score = _scorer(detector)
  labels, scores, videos = [], [], []
  for batch in dataset:
    if not isinstance(batch, dict) or not {"image", "label", "video_id"} <= set(batch):
      raise ValueError("evaluation datasets must yield dicts with 'image', 'label' and "
                       "'video_id' (load_split(..., with_metadata=True)); got "
                       f"{type(batch).__name__}"
                       f"{sorted(batch) if isinstance(batch, dict) else ''}.")
    scores.append(score(batch["image"]).numpy())
    labels.append(batch["label"].numpy())
    videos.append(batch["video_id"].numpy())
  if not labels:
    raise ValueError("evaluation dataset is empty.")
  video_ids = np.concatenate(videos)
  video_ids = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in video_ids])
  return np.concatenate(labels), np.concatenate(scores), video_ids


def evaluate_set(detector, dataset, name="evaluation set", threshold=0.5):
  """Frame- and video-level metrics of one set: auc, acc, ap, eer, n, video_auc, ..."""
  labels, scores, video_ids = predict_scores(detector, dataset)
  result = metrics_lib.frame_metrics(labels, scores, threshold, name)
  result.update(metrics_lib.video_metrics(labels, scores, video_ids, threshold, name))
  return result


def evaluate_grid(detector, grid, threshold=0.5):
  """{set name: metrics dict} for every set of `grid` ({name: dataset})."""
  return {name: evaluate_set(detector, dataset, name, threshold)
          for name, dataset in grid.items()}


def table_rows(results, columns=("auc", "acc")):
  """{model: {set: metrics}} -> (header, rows) with values in % and an "Avg" column pair.

  Sets keep the order of the first model's results.
  """
  if not results:
    raise ValueError("results is empty: evaluate at least one model on one set.")
  sets = list(next(iter(results.values())))
  header = ["Method"] + [f"{s} {c.split('_')[-1].upper()} (%)" for s in sets + ["Avg"]
                        for c in columns]
  rows = []
  for model, by_set in results.items():
    missing = [s for s in sets if s not in by_set]
    if missing:
      raise ValueError(f"model {model!r} has no results for sets {missing}.")
    values = [[100.0 * by_set[s][c] for c in columns] for s in sets]
    average = np.mean(values, axis=0).tolist()
    rows.append([model] + [v for pair in values + [average] for v in pair])
  return header, rows


def to_markdown(header, rows, digits=2):
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    cells = [row[0]] + [f"{v:.{digits}f}" for v in row[1:]]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def to_csv(header, rows, digits=4):
  out = io.StringIO()
  writer = csv.writer(out)
  writer.writerow(header)
  for row in rows:
    writer.writerow([row[0]] + [f"{v:.{digits}f}" for v in row[1:]])
  return out.getvalue()


def write_table(results, path_prefix, title, columns=("auc", "acc"), logdir=None):
  """Writes `<path_prefix>.md` and `<path_prefix>.csv` (and a TensorBoard text summary
  under `logdir`, tag = title). Returns the Markdown text."""
  header, rows = table_rows(results, columns)
  markdown = f"### {title}\n\n" + to_markdown(header, rows)
  atomic_write_text(path_prefix + ".md", markdown)
  atomic_write_text(path_prefix + ".csv", to_csv(header, rows))
  if logdir is not None:
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
      tf.summary.text(title, markdown, step=0)
    writer.flush()
    writer.close()
  return markdown


def write_tables(results_by_model, output_dir, logdir=None, level="frame"):
  """{model: {grid: {set: metrics}}} -> one Markdown/CSV table per grid under
  `<output_dir>/tables/` (`<grid>.md` for frame level, `<grid>_video.md` for video
  level AUC/ACC); returns {grid: markdown}."""
  if level not in LEVELS:
    raise ValueError(f"level must be one of {tuple(LEVELS)}, got {level!r}.")
  grids = list(next(iter(results_by_model.values())))
  suffix = "" if level == "frame" else "_video"
  return {g: write_table({m: r[g] for m, r in results_by_model.items()},
                         os.path.join(output_dir, "tables", g + suffix),
                         f"{GRID_TITLES.get(g, g)}, {level} level", columns=LEVELS[level],
                         logdir=logdir)
          for g in grids}
