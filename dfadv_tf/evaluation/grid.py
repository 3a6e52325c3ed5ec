"""One detector on many named test sets -> tables shaped like the paper's Tables I-III.

A *grid* is a mapping `{set name: tf.data.Dataset or TestSet}` whose elements are dicts
with at least "image" (B, H, W, 3) in [-1, 1], "label" (B,) and "video_id" (B,) - what
`dfadv_tf.data.records.load_split(..., with_metadata=True)` yields; a video is keyed by
(dataset, method, quality, video_id), those of the four the batches carry, so FF++ fake
ids such as 071_054, which recur across methods and qualities, stay apart in a pooled
set. This module does not build datasets itself (evaluation depends only on TF, numpy
and scikit-learn); the experiment's data selection
(`dfadv_tf.experiment.data.test_grids`) chooses them, with any set names.

Tables: one row per model, for every set an AUC and an ACC column (in %), then their
average ("Avg") over every set of the row (as the paper's Tables I and IV); a set made
with `TestSet(..., report_acc=False)` shows its ACC as "–" (the paper's DFD, whose
classes are very unbalanced) and the Avg ACC is over the sets that have one. Written as
Markdown and CSV (atomically) and to TensorBoard as text.
"""

import csv
import io
import os
import typing
import weakref

import numpy as np
import tensorflow as tf

from dfadv_tf.evaluation import metrics as metrics_lib
from dfadv_tf.files import atomic_write_text

# The paper's abbreviations of the FF++ methods.
SHORT_NAMES = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS",
               "NeuralTextures": "NT", "FaceShifter": "FSh"}
# The paper's names of the datasets.
DATASET_NAMES = {"ffpp": "FF++", "dfd": "DFD", "celebdf": "Celeb-DF"}
GRID_TITLES = {"cross_method": "Cross-method (trained on one method, tested on each)",
               "cross_quality": "Cross-quality (trained on one quality, tested on each)",
               "pooled": "Pooled (tested on the training selection's methods and "
                         "qualities together)"}
LEVELS = {"frame": ("auc", "acc"), "video": ("video_auc", "video_acc")}
VIDEO_KEYS = ("dataset", "method", "quality", "video_id")
MISSING = "\u2013"  # the paper's en dash for a metric it does not report


class TestSet(typing.NamedTuple):
  """A set of a grid: its dataset, and whether its tables report an ACC."""
  dataset: typing.Any
  report_acc: bool = True


def set_name(methods, qualities):
  """'NT c23' style name of a test set of fake `methods` at `qualities` (a name or a
  list each; several are joined with '+': 'NT raw+c23+c40', 'DF+F2F+FS+NT c23')."""
  methods = [methods] if isinstance(methods, str) else list(methods)
  qualities = [qualities] if isinstance(qualities, str) else list(qualities)
  return (f"{'+'.join(SHORT_NAMES.get(m, m) for m in methods)} "
          f"{'+'.join(qualities)}")


def dataset_name(dataset):
  """The paper's name of a dataset ('FF++', 'DFD', 'Celeb-DF'), else `dataset`."""
  return DATASET_NAMES.get(dataset, dataset)


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

  Returns numpy (labels int, fake probabilities float, video keys str): a frame's key is
  "dataset/method/quality/video_id" from those of `VIDEO_KEYS` its batch carries.
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
    parts = [[_text(v) for v in batch[key].numpy()] for key in VIDEO_KEYS if key in batch]
    videos.append(["/".join(values) for values in zip(*parts)])
  if not labels:
    raise ValueError("evaluation dataset is empty.")
  return np.concatenate(labels), np.concatenate(scores), np.concatenate(videos)


def _text(value):
  return value.decode() if isinstance(value, bytes) else str(value)


def evaluate_set(detector, dataset, name="evaluation set", threshold=0.5, report_acc=True):
  """Frame- and video-level metrics of one set: auc, acc, ap, eer, n, video_auc, ...,
  and `report_acc` (False: the tables show its ACC as "–"; the value is kept)."""
  labels, scores, video_ids = predict_scores(detector, dataset)
  result = metrics_lib.frame_metrics(labels, scores, threshold, name)
  result.update(metrics_lib.video_metrics(labels, scores, video_ids, threshold, name))
  result["report_acc"] = bool(report_acc)
  return result


def evaluate_grid(detector, grid, threshold=0.5):
  """{set name: metrics dict} for every set of `grid` ({name: dataset or TestSet})."""
  out = {}
  for name, test_set in grid.items():
    if not isinstance(test_set, TestSet):
      test_set = TestSet(test_set)
    out[name] = evaluate_set(detector, test_set.dataset, name, threshold,
                             test_set.report_acc)
  return out


def table_rows(results, columns=("auc", "acc")):
  """{model: {set: metrics}} -> (header, rows) with values in % and an "Avg" column pair.

  Sets keep the order of the first model's results. A set whose metrics say
  `report_acc: False` has None in its ACC column; each Avg is the mean over the sets
  with a value in that column (None if none has one).
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
    values = [[_cell(by_set[s], c) for c in columns] for s in sets]
    average = [_mean([v[i] for v in values]) for i in range(len(columns))]
    rows.append([model] + [v for pair in values + [average] for v in pair])
  return header, rows


def _cell(metrics, column):
  """The metric in %, or None for the ACC of a set that does not report one."""
  if column.endswith("acc") and not metrics.get("report_acc", True):
    return None
  return 100.0 * metrics[column]


def _mean(values):
  values = [v for v in values if v is not None]
  return float(np.mean(values)) if values else None


def to_markdown(header, rows, digits=2):
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    cells = [row[0]] + [MISSING if v is None else f"{v:.{digits}f}" for v in row[1:]]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def to_csv(header, rows, digits=4):
  """CSV of the table; a metric that is not reported is an empty cell."""
  out = io.StringIO()
  writer = csv.writer(out)
  writer.writerow(header)
  for row in rows:
    writer.writerow([row[0]] + ["" if v is None else f"{v:.{digits}f}" for v in row[1:]])
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
